"""The rolling upgrade of `rdv bench chaos` replaces the rendezvous while traffic still flows."""

from __future__ import annotations

from rdv_tools.bench.chaos_stack import upgrade_order


def test_the_rendezvous_is_replaced_first_and_the_rest_in_start_order() -> None:
    started = ["login-bot@2", "login-bot@3", "login-bot@1", "fast@1", "decoy", "rendezvous"]
    assert upgrade_order(started) == [
        "rendezvous",
        "login-bot@2",
        "login-bot@3",
        "login-bot@1",
        "fast@1",
        "decoy",
    ]


def test_every_rendezvous_instance_goes_before_the_workers() -> None:
    assert upgrade_order(["m@1", "rendezvous", "rendezvous-2"]) == [
        "rendezvous",
        "rendezvous-2",
        "m@1",
    ]

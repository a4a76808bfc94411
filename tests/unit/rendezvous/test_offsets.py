"""What the rendezvous may commit: never past a request or score it still needs, and a closed
request's state entry deleted only once the committed offset has passed it."""

from __future__ import annotations

from dataclasses import replace

from rdv.rendezvous.offsets import CommittedMarks, tombstones, watermarks
from tests.unit.rendezvous.sim import Sim, request, score


def test_the_watermark_stops_at_the_oldest_request_or_score_still_needed() -> None:
    sim = Sim().at(0)
    sim.request(replace(request("open"), partition=2, offset=5))
    sim.at(1).score(replace(score("orphan", "m@2"), partition=2, offset=8))  # request not read yet
    consumed = {("requests", 2): 11, ("results", 2): 12, ("feedback", 2): 3}
    marks = {
        (tp.topic, tp.partition): tp.offset
        for tp in watermarks(sim.core, consumed, "requests", "results")
    }
    assert marks == {("requests", 2): 5, ("results", 2): 8, ("feedback", 2): 3}


def test_nothing_open_commits_everything_consumed() -> None:
    consumed = {("requests", 0): 40, ("results", 0): 90}
    marks = watermarks(Sim().core, consumed, "requests", "results")
    assert {(tp.topic, tp.partition, tp.offset) for tp in marks} == {
        ("requests", 0, 40),
        ("results", 0, 90),
    }


def test_tombstones_only_for_closed_requests_below_the_watermark() -> None:
    pending = {0: {"old": 3, "new": 7}, 1: {"other": 1}}
    marks = watermarks(Sim().core, {("requests", 0): 5, ("results", 0): 9}, "requests", "results")
    out = tombstones(marks, pending, "requests", "state")
    assert [(m.topic, m.key, m.value, m.partition) for m in out] == [("state", b"old", None, 0)]
    assert pending == {0: {"new": 7}, 1: {"other": 1}}  # partition 1 had no watermark


def test_a_commit_carries_only_the_offsets_that_moved_since_the_last() -> None:
    committed = CommittedMarks()
    first = watermarks(Sim().core, {("requests", 0): 40, ("results", 0): 90}, "requests", "results")
    assert committed.moved(first) == first
    committed.note(first)
    again = watermarks(Sim().core, {("requests", 0): 41, ("results", 0): 90}, "requests", "results")
    assert [(m.topic, m.offset) for m in committed.moved(again)] == [("requests", 41)]
    committed.note(again)
    assert committed.moved(again) == []  # idle: nothing to commit
    committed.clear()
    assert committed.moved(again) == again  # after a rewind, everything again

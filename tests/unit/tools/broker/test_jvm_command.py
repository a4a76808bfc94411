"""The embedded broker's JVM takes KAFKA_OPTS as Kafka's own start script does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdv_tools.broker.embedded import gc_threads, jvm_command


def _command() -> list[str]:
    return jvm_command("java", "768m", Path("logs"), Path("libs"), Path("server.properties"))


def test_kafka_opts_reach_the_jvm_after_ours_so_that_they_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_OPTS", "-Xmx2g -XX:TieredStopAtLevel=1 '-Dnote=a b'")
    cmd = _command()
    jvm_options = cmd[: cmd.index("-cp")]
    assert jvm_options[-3:] == ["-Xmx2g", "-XX:TieredStopAtLevel=1", "-Dnote=a b"]
    assert jvm_options.index("-Xmx768m") < jvm_options.index("-Xmx2g")  # the last one counts
    assert cmd[-2:] == ["kafka.Kafka", "server.properties"]


def test_without_kafka_opts_the_command_is_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_OPTS", raising=False)
    cmd = _command()
    assert cmd[cmd.index("-cp") - 1].startswith("-Dlog4j2.configurationFile=")


def _final_flags(monkeypatch: pytest.MonkeyPatch, kafka_opts: str) -> dict[str, str]:
    """The flags this machine's JVM runs with the broker's options (it fails on options that
    contradict each other, as the broker's JVM would)."""
    import shutil
    import subprocess

    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    monkeypatch.setenv("KAFKA_OPTS", kafka_opts)
    cmd = _command()
    options = [o for o in cmd[1 : cmd.index("-cp")] if o.startswith("-X")]
    flags = subprocess.run(
        [java, *options, "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # PrintFlagsFinal lines: type, name, "=", value, origin.
    rows = [line.split() for line in flags.splitlines()]
    return {row[1]: row[3] for row in rows if len(row) > 3 and row[2] == "="}


def _collectors(flags: dict[str, str]) -> set[str]:
    return {name for name, value in flags.items() if name.endswith("GC") and value == "true"}


def test_the_broker_runs_the_parallel_collector_and_a_user_can_choose_zgc_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "UseParallelGC" in _collectors(_final_flags(monkeypatch, ""))
    chosen = _collectors(_final_flags(monkeypatch, "-XX:-UseParallelGC -XX:+UseZGC"))
    assert "UseZGC" in chosen and "UseParallelGC" not in chosen


def test_the_broker_holds_its_whole_heap_unless_the_user_sizes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mib = 1024 * 1024
    ours = _final_flags(monkeypatch, "")
    assert int(ours["InitialHeapSize"]) == int(ours["MaxHeapSize"]) == 768 * mib
    # A smaller heap of the user's must not meet our larger initial size (the JVM refuses).
    smaller = _final_flags(monkeypatch, "-Xmx512m")
    assert int(smaller["MaxHeapSize"]) == 512 * mib


def test_the_broker_collects_with_half_the_cores_unless_the_user_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cores = len(os.sched_getaffinity(0))
    assert gc_threads() == max(1, cores // 2)
    assert _final_flags(monkeypatch, "")["ParallelGCThreads"] == str(max(1, cores // 2))
    assert _final_flags(monkeypatch, "-XX:ParallelGCThreads=3")["ParallelGCThreads"] == "3"

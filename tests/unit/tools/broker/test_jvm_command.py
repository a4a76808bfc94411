"""The embedded broker's JVM takes KAFKA_OPTS as Kafka's own start script does."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv_tools.broker.embedded import jvm_command


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


def _collectors(monkeypatch: pytest.MonkeyPatch, kafka_opts: str) -> set[str]:
    """The collectors this machine's JVM runs with the broker's options."""
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
    return {row[1] for row in rows if len(row) > 3 and row[1].endswith("GC") and row[3] == "true"}


def test_the_broker_runs_zgc_and_a_user_can_choose_g1_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "UseZGC" in _collectors(monkeypatch, "")
    chosen = _collectors(monkeypatch, "-XX:-UseZGC -XX:+UseG1GC")
    assert "UseG1GC" in chosen and "UseZGC" not in chosen

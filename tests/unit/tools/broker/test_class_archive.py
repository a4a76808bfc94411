"""The broker's class archive: where it lives, when a JVM is told to use it, and how a fresh
one takes the place of an older one."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv_tools.broker.class_archive import archive_path, install, sharing_options
from rdv_tools.broker.embedded import jvm_command


@pytest.fixture
def java(tmp_path: Path) -> str:
    """A stand-in JDK layout: the archive is named after its libjvm.so."""
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "lib" / "server").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "lib" / "server" / "libjvm.so").write_bytes(b"jvm build 1")
    return str(home / "bin" / "java")


def test_the_archive_sits_beside_the_jars_and_changes_with_the_jdk(
    tmp_path: Path, java: str
) -> None:
    libs = tmp_path / "kafka-4.3.1" / "libs"
    first = archive_path(libs, java)
    assert first.parent == libs.parent and first.name.endswith(".jsa")
    assert archive_path(libs, java) == first
    (Path(java).parent.parent / "lib" / "server" / "libjvm.so").write_bytes(b"jvm build 22")
    assert archive_path(libs, java) != first  # another JDK build: another archive


def test_another_heap_layout_makes_another_archive(
    tmp_path: Path, java: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive written under ZGC is not used by a broker on the parallel collector (no
    compressed pointers there): an upgrade that changes the collector must not keep it."""
    from rdv_tools.broker import class_archive

    libs = tmp_path / "kafka-4.3.1" / "libs"
    ours = archive_path(libs, java)
    monkeypatch.setattr(class_archive, "COLLECTOR", "-XX:+UseZGC")
    assert archive_path(libs, java) != ours


def test_a_jvm_is_told_of_the_archive_only_once_it_exists(tmp_path: Path, java: str) -> None:
    archive = archive_path(tmp_path / "libs", java)
    assert sharing_options(archive) == []
    archive.write_bytes(b"classes")
    assert sharing_options(archive) == [f"-XX:SharedArchiveFile={archive}"]


def test_a_fresh_archive_replaces_the_older_one_and_an_empty_dump_replaces_nothing(
    tmp_path: Path, java: str
) -> None:
    libs = tmp_path / "libs"
    old = libs.parent / "classes-000000000000.jsa"
    old.write_bytes(b"an older JDK's classes")
    archive = archive_path(libs, java)
    empty = tmp_path / "empty.partial"
    empty.write_bytes(b"")
    assert install(empty, archive) is False
    assert old.exists() and not archive.exists() and not empty.exists()
    assert install(tmp_path / "never-written.partial", archive) is False

    partial = tmp_path / "dumped.partial"
    partial.write_bytes(b"classes")
    assert install(partial, archive) is True
    assert archive.read_bytes() == b"classes"
    assert not old.exists() and not partial.exists()


def test_the_archive_option_comes_before_kafka_opts_so_that_a_user_can_override_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_OPTS", "-XX:SharedArchiveFile=/elsewhere.jsa")
    ours = ["-XX:SharedArchiveFile=/cache/classes.jsa"]
    cmd = jvm_command("java", "768m", Path("logs"), Path("libs"), Path("p"), ours)
    assert cmd.index(ours[0]) < cmd.index("-XX:SharedArchiveFile=/elsewhere.jsa")
    assert cmd.index("-XX:SharedArchiveFile=/elsewhere.jsa") < cmd.index("-cp")

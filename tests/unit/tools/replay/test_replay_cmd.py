"""`rdv replay`'s window and its reading of the archive, with no broker."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rdv.codec import Codec
from rdv.decoy.archive import Archive, archive_row
from rdv.errors import ConfigError
from rdv.kafka import Message
from rdv.protocol import new_request
from rdv_tools.replay.archived import archived_requests, stored_rows
from rdv_tools.replay.window import window
from tests.cli import run_rdv

NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


def rdv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_rdv(*args, env=env, timeout=120)


def test_a_window_is_given_by_moments_or_by_ages() -> None:
    assert window("2h", "30m", NOW) == (
        datetime(2026, 12, 1, 12, 30, tzinfo=UTC),
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    )
    start, end = window("2026-12-01T09:00", "now", NOW)
    assert start == datetime(2026, 12, 1, 9, tzinfo=UTC) and end == NOW
    start, _ = window("2026-12-01T10:00+01:00", "now", NOW)
    assert start == datetime(2026, 12, 1, 9, tzinfo=UTC)
    with pytest.raises(ConfigError, match=r"--until .* must come after --since"):
        window("1h", "2h", NOW)
    with pytest.raises(ConfigError, match="--since 'soon' is neither a moment"):
        window("soon", "now", NOW)


def message(offset: int, stamp: datetime, headers: tuple[tuple[str, bytes], ...] = ()) -> Message:
    request = new_request({"x": float(offset)}, key=f"k{offset}", request_id=f"r{offset}")
    value = Codec().encode("Request", request)
    millis = int(stamp.timestamp() * 1000)
    return Message("requests", 0, offset, f"k{offset}".encode(), value, headers, millis)


def test_the_archive_is_read_in_order_once_each_inside_the_window(tmp_path: Path) -> None:
    stamps = {
        0: datetime(2026, 12, 1, 9, 59, tzinfo=UTC),  # before the window
        1: datetime(2026, 12, 1, 10, 5, tzinfo=UTC),
        2: datetime(2026, 12, 1, 10, 1, tzinfo=UTC),
        3: datetime(2026, 12, 1, 11, 0, tzinfo=UTC),  # the next hour's directory
        4: datetime(2026, 12, 1, 11, 30, tzinfo=UTC),  # after it
    }
    sent = {o: message(o, stamp, (("trace", b"t%d" % o),)) for o, stamp in stamps.items()}
    archive = Archive(tmp_path, "decoy", 100, 1 << 20, 60)
    for msg in sent.values():
        archive.add(msg, archive_row(msg, None, None, 0))
    archive.flush()
    # A restarted decoy wrote one of them again.
    again = Archive(tmp_path, "decoy-2", 100, 1 << 20, 60)
    again.add(sent[2], archive_row(sent[2], None, None, 0))
    again.flush()

    since, until = datetime(2026, 12, 1, 10, tzinfo=UTC), datetime(2026, 12, 1, 11, 15, tzinfo=UTC)
    skipped: list[int] = []
    got = list(archived_requests(tmp_path, since, until, skipped.append))
    assert [r.key for r in got] == [b"k2", b"k1", b"k3"]
    assert got[1].value == sent[1].value  # the archived bytes, unchanged
    assert got[1].headers == (("trace", b"t1"),)
    # The progress bar's total: the two hours' stored rows, of which one is a duplicate (k2)
    # and one lies after the window (k4).
    assert stored_rows(tmp_path, since, until) == 5
    assert skipped == [1, 1]


def test_no_archive_directory_gets_one_line(tmp_path: Path) -> None:
    done = rdv("replay", "--archive", str(tmp_path / "nowhere"), "--since", "1h")
    assert done.returncode == 2
    assert "is not a directory: give the decoy's --archive" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_window_with_nothing_archived_says_so(tmp_path: Path) -> None:
    (tmp_path / "date=2026-01-01" / "hour=00").mkdir(parents=True)
    done = rdv("replay", "--archive", str(tmp_path), "--since", "2h", "--bootstrap", "x:1")
    assert done.returncode == 0, done.stderr
    assert "no archived requests" in done.stderr


def test_a_bad_window_gets_one_line(tmp_path: Path) -> None:
    done = rdv("replay", "--archive", str(tmp_path), "--since", "yesterday-ish")
    assert done.returncode == 2
    assert "--since 'yesterday-ish' is neither a moment" in done.stderr
    assert "Traceback" not in done.stderr

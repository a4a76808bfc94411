"""The report page from a records archive, with no broker: what a user of `rdv report
--records DIR` gets where only the archive is at hand."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

from rdv.codec import Codec
from rdv.decoy.archive import Archive
from rdv.decoy.records import RECORDS_SCHEMA, record_row
from rdv.kafka import Message
from rdv_tools.report.page import render
from rdv_tools.report.sources import gather
from tests.unit.rendezvous.sim import T0, Sim, request, score


def records_archive(root: Path, count: int = 400) -> None:
    rng = random.Random(1)
    sim = Sim()
    for i in range(count):
        at = i * 10.0
        rid = f"r{i}"
        sim.at(at).request(request(rid, created_us=T0 + int(at * 1000)))
        for model in ("m@2", "m@3", "m@1", "fast@1"):
            value = rng.random()
            sim.at(at + rng.uniform(1, 8)).score(
                score(rid, model, value, label="bot" if value > 0.5 else "human")
            )
    sim.at(count * 10.0 + 500)
    archive = Archive(root, "records", 10_000, 1 << 30, 600, RECORDS_SCHEMA)
    codec = Codec()
    for offset, record in enumerate(sim.records):
        msg = Message(
            "rendezvous.log", 0, offset, None, codec.encode("Record", record), (), T0 // 1000
        )
        archive.add(msg, record_row(msg, record, None, T0))
    archive.flush()


def test_a_records_archive_alone_makes_a_page_with_every_plot(tmp_path: Path) -> None:
    records_archive(tmp_path / "records")
    since = datetime.fromtimestamp(T0 / 1e6 - 60, UTC)
    until = datetime.fromtimestamp(T0 / 1e6 + 3600, UTC)
    recorded = gather(since, until, Codec(), None, tmp_path / "records", {})
    assert len(recorded.records) == 400
    assert recorded.missing == ["feedback and rollout history: no broker given"]
    page = render(recorded, since, until)
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 6  # no rollout history
    assert "Left out: feedback and rollout history" in page
    for model in ("m@2", "m@3", "m@1", "fast@1"):
        assert f"<td>{model}</td>" in page

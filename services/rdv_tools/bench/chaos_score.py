"""How `rdv bench chaos` counts what a user checks, from what was sent and what came back:
answered, exactly once, lost, duplicated, the SLA share (the rendezvous's and the client's,
outside Kafka's downtime), archived."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rdv_tools.bench.stats import decided_since_creation_s


@dataclass
class ChaosResult:
    scenario: str
    fault: str
    sent: int
    answered: int
    exactly_once: int
    lost: int
    duplicated: int
    sla_met: float  # of answers to requests sent outside Kafka's outages and elections
    late: int
    archived: float  # share of sent requests in the decoy archive
    nodes: int = 1
    # Of the same requests: the share whose answer reached the client inside the SLA, timed
    # from the send to the client's first answer (what a caller waits; answers aborted with a
    # fenced transaction count too, as the client reads read_uncommitted).
    sla_met_client: float = 0.0
    # The same share for the requests sent in each third of the run: before the fault, while
    # it strikes, after its repair. A low share before the fault is the stack, not the fault.
    sla_met_client_by_third: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # How long the stack was driven before the measured run to reach its steady state.
    settled_s: float = 0.0
    outage_s: float = 0.0  # Kafka down, or electing new leaders after a node's loss
    reasons: dict[str, int] = field(default_factory=dict)
    # The same for the last fifth of the requests sent: whether the stack has recovered.
    reasons_at_end: dict[str, int] = field(default_factory=dict)
    # Of the same requests, per partition: the share the champion answered. A partition no
    # live replica (or rendezvous) consumes shows as 0 however busy the machine.
    preferred_at_end_by_partition: dict[int, float] = field(default_factory=dict)
    # For a request answered more than once: each answer's reason and whether it was late,
    # the first few only (what an investigation starts from).
    repeats: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(
    scenario: str,
    fault: str,
    sent: dict[str, float],
    answers: list[dict[str, Any]],
    broker_down: list[tuple[float, float]],
    sla_ms: int,
    archived: float,
    received: dict[str, float] | None = None,
) -> ChaosResult:
    counts = Counter(a["request_id"] for a in answers)
    # Requests sent while Kafka was down (and a second either side) cannot be on time.
    outage = [(a - 1, b + 1) for a, b in broker_down]
    outside = [rid for rid, at in sent.items() if not any(lo <= at <= hi for lo, hi in outage)]
    first = {a["request_id"]: a for a in reversed(answers)}
    judged = [first[rid] for rid in outside if rid in first]
    # From the request's creation, as the SLA runs: an answer's latency_us runs from the
    # rendezvous's read, and called a backlog read after a hand-over "met" (0 ms) though
    # its requests had waited a second and more in Kafka.
    met = sum(decided_since_creation_s(a) * 1000 <= sla_ms and not a["late"] for a in judged)
    in_time = received_in_time(sent, received or {}, sla_ms, outside)
    repeated = [rid for rid, c in counts.items() if c > 1][:5]
    by_time = sorted(sent, key=sent.__getitem__)
    last_fifth = by_time[len(by_time) - len(by_time) // 5 :]
    at_end = [first[rid] for rid in last_fifth if rid in first]
    third = len(by_time) // 3
    thirds = (by_time[:third], by_time[third : 2 * third], by_time[2 * third :])
    return ChaosResult(
        scenario=scenario,
        fault=fault,
        sent=len(sent),
        answered=len(counts),
        exactly_once=sum(1 for c in counts.values() if c == 1),
        lost=len(sent) - len(counts),
        duplicated=sum(1 for c in counts.values() if c > 1),
        sla_met=met / len(judged) if judged else 0.0,
        sla_met_client=_share(in_time, outside),
        sla_met_client_by_third=(
            _share(in_time, thirds[0]),
            _share(in_time, thirds[1]),
            _share(in_time, thirds[2]),
        ),
        late=sum(a["late"] for a in first.values()),
        archived=archived,
        reasons=dict(Counter(a["reason"] for a in first.values())),
        reasons_at_end=dict(Counter(a["reason"] for a in at_end)),
        preferred_at_end_by_partition=preferred_by_partition(at_end),
        outage_s=sum(b - a for a, b in broker_down if b != float("inf")),
        repeats={rid: [_told(a) for a in answers if a["request_id"] == rid] for rid in repeated},
    )


def received_in_time(
    sent: dict[str, float], received: dict[str, float], sla_ms: int, requests: list[str]
) -> dict[str, bool]:
    """Whether the client received each of these requests' answer inside the SLA of its send."""
    sla_s = sla_ms / 1000
    return {rid: rid in received and received[rid] - sent[rid] <= sla_s for rid in requests}


def preferred_by_partition(answers: list[dict[str, Any]]) -> dict[int, float]:
    """Per partition of the answers topic (each answer goes to its request's partition), the
    share of these answers the preferred model gave."""
    by_partition: dict[int, list[bool]] = {}
    for answer in answers:
        if "partition" in answer:
            by_partition.setdefault(answer["partition"], []).append(answer["reason"] == "preferred")
    return {p: sum(v) / len(v) for p, v in sorted(by_partition.items())}


def _share(in_time: dict[str, bool], requests: list[str]) -> float:
    judged = [in_time[rid] for rid in requests if rid in in_time]
    return sum(judged) / len(judged) if judged else 0.0


def _told(answer: dict[str, Any]) -> str:
    return f"{answer['reason']}{' (late)' if answer['late'] else ''}"

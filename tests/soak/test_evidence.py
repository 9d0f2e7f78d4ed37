"""The soak keeps its evidence beside the bot log: every fault a line, the RSS samples."""

from __future__ import annotations

import json
from pathlib import Path

from arbitrade.soak import FaultKind, FaultRecord
from arbitrade.soak._run import write_evidence


def test_write_evidence_when_run_ends_keeps_each_fault_and_rss_sample(tmp_path: Path) -> None:
    """faults.jsonl holds each record with its recovery time; rss.csv pairs bot and sim RSS."""
    recovered = FaultRecord(FaultKind.DROP_CONNECTIONS, 10.0, 10.0, "all connections")
    recovered.recovered_at = 11.25
    stuck = FaultRecord(FaultKind.STALLED_CHANNEL, 20.0, 23.0, "book", note="not recovered")
    write_evidence(tmp_path, [recovered, stuck], [(0.0, 1e8), (1.0, 2e8)], [(0.02, 5e7)])
    lines = [json.loads(line) for line in (tmp_path / "faults.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["seconds_to_recover"]) for r in lines] == [
        ("drop_connections", 1.25),
        ("stalled_channel", None),
    ]
    assert lines[1]["note"] == "not recovered"
    assert (tmp_path / "rss.csv").read_text().splitlines() == [
        "seconds,bot_rss_bytes,simulator_rss_bytes",
        "0.0,100000000,50000000",
        "1.0,200000000,",
    ]

"""DuckDB sink benchmark: rows/s written through the sink, and the Trio loop's lateness while
it writes. Prints three tables.

    .venv/bin/python benchmarks/bench_sink.py [--seconds 6] [--rounds 3] [--rate 20000]
        [--batch-rows 5000] [--messages 200000] [--nice 10] [--switch-interval 0.0005]

1. Insert paths, writer thread alone (no Trio): ``executemany`` against Arrow
   ``INSERT ... SELECT`` (what the writer uses), Fill rows, one transaction per batch.
2. Through the sink (bus -> sink actor -> pykka writer thread -> DuckDB file), Fill
   messages published in bursts of 100 as fast as the bus takes them: committed rows/s
   from the first publish to the ``Flush`` reply, with CPython's default GIL switch
   interval (5 ms) and with ``--switch-interval`` (0.5 ms, what the app should set: a busy
   Trio thread then hands the GIL to the writer thread within 0.5 ms instead of 5).
3. Loop lateness: a task sleeps 1 ms in a loop and records how late it wakes (p50, p99,
   max), (a) idle, (b) with a publisher at ``--rate`` messages/s and no sink, (c) the same
   publisher with the sink writing every message. The sink's added latency is (c) - (b),
   measured side by side in one run (absolute times depend on the shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import trio

from actors import SupervisorSpec, open_system
from arbitrade.messages import TOPIC_FILLS, Fill, Side
from arbitrade.persistence import (
    Flush,
    SinkSettings,
    SinkStatistics,
    mapping_for,
    open_database,
    sink_child,
    writer_child,
)
from arbitrade.persistence._batch import Batch, TableRows
from arbitrade.persistence._tables import FILLS
from arbitrade.persistence._writer import DuckDBWriter


def fill(number: int) -> Fill:
    return Fill(
        exec_id=f"x-{number}",
        cl_ord_id=f"c-{number}",
        cycle_id=f"cy-{number // 3}",
        symbol="BTC/USD",
        side=Side.BUY,
        price=Decimal("64123.1") + number,
        qty=Decimal("0.00012345"),
        fee=Decimal("0.0123456789"),
        fee_asset="USD",
        liquidity="t",
        at=1000.0 + number * 1e-6,
    )


# -- 1. insert paths -----------------------------------------------------------------------
def bench_insert_paths(folder: Path, batch_rows: int) -> list[tuple[str, float]]:
    mapping = mapping_for(Fill)
    assert mapping is not None
    rows = [mapping.to_row(fill(n)) for n in range(batch_rows)]
    results: list[tuple[str, float]] = []

    connection = open_database(folder / "executemany.duckdb")
    few = rows[: min(len(rows), 2000)]
    started = time.perf_counter()
    connection.execute("BEGIN TRANSACTION")
    connection.executemany(f"INSERT INTO fills VALUES ({', '.join('?' * 11)})", few)
    connection.execute("COMMIT")
    results.append(("executemany", len(few) / (time.perf_counter() - started)))
    connection.close()

    TableRows.from_rows(FILLS.name, rows[:1])  # the first conversion imports pandas
    started = time.perf_counter()
    chunks = [TableRows.from_rows(FILLS.name, rows[i : i + 256]) for i in range(0, len(rows), 256)]
    encode = len(rows) / (time.perf_counter() - started)
    part = TableRows(FILLS.name, tuple(c for t in chunks for c in t.chunks), len(rows))
    writer = DuckDBWriter(folder / "arrow.duckdb")
    writer.open()
    batches = 20
    started = time.perf_counter()
    for sequence in range(batches):
        writer.write(Batch("bench", sequence, (part,)))
    results.append(
        ("Arrow INSERT ... SELECT", batches * len(rows) / (time.perf_counter() - started))
    )
    results.append(("(rows -> Arrow IPC, Trio side)", encode))
    writer.close()
    return results


# -- 2 and 3. through the sink ---------------------------------------------------------------
NICE = 10


def tree(path: Path, batch_rows: int) -> SupervisorSpec:
    settings = SinkSettings(batch_rows=batch_rows, subscription_capacity=50_000)
    return SupervisorSpec(
        "root",
        [
            writer_child(path, nice=NICE),
            sink_child(settings=settings, topics=(TOPIC_FILLS,)),
        ],
    )


async def publish_all(bus: Any, payload: list[Fill]) -> None:
    """Publish in bursts of 100 without waiting (as many actors publishing would), waiting
    for room only when the sink's lossless subscription is full."""
    for start in range(0, len(payload), 100):
        for message in payload[start : start + 100]:
            try:
                bus.publish_nowait(TOPIC_FILLS, message)
            except trio.WouldBlock:
                await bus.publish(TOPIC_FILLS, message)
        await trio.lowlevel.checkpoint()


async def sink_throughput(path: Path, batch_rows: int, messages: int) -> tuple[float, Any]:
    async with open_system(tree(path, batch_rows)) as system:
        sink = system.registry.lookup("root/persistence_sink")
        payload = [fill(n) for n in range(messages)]
        started = time.perf_counter()
        await publish_all(system.bus, payload)
        stats: SinkStatistics = await sink.ask(Flush(), timeout=120)
        elapsed = time.perf_counter() - started
    rows = duckdb.connect(str(path), read_only=True).execute("SELECT count(*) FROM fills")
    return messages / elapsed, (stats, rows.fetchall()[0][0])


async def lateness(seconds: float, rate: int, path: Path | None, batch_rows: int) -> Sample:
    """Lateness samples (ms) of a 1 ms periodic task while a publisher sends ``rate`` msg/s,
    and the messages published."""
    late: list[float] = []
    published = 0

    async def tick(stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            before = time.perf_counter()
            await trio.sleep(0.001)
            late.append((time.perf_counter() - before - 0.001) * 1000)

    async def publish(bus: Any, stop_at: float) -> None:
        nonlocal published
        started = time.perf_counter()
        while time.perf_counter() < stop_at:
            due = int((time.perf_counter() - started) * rate)
            while published < due:
                await bus.publish(TOPIC_FILLS, fill(published))
                published += 1
            await trio.sleep(0.001)

    async def run(bus: Any) -> None:
        stop_at = time.perf_counter() + seconds
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick, stop_at)
            if rate:
                nursery.start_soon(publish, bus, stop_at)

    if path is None:
        from actors import Bus

        await run(Bus())
    else:
        async with open_system(tree(path, batch_rows)) as system:
            await trio.sleep(0.5)  # let start-up finish before measuring
            await run(system.bus)
    return Sample(late, published)


class Sample:
    """Pooled lateness samples of one scenario over the rounds."""

    def __init__(self, late: list[float] | None = None, published: int = 0) -> None:
        self.late = late or []
        self.published = published

    def add(self, other: Sample) -> None:
        self.late += other.late
        self.published += other.published

    def summary(self) -> tuple[float, float, float]:
        ordered = sorted(self.late)
        return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))], ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per latency scenario")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds")
    parser.add_argument("--rate", type=int, default=20_000, help="messages/s in the latency runs")
    parser.add_argument("--batch-rows", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--nice", type=int, default=10, help="writer thread nice increment")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0005,
        help="sys.setswitchinterval for the latency runs (CPython's default is 0.005)",
    )
    args = parser.parse_args()
    global NICE
    NICE = args.nice

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        print(f"\nInsert paths (writer thread alone, {args.batch_rows}-row batches of Fill rows)")
        print(f"{'path':<28}{'rows/s':>12}")
        for name, rate in bench_insert_paths(folder, args.batch_rows):
            print(f"{name:<28}{rate:>12,.0f}")

        print(f"\nThrough the sink: {args.messages:,} Fill messages, bursts of 100")
        print(f"{'GIL switch interval':<24}{'rows/s':>10}{'rows stored':>13}{'batches':>9}")
        for interval in (0.005, args.switch_interval):
            sys.setswitchinterval(interval)
            path = folder / f"sink-{interval}.duckdb"
            throughput, (stats, stored) = trio.run(
                sink_throughput, path, args.batch_rows, args.messages
            )
            print(
                f"{f'{interval * 1000:g} ms':<24}{throughput:>10,.0f}{stored:>13,}"
                f"{stats.committed_batches:>9,}"
            )
        sys.setswitchinterval(args.switch_interval)

        print(
            f"\nTrio loop lateness of a 1 ms periodic task ({args.seconds:g} s each in "
            f"{args.rounds} interleaved rounds, "
            f"switch interval {args.switch_interval * 1000:g} ms), ms"
        )
        print(f"{'scenario':<40}{'msg/s':>9}{'p50':>8}{'p99':>8}{'max':>8}")
        scenarios = [
            ("idle", 0, None),
            (f"publisher {args.rate}/s, no sink", args.rate, None),
            (f"publisher {args.rate}/s, sink writing", args.rate, folder / "latency.duckdb"),
        ]
        # Interleaved rounds, pooled: drift in the machine's load hits every scenario alike.
        pooled = {name: Sample() for name, _, _ in scenarios}
        for _ in range(args.rounds):
            for name, rate, path in scenarios:
                pooled[name].add(
                    trio.run(lateness, args.seconds / args.rounds, rate, path, args.batch_rows)
                )
        for name, _, _ in scenarios:
            p50, p99, worst = pooled[name].summary()
            sent = pooled[name].published / args.seconds
            print(f"{name:<40}{sent:>9,.0f}{p50:>8.3f}{p99:>8.3f}{worst:>8.3f}")
        without = pooled[scenarios[1][0]].summary()
        with_sink = pooled[scenarios[2][0]].summary()
        added = [b - a for a, b in zip(without, with_sink, strict=True)]
        print(
            f"{'added by the sink (c - b)':<40}{'':>9}"
            f"{added[0]:>8.3f}{added[1]:>8.3f}{added[2]:>8.3f}"
        )


if __name__ == "__main__":
    main()

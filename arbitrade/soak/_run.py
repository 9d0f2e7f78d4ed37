"""The fault soak: run the bot in sim mode, fire faults one after another, then judge.

Phases: start (bot, observers, an RSS sampler, a dashboard client that reads its stream) ->
warm-up (until healthy, at most 30 s) -> faults until ``minutes`` minus the quiet phase ->
quiet phase (faults off) -> the kill switch engaged and in-flight cycles finished (orders at
rest) -> a last portfolio snapshot -> clean stop
(the sink flushes) -> checks against the simulator's records and the DuckDB file.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import tempfile
import time
from decimal import Decimal
from functools import partial
from pathlib import Path

import attrs
import httpx
import structlog
import trio

from actors import System
from arbitrade.components import Components, load_components
from arbitrade.config import Mode, Settings
from arbitrade.dashboard._model import (
    CONTROL_KILL_SWITCH,
    KILL_SWITCH_ENGAGED,
    KILL_SWITCH_RELEASED,
)
from arbitrade.execution import PortfolioTick
from arbitrade.logs import configure_logging
from arbitrade.messages import TOPIC_CONTROL, AuditEvent, ControlChanged
from arbitrade.soak._bot import BotHandle, VenueChoice, run_bot
from arbitrade.soak._checks import (
    Check,
    KindSummary,
    OrderRecord,
    Verdict,
    check_doubled_orders,
    check_memory,
    check_pnl,
    check_recovery,
    check_rows_lost,
    check_trading,
    check_visibility,
    count_reconciliations,
    summarise,
)
from arbitrade.soak._database import money, table_counts
from arbitrade.soak._faults import FaultKind, FaultRecord, fault_plan, stallable_channels
from arbitrade.soak._inject import Injector, assign_traces
from arbitrade.soak._observe import Observer, RowCounter, poll_until
from arbitrade.soak._rss import RssSampler

log = structlog.get_logger(__name__)

CLEAR_FAULTS = {
    "stalled_channels": [],
    "corrupt_checksums": 0,
    "garbage_frames": 0,
    "truncated_frames": 0,
    "ack_delay_seconds": 0.0,
    "rate_limit_errors": 0,
    "nonce_errors": 0,
    "system_status": "online",
}


def free_port() -> int:
    """A TCP port free on loopback now (the usual small race applies)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.frozen
class SoakOptions:
    """How long, which seed, and what to run."""

    minutes: float
    seed: int = 1
    venue: VenueChoice = "exchange"
    extra_assets: int = 0
    """Synthetic assets added to the simulator (215 gives about 1,000 pairs)."""
    quiet_seconds: float = 5.0
    warmup_seconds: float = 30.0
    kinds: tuple[FaultKind, ...] = tuple(FaultKind)
    workdir: Path | None = None
    """Where the database and the bot's log go (a new temporary folder when None)."""
    simulator_in_process: bool = False
    """Serve the simulator in a child process (the default, as ``arbitrade run`` in sim mode
    does: it neither competes for the bot's loop nor counts in its RSS, which is reported
    apart), or on the bot's own Trio loop (True). Measured (seed 1, 2 minutes, wsproto feeds):
    on the bot's loop the two need more than the loop's one core, the book feed reads more
    than ``max_lag`` behind from the start, its books stay stale and nothing trades; in a
    child process every fault recovered and the bot traded (98 orders in the last minute)."""


@attrs.frozen
class SoakReport:
    """Everything the table shows."""

    options: SoakOptions
    records: tuple[FaultRecord, ...]
    summaries: tuple[KindSummary, ...]
    checks: tuple[Check, ...]
    figures: tuple[tuple[str, str], ...]
    workdir: Path

    @property
    def ok(self) -> bool:
        """No check failed (not measurable ones do not fail)."""
        return all(check.verdict is not Verdict.FAIL for check in self.checks)


def soak_settings(options: SoakOptions, workdir: Path) -> Settings:
    """Sim-mode settings on free loopback ports with the database in ``workdir``."""
    return Settings(
        mode=Mode.SIM,
        sim_seed=options.seed,
        sim_port=free_port(),
        app_port=free_port(),
        duckdb_path=workdir / "soak.duckdb",
        log_json=True,
    )


async def run_soak(options: SoakOptions, components: Components | None = None) -> SoakReport:
    """Run the soak (see the module docstring) and return its report. The bot's log goes
    to ``<workdir>/bot.log`` as JSON lines; afterwards logging goes to stderr at WARNING."""
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="arbitrade-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    components = components or load_components()
    settings = soak_settings(options, workdir)
    log_file = (workdir / "bot.log").open("w")
    configure_logging(level="INFO", json=True, stream=log_file)
    observer, counter = Observer(), RowCounter()
    observer.tap_logs()

    def attach(system: System) -> None:
        counter.attach(system.bus)
        observer.attach(system.bus)

    rss = RssSampler(os.getpid())
    sim_rss: RssSampler | None = None
    records: list[FaultRecord] = []
    figures: dict[str, str] = {}
    try:
        async with trio.open_nursery() as nursery:
            handle: BotHandle = await nursery.start(
                partial(
                    run_bot,
                    settings,
                    components,
                    venue=options.venue,
                    extra_assets=options.extra_assets,
                    simulator_in_process=options.simulator_in_process,
                    on_system=attach,
                )
            )
            nursery.start_soon(counter.run)
            nursery.start_soon(observer.run)
            nursery.start_soon(rss.run, 1.0)
            if handle.simulator.pid is not None:
                sim_rss = RssSampler(handle.simulator.pid)
                nursery.start_soon(sim_rss.run, 1.0)
            nursery.start_soon(_dashboard_reader, handle.dashboard_url)
            balances_before = await handle.simulator.balances()
            await _warm_up(handle, observer, options.warmup_seconds)
            injector = Injector(handle, observer)
            deadline = trio.current_time() + options.minutes * 60 - options.quiet_seconds
            stallable = stallable_channels(components.market.channels)
            plan = fault_plan(options.seed, options.kinds, stallable)
            while trio.current_time() < deadline:
                fault = next(plan)
                log.info("soak.fault", kind=fault.kind.value)
                records.append(await injector.fire(fault))
                await trio.sleep(fault.gap)
            faults_end = trio.current_time()
            await handle.simulator.set_faults(CLEAR_FAULTS)
            await trio.sleep(options.quiet_seconds)
            # Late entries (throttled, or noticed behind a backlog) count too, once each.
            assign_traces(records, observer.restart_log, observer.audit, injector.visible_within)
            await _stop_trading(handle, observer)
            await handle.system.registry.lookup("root/trading/portfolio").send(PortfolioTick())
            await trio.sleep(1.0)
            balances_after = await handle.simulator.balances()
            received = [OrderRecord(cl, ok) for cl, ok in await handle.simulator.received_orders()]
            figures |= _figures(observer, injector, handle, await handle.simulator.pair_count())
            trading = check_trading(
                has_market=observer.has_market,
                orders_last_minute=sum(t >= faults_end - 60 for t in observer.order_times),
                opportunities_last_minute=sum(
                    t >= faults_end - 60 for t in observer.opportunity_times
                ),
            )
            nursery.cancel_scope.cancel()
    finally:
        configure_logging(level="WARNING")  # back to stderr before the file closes
        log_file.close()
    stored = table_counts(settings.duckdb_path)
    traded = money(settings.duckdb_path, components.execution.home_asset)
    balance_change = (
        {
            a: (balances_after.get(a, Decimal(0)) - balances_before.get(a, Decimal(0))).normalize()
            for a in set(balances_after) | set(balances_before)
            if balances_after.get(a, Decimal(0)) != balances_before.get(a, Decimal(0))
        }
        if handle.venue_kind == "exchange"
        else None
    )
    realised = (
        traded.realised_pnl_last - traded.realised_pnl_first
        if traded.realised_pnl_last is not None and traded.realised_pnl_first is not None
        else None
    )
    checks = [
        *check_recovery(records),
        *check_visibility(records),
        trading,
        check_doubled_orders(received if handle.venue_kind == "exchange" else None),
        check_pnl(
            cycles_pnl=traded.cycles_pnl if traded.fills or traded.cycles else None,
            realised_pnl_change=realised,
            fill_flows=traded.fill_flows if traded.fills or traded.cycles else None,
            balance_change=balance_change,
        ),
        check_rows_lost(dict(counter.published), stored),
        check_memory(rss.samples, name="bot memory (RSS)"),
    ]
    if sim_rss is not None:  # not the bot: a figure, not a check
        figures["simulator RSS (own process)"] = check_memory(sim_rss.samples).value
    else:
        figures["simulator RSS"] = "in the bot's process (counted in the bot's RSS)"
    figures["orders sent (simulator)"] = str(len(received))
    figures["fills / cycles (DuckDB)"] = f"{traded.fills} / {traded.cycles}"
    figures["realised PnL: cycles + stat-arb positions"] = (
        f"{traded.cycle_pnl} + {traded.position_pnl} ({traded.position_cycles} position cycles)"
    )
    figures["rows written (DuckDB)"] = str(sum(stored.values()))
    write_evidence(workdir, records, rss.samples, sim_rss.samples if sim_rss else [])
    return SoakReport(
        options,
        tuple(records),
        tuple(summarise(records)),
        tuple(checks),
        tuple(figures.items()),
        workdir,
    )


def write_evidence(
    workdir: Path,
    records: list[FaultRecord],
    bot_rss: list[tuple[float, float]],
    sim_rss: list[tuple[float, float]],
) -> None:
    """Keep what the table summarises beside the bot log, for whoever must find out why:
    ``faults.jsonl`` (one fault a line, times on the soak's clock) and ``rss.csv`` (seconds
    since start, bot and simulator RSS in bytes; the simulator's empty when in-process)."""
    with (workdir / "faults.jsonl").open("w") as out:
        for record in records:
            line = attrs.asdict(record) | {
                "kind": record.kind.value,
                "seconds_to_recover": record.seconds_to_recover,
            }
            out.write(json.dumps(line) + "\n")
    sim_by_second = {round(at): value for at, value in sim_rss}
    with (workdir / "rss.csv").open("w") as out:
        out.write("seconds,bot_rss_bytes,simulator_rss_bytes\n")
        for at, value in bot_rss:
            sim = sim_by_second.get(round(at), "")
            out.write(f"{at:.1f},{value:.0f},{sim if sim == '' else f'{sim:.0f}'}\n")


async def _stop_trading(
    handle: BotHandle, observer: Observer, *, settle: float = 2.0, limit: float = 15.0
) -> None:
    """Engage the kill switch as an operator would, then wait until no order has changed for
    ``settle`` seconds (``limit`` at most), so the last portfolio snapshot and the fills are
    taken at rest. Without it a cycle finishing after the last snapshot was in the fills and
    cycles but not in the snapshot's realised PnL (the session 5 soak: a stat-arb close 2.8 s
    after it, 1.45 USD apart)."""
    start = trio.current_time()
    await handle.system.bus.publish(
        TOPIC_CONTROL,
        ControlChanged(
            setting=CONTROL_KILL_SWITCH,
            value=KILL_SWITCH_ENGAGED,
            previous=KILL_SWITCH_RELEASED,
            who="soak",
            at=start,
            at_wall=time.time(),
        ),
    )
    with trio.move_on_after(limit):
        while True:
            last = max([start, *observer.order_times[-1:]])
            quiet = trio.current_time() - last
            if quiet >= settle:
                return
            await trio.sleep(settle - quiet)


async def _warm_up(handle: BotHandle, observer: Observer, seconds: float) -> None:
    with trio.move_on_after(seconds):
        await poll_until(lambda: observer.health(handle.system.registry)[0], 0.1)
        await trio.sleep(2.0)  # let feeds that are still connecting report


async def _dashboard_reader(url: str) -> None:
    """A browser tab left open: one SSE stream read continuously, the overview polled."""
    timeout = httpx.Timeout(10.0, read=None)  # a stream may stay quiet for long
    async with (
        httpx.AsyncClient(base_url=url, timeout=timeout) as client,
        trio.open_nursery() as nursery,
    ):

        async def poll() -> None:
            while True:
                await trio.sleep(5.0)
                try:
                    await client.get("/")
                except httpx.HTTPError:
                    continue

        nursery.start_soon(poll)
        while True:
            try:
                async with client.stream("GET", "/stream/books") as response:
                    async for _ in response.aiter_raw():
                        pass
            except httpx.HTTPError:
                await trio.sleep(1.0)


def _figures(
    observer: Observer, injector: Injector, handle: BotHandle, pairs: int
) -> dict[str, str]:
    kinds = sorted({a.kind for a in observer.audit if a.kind.startswith("execution.")})
    corrections = {k: sum(a.kind == k for a in observer.audit) for k in kinds}
    return {
        "venue": handle.venue_kind,
        "pairs in the simulator": str(pairs),
        "actors": str(len(handle.system.registry.paths())),
        "venue reconnects / feed relives / book resyncs": (
            f"{observer.venue_reconnects} / {observer.feed_relives} / {observer.book_resyncs}"
        ),
        "executor audit events": ", ".join(f"{k} {n}" for k, n in corrections.items()) or "none",
        "venue audit events (occurrences)": _venue_audit(observer.audit),
        "reconciliation corrections": count_reconciliations(observer.audit),
        "restart-log events": str(len(observer.restart_log)),
        "loop lag with slow client": f"{injector.loop_lag_max * 1000:.0f} ms",
    }


def _venue_audit(audit: list[AuditEvent]) -> str:
    """Per venue audit kind and subject: events (occurrences they stand for)."""
    events: collections.Counter[str] = collections.Counter()
    occurrences: collections.Counter[str] = collections.Counter()
    for entry in audit:
        if entry.kind.startswith("venue."):
            key = f"{entry.kind.removeprefix('venue.')} {entry.subject}"
            events[key] += 1
            try:
                occurrences[key] += int(json.loads(entry.detail).get("count", 1))
            except (ValueError, AttributeError, TypeError):
                occurrences[key] += 1
    return ", ".join(f"{k} {events[k]} ({occurrences[k]})" for k in sorted(events)) or "none"

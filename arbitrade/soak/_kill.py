"""Crash consistency: SIGKILL ``arbitrade run`` at random moments, reopen its database each time.

The simulator runs in a thread of this process (so it outlives every bot and remembers every
nonce and order across them); the bot runs as a subprocess in live mode pointed at it, with the
simulator's test key and a temporary ``DUCKDB_PATH``. Each cycle: start, wait until
``/health`` answers, wait a random 0.5-6 s, SIGKILL, then reopen the file read-only and check:
it opens, the migrations are all recorded, the committed batches account for every row, no
client order id was announced twice. Across all cycles: every nonce the simulator saw was
accepted (Kraken refuses a nonce not above the last one), each start's first nonce is above
the previous start's last, and no ``cl_ord_id`` was accepted twice by the exchange.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import httpx

import arbitrade
from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimConfig, Simulator
from arbitrade.sim import simulator_in_thread as simulator_in_thread
from arbitrade.soak._checks import Check, OrderRecord, Verdict, check_doubled_orders
from arbitrade.soak._database import consistency

REPO = Path(arbitrade.__file__).resolve().parents[1]
"""The checkout: ``arbitrade run`` reads ``config/`` relative to it."""


@attrs.define
class RecordingNonces:
    """Stands in for the simulator's nonce tracker: same rule, and remembers every nonce with
    the bot incarnation that sent it and whether it was accepted."""

    inner: object
    incarnation: int = 0
    seen: list[tuple[int, int, bool]] = attrs.field(factory=list)
    """(incarnation, nonce, accepted)."""

    def accept(self, key: str, nonce_text: str) -> bool:
        accepted: bool = self.inner.accept(key, nonce_text)  # type: ignore[attr-defined]
        nonce = int(nonce_text) if nonce_text.isascii() and nonce_text.isdigit() else -1
        self.seen.append((self.incarnation, nonce, accepted))
        return accepted


def nonce_problems(seen: list[tuple[int, int, bool]]) -> list[str]:
    """Refused nonces, and starts whose first nonce is not above the previous start's last."""
    problems = [f"start {i}: nonce {n} refused" for i, n, ok in seen if not ok]
    last_by_start: dict[int, int] = {}
    first_by_start: dict[int, int] = {}
    for incarnation, nonce, _ in seen:
        first_by_start.setdefault(incarnation, nonce)
        last_by_start[incarnation] = max(nonce, last_by_start.get(incarnation, nonce))
    starts = sorted(first_by_start)
    for before, after in itertools.pairwise(starts):
        if first_by_start[after] <= last_by_start[before]:
            problems.append(
                f"start {after} began at {first_by_start[after]}, not above {last_by_start[before]}"
            )
    return problems


@attrs.frozen
class KillReport:
    checks: tuple[Check, ...]
    figures: tuple[tuple[str, str], ...]


def _bot_environment(
    rest_url: str, ws_public: str, ws_private: str, db: Path, port: int
) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        MODE="live",
        LIVE_TRADING_CONFIRMED="true",
        KRAKEN_API_KEY=DEFAULT_API_KEY,
        KRAKEN_API_SECRET=DEFAULT_API_SECRET,
        KRAKEN_API_KEY_PERMISSIONS="query,trade",
        KRAKEN_REST_URL=rest_url,
        KRAKEN_WS_PUBLIC_URL=ws_public,
        KRAKEN_WS_PRIVATE_URL=ws_private,
        DUCKDB_PATH=str(db),
        APP_PORT=str(port),
        LOG_JSON="true",
        LOG_LEVEL="WARNING",
    )
    return environment


def _wait_up(process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
            return True
        except httpx.HTTPError:
            time.sleep(0.1)
    return False


def run_kill_cycles(
    kills: int,
    *,
    seed: int = 1,
    workdir: Path | None = None,
    start_timeout: float = 180.0,
    alive: tuple[float, float] = (0.5, 6.0),
) -> KillReport:
    """Run ``kills`` SIGKILL-and-reopen cycles (see the module docstring); blocking."""
    from arbitrade.soak._run import free_port

    rng = random.Random(seed)  # noqa: S311 - reproducible kill moments
    folder = workdir or Path(os.environ.get("TMPDIR", "/tmp")) / f"arbitrade-kills-{os.getpid()}"  # noqa: S108
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "kills.duckdb"
    failures: dict[str, list[str]] = {"opens": [], "migrations": [], "batches": [], "ids": []}
    started = killed = opened = 0
    slow: list[int] = []
    batches = rows = 0
    with simulator_in_thread(SimConfig(seed=seed)) as threaded:
        running = threaded.running
        sim: Simulator = running.simulator
        recorder = threaded.call(lambda: _install_recorder(sim))
        for cycle in range(1, kills + 1):
            threaded.call(lambda n=cycle: setattr(recorder, "incarnation", n))
            port = free_port()
            environment = _bot_environment(
                running.rest_url, running.ws_public_url, running.ws_private_url, database, port
            )
            with (folder / f"kill-{cycle}.log").open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "arbitrade", "run"],
                    cwd=REPO,
                    env=environment,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                try:
                    up = _wait_up(process, port, start_timeout)
                    if up:
                        started += 1
                        time.sleep(rng.uniform(*alive))
                finally:
                    if process.poll() is None:
                        process.send_signal(signal.SIGKILL)
                        killed += 1
                    process.wait()
            if not up:
                slow.append(cycle)  # killed while starting: still a kill, still checked
            if not database.exists():
                continue
            try:
                state = consistency(database)
            except Exception as error:  # any failure to open is the finding
                failures["opens"].append(f"cycle {cycle}: {type(error).__name__}: {error}")
                continue
            opened += 1
            batches, rows = state.batches, state.table_rows
            if not state.migrations_intact:
                failures["migrations"].append(f"cycle {cycle}: version {state.schema_version}")
            if not state.batches_whole:
                failures["batches"].append(
                    f"cycle {cycle}: batches say {state.batch_rows} rows, "
                    f"tables hold {state.table_rows}"
                )
            if state.repeated_client_order_ids:
                failures["ids"].append(
                    f"cycle {cycle}: {state.repeated_client_order_ids[0]} and "
                    f"{len(state.repeated_client_order_ids) - 1} more"
                )
        seen = threaded.call(lambda: list(recorder.seen))
        received = threaded.call(
            lambda: [
                OrderRecord(o.cl_ord_id, o.error is None and o.order_id is not None)
                for o in sim.received_orders
            ]
        )
    figures = (
        ("kill cycles: bot up / killed / reopened", f"{started} / {killed} / {opened}"),
        ("kill cycles: killed before /health", ", ".join(map(str, slow)) or "none"),
        ("kill cycles folder", str(folder)),
    )
    return _report(kills, opened, failures, seen, received, batches, rows, figures)


def _install_recorder(sim: Simulator) -> RecordingNonces:
    recorder = RecordingNonces(sim.nonces)
    sim.nonces = recorder  # type: ignore[assignment]
    return recorder


def _report(
    kills: int,
    opened: int,
    failures: dict[str, list[str]],
    seen: list[tuple[int, int, bool]],
    received: list[OrderRecord],
    batches: int,
    rows: int,
    figures: tuple[tuple[str, str], ...],
) -> KillReport:
    def verdict(problems: list[str]) -> Verdict:
        return Verdict.FAIL if problems else Verdict.PASS

    checks = [
        Check(
            "kill: database opens",
            verdict(failures["opens"]),
            f"{opened} of {kills}",
            "; ".join(failures["opens"][:2]) or "reopened read-only after every SIGKILL",
        ),
        Check(
            "kill: migrations intact",
            verdict(failures["migrations"]),
            f"{len(failures['migrations'])} broken",
            "; ".join(failures["migrations"][:2]) or "schema_migrations complete after every kill",
        ),
        Check(
            "kill: committed batches whole",
            verdict(failures["batches"]),
            f"{batches} batches, {rows} rows",
            "; ".join(failures["batches"][:2]) or "sink_batches row counts = table rows",
        ),
    ]
    problems = nonce_problems(seen)
    if seen:
        checks.append(
            Check(
                "kill: nonces increase",
                verdict(problems),
                f"{len(seen)} nonces, {len({i for i, _, _ in seen})} starts",
                "; ".join(problems[:2]) or "every nonce accepted, each start above the last",
            )
        )
    else:
        checks.append(
            Check(
                "kill: nonces increase",
                Verdict.NOT_MEASURABLE,
                "-",
                "not measurable: no private REST call reached the simulator",
            )
        )
    orders = check_doubled_orders(received)
    checks.append(attrs.evolve(orders, name="kill: orders doubled"))
    checks.append(
        Check(
            "kill: client order ids repeated",
            verdict(failures["ids"]),
            f"{len(failures['ids'])} cycles",
            "; ".join(failures["ids"][:2]) or "orders table: each id announced once",
        )
    )
    return KillReport(tuple(checks), figures)

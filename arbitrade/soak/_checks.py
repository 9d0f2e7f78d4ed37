"""The soak's checks as pure functions of what was recorded: each returns a :class:`Check`.

A check passes, fails, or is not measurable (something it needs is absent: it says what),
never a pass by default. Only failures make the soak exit non-zero.
"""

from __future__ import annotations

import collections
import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import attrs

from arbitrade.execution import RECONCILED_KIND, RECOVERED_KIND
from arbitrade.messages import AuditEvent
from arbitrade.soak._faults import FaultKind, FaultRecord


class Verdict(enum.StrEnum):
    """A check's outcome."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    NOT_MEASURABLE = "not measurable"


@attrs.frozen
class Check:
    """One line of the soak's verdict."""

    name: str
    verdict: Verdict
    value: str
    """The figure (``0 doubled of 412``)."""
    detail: str = ""
    """Why it failed or could not be measured, or what it is based on."""


def _not_measurable(name: str, why: str) -> Check:
    return Check(name, Verdict.NOT_MEASURABLE, "-", f"not measurable: {why}")


# --- orders -----------------------------------------------------------------------------------
@attrs.frozen
class OrderRecord:
    """One order request as the exchange received it (the simulator's ``ReceivedOrder``)."""

    cl_ord_id: str | None
    accepted: bool


def check_doubled_orders(received: Sequence[OrderRecord] | None) -> Check:
    """No ``cl_ord_id`` accepted twice by the exchange (requests refused as duplicates are
    fine: that is the exchange protecting us, and they are counted in the detail)."""
    name = "orders doubled"
    if received is None:
        return _not_measurable(name, "the venue does not send orders to the simulator")
    if not received:
        return _not_measurable(name, "no order reached the simulator")
    accepted = collections.Counter(r.cl_ord_id for r in received if r.accepted and r.cl_ord_id)
    doubled = {cl: n for cl, n in accepted.items() if n > 1}
    refused_repeats = len(received) - len({r.cl_ord_id for r in received})
    verdict = Verdict.FAIL if doubled else Verdict.PASS
    example = f"; e.g. {next(iter(doubled))} x{next(iter(doubled.values()))}" if doubled else ""
    return Check(
        name,
        verdict,
        f"{len(doubled)} of {len(received)} sent",
        f"{sum(accepted.values())} accepted, {refused_repeats} repeats in all{example}",
    )


# --- rows -------------------------------------------------------------------------------------
def check_rows_lost(published: Mapping[str, int], stored: Mapping[str, int]) -> Check:
    """Every row published on a persisted topic is in its table. ``dead_letters`` rows stand
    in for rows whose amounts did not fit: they count toward the total, not a table."""
    name = "rows lost"
    total = sum(published.values())
    if not total:
        return _not_measurable(name, "nothing was published on a persisted topic")
    dead = stored.get("dead_letters", 0)
    short = {t: n - stored.get(t, 0) for t, n in published.items() if n > stored.get(t, 0)}
    lost = max(0, sum(short.values()) - dead)
    extra = {t: stored.get(t, 0) - n for t, n in published.items() if stored.get(t, 0) > n}
    parts = [f"{t} -{n}" for t, n in sorted(short.items())]
    parts += [f"{t} +{n} (stored, not counted)" for t, n in sorted(extra.items())]
    if dead:
        parts.append(f"{dead} dead letters")
    return Check(
        name,
        Verdict.FAIL if lost else Verdict.PASS,
        f"{lost} of {total}",
        ", ".join(parts) or f"{len(published)} tables match",
    )


# --- PnL --------------------------------------------------------------------------------------
def check_pnl(
    *,
    cycles_pnl: Decimal | None,
    realised_pnl_change: Decimal | None,
    fill_flows: Mapping[str, Decimal] | None,
    balance_change: Mapping[str, Decimal] | None,
) -> Check:
    """PnL reconciles: the portfolio's realised PnL moved by the cycles' PnL (``cycles_pnl``:
    ordinary cycles at the executor's PnL plus stat-arb position cycles at average cost from
    their fills, see :func:`~arbitrade.soak._database.position_pnl`), and the exchange's
    balances moved by exactly the fills (quantities, notionals, fees)."""
    name = "PnL reconciles"
    if fill_flows is None or cycles_pnl is None:
        return _not_measurable(name, "no fills and no cycles in DuckDB (the bot did not trade)")
    problems: list[str] = []
    if realised_pnl_change is not None and realised_pnl_change != cycles_pnl:
        problems.append(f"realised PnL moved {realised_pnl_change}, cycles sum {cycles_pnl}")
    if balance_change is not None:
        for asset in sorted(set(fill_flows) | set(balance_change)):
            want, got = fill_flows.get(asset, Decimal(0)), balance_change.get(asset, Decimal(0))
            if want != got:
                problems.append(f"{asset}: fills {want}, balance {got}")
    basis = "cycles (positions at average cost) vs realised PnL" + (
        ", fills vs balances" if balance_change else ""
    )
    return Check(
        name,
        Verdict.FAIL if problems else Verdict.PASS,
        f"cycles PnL {cycles_pnl}",
        "; ".join(problems[:4]) if problems else basis,
    )


# --- recovery ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class KindSummary:
    kind: FaultKind
    injected: int
    recovered: int
    not_measurable: int
    visible: int
    p50: float | None
    p99: float | None


def summarise(records: Iterable[FaultRecord]) -> list[KindSummary]:
    """Per kind: counts, and recovery-time percentiles over the measurable ones."""
    by_kind: dict[FaultKind, list[FaultRecord]] = collections.defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    rows = []
    for kind in FaultKind:
        group = by_kind.get(kind, [])
        measurable = [r for r in group if r.measurable]
        times = [t for r in measurable if (t := r.seconds_to_recover) is not None]
        rows.append(
            KindSummary(
                kind,
                len(group),
                sum(r.recovered for r in measurable),
                len(group) - len(measurable),
                sum(r.visible for r in measurable),
                percentile(times, 50) if times else None,
                percentile(times, 99) if times else None,
            )
        )
    return rows


def check_recovery(records: Sequence[FaultRecord], *, p99_limit: float = 2.0) -> list[Check]:
    """Every measurable fault recovered; p99 of time to recover within ``p99_limit``
    (counted from the end of the fault, so the exchange's own waits are excluded)."""
    measurable = [r for r in records if r.measurable]
    if not measurable:
        why = "no fault could be measured" if records else "no fault fired"
        return [_not_measurable("faults recovered", why), _not_measurable("recover p99", why)]
    recovered = [r for r in measurable if r.recovered]
    failed = [r for r in measurable if not r.recovered]
    first = f"; e.g. {failed[0].kind} {failed[0].target}: {failed[0].note}" if failed else ""
    times = [t for r in recovered if (t := r.seconds_to_recover) is not None]
    checks = [
        Check(
            "faults recovered",
            Verdict.FAIL if failed else Verdict.PASS,
            f"{len(recovered)} of {len(measurable)}",
            f"{len(records) - len(measurable)} more not measurable{first}",
        )
    ]
    if times:
        p50, p99 = percentile(times, 50), percentile(times, 99)
        checks.append(
            Check(
                "recover p50 / p99",
                Verdict.FAIL if p99 > p99_limit else Verdict.PASS,
                f"{p50:.2f} s / {p99:.2f} s",
                f"limit p99 {p99_limit:g} s after the fault ends",
            )
        )
    else:
        checks.append(_not_measurable("recover p50 / p99", "nothing recovered"))
    return checks


def check_visibility(records: Sequence[FaultRecord]) -> list[Check]:
    """Every measurable fault left its own trace (matched by kind and time window) in the
    restart log or the audit log. Faults no part of the bot can audit are listed in a second,
    not-measurable line, never counted as seen."""
    candidates = [
        r for r in records if r.measurable and r.kind is not FaultKind.SLOW_DASHBOARD_CLIENT
    ]
    sourceless = [r for r in candidates if r.no_audit_source]
    measurable = [r for r in candidates if not r.no_audit_source]
    name = "faults in restart/audit log"
    checks: list[Check] = []
    if not measurable:
        checks.append(_not_measurable(name, "no measurable fault"))
    else:
        hidden = collections.Counter(r.kind.value for r in measurable if not r.visible)
        checks.append(
            Check(
                name,
                Verdict.FAIL if hidden else Verdict.PASS,
                f"{len(measurable) - sum(hidden.values())} of {len(measurable)}",
                ", ".join(f"{k} x{n} unseen" for k, n in sorted(hidden.items()))
                or "all seen, each by its own kind of entry",
            )
        )
    if sourceless:
        why = collections.Counter(f"{r.kind.value} ({r.no_audit_source})" for r in sourceless)
        checks.append(
            Check(
                "faults with no audit source",
                Verdict.NOT_MEASURABLE,
                str(len(sourceless)),
                "not measurable: " + "; ".join(f"{k} x{n}" for k, n in sorted(why.items())),
            )
        )
    return checks


# --- trading and memory -----------------------------------------------------------------------
def check_trading(
    *, has_market: bool, orders_last_minute: int, opportunities_last_minute: int
) -> Check:
    """The bot still trades at the end: orders or opportunities in the last minute."""
    name = "still trading"
    value = f"{orders_last_minute} orders, {opportunities_last_minute} opportunities"
    if orders_last_minute or opportunities_last_minute:
        return Check(name, Verdict.PASS, value, "in the last minute of faults")
    if not has_market:
        return Check(
            name,
            Verdict.NOT_MEASURABLE,
            value,
            "not measurable: no feed, book or book top seen (market actors not wired)",
        )
    return Check(name, Verdict.FAIL, value, "market data flows but nothing traded")


def rss_slope(samples: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, bytes)`` samples, in bytes per hour (None if fewer
    than three samples or no time spread)."""
    if len(samples) < 3:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    return cov / var * 3600.0


def check_memory(
    samples: Sequence[tuple[float, float]],
    *,
    limit_bytes: float = 300e6,
    max_growth_per_hour: float = 20e6,
    warmup: float = 300.0,
    min_span: float = 600.0,
    name: str = "memory (RSS)",
) -> Check:
    """Peak RSS under ``limit_bytes`` and flat: the least-squares slope of the samples taken
    after the first ``warmup`` seconds (books, caches and the database filling up are not a
    leak) under ``max_growth_per_hour``. The slope is judged only when the samples after the
    warm-up span ``min_span`` seconds; a shorter run's slope is start-up, and the table says
    it was not judged. ``samples`` are ``(seconds since the first sample, bytes)``."""
    if len(samples) < 3:
        return _not_measurable(name, "fewer than three RSS samples")
    peak = max(r for _, r in samples)
    final = samples[-1][1]
    settled = [s for s in samples if s[0] >= warmup]
    span = settled[-1][0] - settled[0][0] if settled else 0.0
    slope = rss_slope(settled)
    problems = []
    if peak > limit_bytes:
        problems.append(f"peak over {limit_bytes / 1e6:.0f} MB")
    judged = slope is not None and span >= min_span
    if judged and slope is not None and slope > max_growth_per_hour:
        problems.append(f"grows {slope / 1e6:.1f} MB/h after the warm-up")
    warm = f"{warmup / 60:g} min warm-up"
    basis = (
        f"flat: least-squares slope after the {warm} <= {max_growth_per_hour / 1e6:+.0f} MB/h"
        if judged
        else f"slope not judged: {span:.0f} s of samples after the {warm} < {min_span:.0f} s"
    )
    shown = f"{slope / 1e6:+.1f} MB/h after the {warm}" if slope is not None else "n/a"
    return Check(
        name,
        Verdict.FAIL if problems else Verdict.PASS,
        f"peak {peak / 1e6:.0f} MB, final {final / 1e6:.0f} MB, slope {shown}",
        "; ".join(problems) or basis,
    )


# --- reconciliation ---------------------------------------------------------------------------
def count_reconciliations(audit: Iterable[AuditEvent]) -> str:
    """The soak's figure for reconciliation: corrections found after reconnects and executor
    restarts, by resolution (``filled``, ``cancelled``, ``expired``, ``open``,
    ``not_received``), and how many times a restarted executor resumed its cycles.

    A correction whose detail cannot be read counts under ``?`` rather than being dropped.
    """
    by_resolution: collections.Counter[str] = collections.Counter()
    recoveries = 0
    for event in audit:
        if event.kind == RECONCILED_KIND:
            try:
                resolution = str(json.loads(event.detail).get("resolution", "?"))
            except (ValueError, AttributeError):
                resolution = "?"
            by_resolution[resolution] += 1
        elif event.kind == RECOVERED_KIND:
            recoveries += 1
    parts = ", ".join(f"{name} {count}" for name, count in sorted(by_resolution.items()))
    total = sum(by_resolution.values())
    return f"{total}{f' ({parts})' if parts else ''}; executor recoveries {recoveries}"

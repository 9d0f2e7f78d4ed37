"""Small inline SVG charts drawn on the server (no JavaScript): equity over time, and a
stat-arb pair's z-score with its signal thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from markupsafe import Markup

from arbitrade.dashboard._model import EquityPoint, ZScorePoint


def equity_svg(points: Sequence[EquityPoint], *, width: int = 360, height: int = 90) -> Markup:
    """An ``<svg>`` polyline of ``points`` scaled to fit; a note when there are fewer than two.

    The y axis spans the series' own minimum and maximum (a flat series is drawn mid-height),
    so small PnL changes stay visible. Values are converted to float for drawing only.
    """
    if len(points) < 2:
        return Markup(
            '<p class="muted chart-empty">The equity chart appears after two portfolio '
            "snapshots.</p>"
        )
    pad = 4.0
    times = [point.at_wall for point in points]
    values = [float(point.equity) for point in points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = v1 - v0
    coords = []
    for t, v in zip(times, values, strict=True):
        x = pad + (t - t0) / span_t * (width - 2 * pad)
        y = height / 2 if span_v == 0 else pad + (v1 - v) / span_v * (height - 2 * pad)
        coords.append(f"{x:.1f},{y:.1f}")
    rising = values[-1] >= values[0]
    first_x, last_x = coords[0].split(",")[0], coords[-1].split(",")[0]
    area = f"{first_x},{height - pad} {' '.join(coords)} {last_x},{height - pad}"
    label = f"Equity from {values[0]:,.2f} to {values[-1]:,.2f} (low {v0:,.2f}, high {v1:,.2f})"
    return Markup(
        '<svg class="equity {trend}" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'role="img" aria-label="{label}" preserveAspectRatio="none">'
        "<title>{label}</title>"
        '<polygon class="area" points="{area}"/>'
        '<polyline class="line" points="{line}"/>'
        "</svg>"
    ).format(
        trend="up" if rising else "down",
        w=width,
        h=height,
        label=label,
        area=area,
        line=" ".join(coords),
    )


@attrs.frozen
class ZThresholds:
    """The stat-arb signal levels drawn on a z-score chart, in z-score units (all >= 0)."""

    exit: float
    entry: float
    stop: float


def zscore_svg(
    points: Sequence[ZScorePoint],
    thresholds: ZThresholds | None = None,
    *,
    width: int = 240,
    height: int = 70,
) -> Markup:
    """An ``<svg>`` of a pair's recent z-scores around a zero line; a note below two points.

    The y axis is symmetric about zero and spans the largest ``|z|`` seen, widened to show the
    stop line when ``thresholds`` are given (then entry, exit and stop are drawn as dashed
    lines on both sides). The x axis is time, so a gap in observations shows as a long segment.
    """
    if len(points) < 2:
        return Markup(
            '<p class="muted chart-empty">The z-score chart appears after two observations.</p>'
        )
    pad = 3.0
    times = [point.at for point in points]
    values = [point.z for point in points]
    t0, t1 = times[0], times[-1]
    span_t = (t1 - t0) or 1.0
    reach = max(max(abs(v) for v in values), thresholds.stop if thresholds else 0.0, 1.0) * 1.1

    def y_of(z: float) -> float:
        return height / 2 - z / reach * (height / 2 - pad)

    coords = " ".join(
        f"{pad + (t - t0) / span_t * (width - 2 * pad):.1f},{y_of(v):.1f}"
        for t, v in zip(times, values, strict=True)
    )
    lines = [
        Markup('<line class="zero" x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}"/>').format(
            w=width, y=y_of(0.0)
        )
    ]
    if thresholds is not None:
        for kind, level in (
            ("exit", thresholds.exit),
            ("entry", thresholds.entry),
            ("stop", thresholds.stop),
        ):
            for sign in (1.0, -1.0):
                lines.append(
                    Markup(
                        '<line class="threshold {kind}" x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    ).format(kind=kind, w=width, y=y_of(sign * level))
                )
    label = (
        f"z-score from {values[0]:+.2f} to {values[-1]:+.2f} over {len(values)} observations"
        f" (low {min(values):+.2f}, high {max(values):+.2f})"
    )
    return Markup(
        '<svg class="zscore" viewBox="0 0 {w} {h}" width="100%" height="{h}" role="img" '
        'aria-label="{label}" preserveAspectRatio="none"><title>{label}</title>{lines}'
        '<polyline class="line" points="{line}"/></svg>'
    ).format(w=width, h=height, label=label, lines=Markup("").join(lines), line=coords)

"""A small inline SVG line chart of equity over time, drawn on the server (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from arbitrade.dashboard._model import EquityPoint


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

"""Inline SVG charts for the report: drawn here, so the page needs no script and no network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0891b2", "#db2777", "#65a30d")
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 56, 16, 28, 44


def _frame(title: str, body: list[str], legend: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<rect x="{LEFT + i * 130}" y="{H - 14}" width="10" height="10" fill="{color}"/>'
        f'<text x="{LEFT + 14 + i * 130}" y="{H - 5}" class="legend">{escape(name)}</text>'
        for i, (name, color) in enumerate(legend)
    )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>'
        + "".join(body)
        + items
        + "</svg>"
    )


def _axis(maximum: float, unit: str) -> list[str]:
    parts = []
    for i in range(5):
        value = maximum * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{value:.3g}{escape(unit)}</text>"
        )
    return parts


def bars(
    title: str, categories: Sequence[str], series: dict[str, Sequence[float]], unit: str = ""
) -> str:
    """Grouped bars: one group per category, one bar per series."""
    top = max((v for values in series.values() for v in values), default=0) or 1
    body = _axis(top * 1.1, unit)
    span = (W - LEFT - RIGHT) / max(len(categories), 1)
    width = span * 0.7 / max(len(series), 1)
    for s, (name, values) in enumerate(series.items()):
        for c, value in enumerate(values):
            height = (H - TOP - BOTTOM) * value / (top * 1.1)
            x = LEFT + c * span + span * 0.15 + s * width
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{H - BOTTOM - height:.1f}" '
                f'width="{width:.1f}" height="{height:.1f}" fill="{PALETTE[s % 8]}">'
                f"<title>{escape(name)} {escape(categories[c])}: {value:.4g}</title></rect>"
            )
    for c, category in enumerate(categories):
        body.append(
            f'<text x="{LEFT + c * span + span / 2:.1f}" y="{H - BOTTOM + 16}" '
            f'class="tick" text-anchor="middle">{escape(category)}</text>'
        )
    return _frame(title, body, [(n, PALETTE[i % 8]) for i, n in enumerate(series)])


def _markers(
    markers: Sequence[tuple[float, str]],
    px: Callable[[float], float],
    bottom: float,
    label_y: float,
) -> list[str]:
    """Labelled vertical dashed lines (drain, restore, deploy start) from TOP to `bottom`."""
    return [
        f'<line class="marker" x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP}" '
        f'y2="{bottom}"/><text x="{px(x) + 3:.1f}" y="{label_y}" '
        f'class="marker-label">{escape(label)}</text>'
        for x, label in markers
    ]


def lines(
    title: str,
    xs: Sequence[float],
    series: dict[str, Sequence[float | None]],
    unit: str = "",
    x_unit: str = "s",
    markers: Sequence[tuple[float, str]] = (),
) -> str:
    """Lines over x (seconds), with labelled vertical markers (drain, restore)."""
    values = [v for vals in series.values() for v in vals if v is not None]
    top = (max(values, default=0) or 1) * 1.1
    span = [*xs, *(x for x, _ in markers)]
    x0, x1 = (min(span), max(span)) if span else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1

    def px(x: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return H - BOTTOM - (H - TOP - BOTTOM) * y / top

    body = _axis(top, unit)
    for s, (_, vals) in enumerate(series.items()):
        points = " ".join(
            f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, vals, strict=False) if v is not None
        )
        if points:
            body.append(
                f'<polyline class="line" fill="none" stroke="{PALETTE[s % 8]}" '
                f'stroke-width="2" points="{points}"/>'
            )
    body += _markers(markers, px, H - BOTTOM, TOP + 10)
    for i in range(5):
        x = x0 + (x1 - x0) * i / 4
        body.append(
            f'<text x="{px(x):.1f}" y="{H - BOTTOM + 16}" class="tick" '
            f'text-anchor="middle">{x:.3g}{escape(x_unit)}</text>'
        )
    return _frame(title, body, [(n, PALETTE[i % 8]) for i, n in enumerate(series)])


STATE_COLOURS = {
    "healthy": "#10b981",
    "initial": "#93c5fd",
    "draining": "#f59e0b",
    "unused": "#cbd5e1",
    "unhealthy": "#ef4444",
    "gone": "#e5e7eb",
}
LANE = 34


def lanes(
    title: str,
    duration: float,
    rows: Sequence[
        tuple[str, Sequence[tuple[float, float, str, str]], Sequence[tuple[float, str]]]
    ],
    markers: Sequence[tuple[float, str]] = (),
) -> str:
    """A row per target over time: coloured spans by state (labelled with the build), red
    ticks where errors, losses and moves happened, and labelled vertical markers."""
    height = TOP + 14 + LANE * len(rows) + BOTTOM
    span = max(duration, 1.0)

    def px(x: float) -> float:
        return 110 + (W - 110 - RIGHT) * min(max(x, 0.0), span) / span

    body = []
    for r, (name, spans, ticks) in enumerate(rows):
        y = TOP + 14 + r * LANE
        body.append(f'<text x="4" y="{y + 15}" class="tick">{escape(name)}</text>')
        for start, end, state, label in spans:
            colour = STATE_COLOURS.get(state, "#a78bfa")
            width = max(px(end) - px(start), 1.0)
            body.append(
                f'<rect x="{px(start):.1f}" y="{y}" width="{width:.1f}" height="20" '
                f'fill="{colour}"><title>{escape(f"{name} {state} {label}")} '
                f"{start:.1f}-{end:.1f} s</title></rect>"
            )
            if width > 44 and label:
                x = px(start) + 3
                body.append(f'<text x="{x:.1f}" y="{y + 14}" class="tick">{escape(label)}</text>')
        for at, label in ticks:
            body.append(
                f'<line x1="{px(at):.1f}" x2="{px(at):.1f}" y1="{y - 3}" y2="{y + 23}" '
                f'stroke="#b91c1c" stroke-width="2"><title>{escape(label)} at {at:.1f} s'
                "</title></line>"
            )
    bottom = TOP + 14 + LANE * len(rows)
    body += _markers(markers, px, bottom, TOP + 8)
    for i in range(5):
        x = span * i / 4
        body.append(
            f'<text x="{px(x):.1f}" y="{bottom + 14}" class="tick" text-anchor="middle">'
            f"{x:.3g} s</text>"
        )
    legend = "".join(
        f'<rect x="{110 + i * 88}" y="{height - 14}" width="10" height="10" fill="{c}"/>'
        f'<text x="{124 + i * 88}" y="{height - 5}" class="legend">{s}</text>'
        for i, (s, c) in enumerate(STATE_COLOURS.items())
    )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="4" y="16" class="chart-title">{escape(title)}</text>'
        + "".join(body)
        + legend
        + "</svg>"
    )

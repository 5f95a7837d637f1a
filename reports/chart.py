"""A small trend chart of one rate, as inline SVG written on the server.

No script, no remote resource, no font of its own: a line over the last periods on a fixed scale
of 0–100% (so a small wobble is not drawn as a fall), the target as a dashed line, a dot on each
period whose rate is known and a gap where it is not, and the first and last periods named under
it. Mail clients that drop SVG (some webmails do) lose only the picture: the same rates are in
the table beside it and in the plain-text part.
"""
from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from reports.periods import ReportPeriod
from reports.render import percent

WIDTH, HEIGHT = 300, 64
TOP, BOTTOM, LEFT, RIGHT = 6, 18, 4, 4   # room for the dots, and the period names below


def sparkline(points: Sequence[tuple[ReportPeriod, float | None]], target: float, label: str,
              colour: str = "#2563eb") -> Markup:
    """The chart of `points` (period, rate), oldest first."""
    count = len(points)
    if count == 0:
        return Markup("")
    plot_height = HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (i / (count - 1) if count > 1 else 0.5)

    def y(rate: float) -> float:
        return TOP + plot_height * (1 - max(0.0, min(1.0, rate)))

    # One polyline per run of known rates: a gap where a period's rate is unknown.
    runs: list[list[tuple[float, float]]] = [[]]
    for i, (_, rate) in enumerate(points):
        if rate is None:
            runs.append([])
        else:
            runs[-1].append((x(i), y(rate)))
    lines = "".join(
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
        + " ".join(f"{px:.1f},{py:.1f}" for px, py in run) + '"/>'
        for run in runs if len(run) > 1)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(rate):.1f}" r="2.5" fill="{colour}"/>'
                   for i, (_, rate) in enumerate(points) if rate is not None)
    values = "; ".join(f"{p.short_title}: {percent(rate)}" for p, rate in points)
    description = escape(f"{label}, {count} kỳ gần nhất: {values}")
    first, last = escape(points[0][0].short_title), escape(points[-1][0].short_title)
    baseline = TOP + plot_height
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{description}" style="display:block;width:100%;max-width:{WIDTH}px;height:auto;">'
        f"<title>{description}</title>"
        f'<line x1="{LEFT}" y1="{baseline}" x2="{WIDTH - RIGHT}" y2="{baseline}" stroke="#d1d5db" stroke-width="1"/>'
        f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{WIDTH - RIGHT}" y2="{y(target):.1f}" stroke="#9ca3af" '
        f'stroke-width="1" stroke-dasharray="4 3"/>'
        f"{lines}{dots}"
        f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="11" fill="#6b7280" font-family="Arial,sans-serif">{first}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" font-size="11" fill="#6b7280" font-family="Arial,sans-serif" '
        f'text-anchor="end">{last}</text>'
        "</svg>")

"""The jinja2 environment of the reports, and how values are written in them (Vietnamese style).

HTML templates are autoescaped: every value that comes from a source (a dossier code, a
procedure name, a rule's detail) is text, never markup. Plain-text templates are not escaped,
because `&amp;` in a text mail would be wrong and text/plain runs nothing anyway.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Numbers are written one way for people everywhere, the terminal included: `2.948`, `97,4%`.
from monitor.terminal import number, percent  # noqa: F401  (filters of the templates, and imported from here)

NOT_COMPUTED = "—"


def vn_date(value: date | datetime | None) -> str:
    if value is None:
        return NOT_COMPUTED
    return f"{value:%d/%m/%Y}"


def vn_datetime(value: datetime | None) -> str:
    if value is None:
        return NOT_COMPUTED
    return f"{value:%d/%m/%Y %H:%M}"


def vnd(amount: int | None) -> str:
    if amount is None:
        return NOT_COMPUTED
    return f"{number(amount)} đ"


def bar_width(rate: float | None) -> int:
    """A rate as a whole percentage for an HTML bar's width (0 when unknown)."""
    if rate is None:
        return 0
    return max(0, min(100, round(rate * 100)))


def change(delta: float | None) -> str:
    """A rate's change since the period before, in percentage points: "+2,3 điểm", "−0,5 điểm"."""
    if delta is None:
        return NOT_COMPUTED
    points = round(delta * 100, 1)
    if points == 0:
        return "không đổi"
    sign = "+" if points > 0 else "−"
    return f"{sign}{abs(points):.1f} điểm".replace(".", ",")


@lru_cache(maxsize=1)
def environment() -> Environment:
    from reports.chart import sparkline  # the chart writes its values with this module
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",),
                                     default=True),
        undefined=StrictUndefined,  # a misspelt field fails the run instead of mailing a blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        vn_date=vn_date, vn_datetime=vn_datetime, number=number, vnd=vnd, percent=percent,
        bar_width=bar_width, change=change,
    )
    env.globals.update(sparkline=sparkline)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)

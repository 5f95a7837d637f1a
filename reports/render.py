"""The jinja2 environment of the reports, and how values are written in them (Vietnamese style).

HTML templates are autoescaped: every value that comes from a source (a dossier code, a
procedure name, a rule's detail) is text, never markup. Plain-text templates are not escaped,
because `&amp;` in a text mail would be wrong and text/plain runs nothing anyway.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

NOT_COMPUTED = "—"


def vn_date(value: date | datetime | None) -> str:
    if value is None:
        return NOT_COMPUTED
    return f"{value:%d/%m/%Y}"


def vn_datetime(value: datetime | None) -> str:
    if value is None:
        return NOT_COMPUTED
    return f"{value:%d/%m/%Y %H:%M}"


def number(value: int | None) -> str:
    """Thousands grouped with dots, as Vietnamese writes them: 1.234.567."""
    if value is None:
        return NOT_COMPUTED
    return f"{value:,}".replace(",", ".")


def vnd(amount: int | None) -> str:
    if amount is None:
        return NOT_COMPUTED
    return f"{number(amount)} đ"


def percent(rate: float | None, digits: int = 1) -> str:
    """0.9272 -> "92,7%" (decimal comma); a rate that could not be computed is a dash."""
    if rate is None:
        return NOT_COMPUTED
    return f"{rate * 100:.{digits}f}%".replace(".", ",")


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

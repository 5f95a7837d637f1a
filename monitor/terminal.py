"""What people read: numbers and dates written the Vietnamese way, text for the terminal with its
control characters shown, and the one way the commands print a table (the sync summary,
`exempt list`, `audit --format table`): rich's table, plain text, without colour or borders.

Numbers for people are written one way everywhere, the tables, the messages, the mails and the
site (reports/render.py uses these): thousands grouped with dots (`2.948`), a decimal comma
(`97,4%`), and a dash for a value that is not known (`—`), never `None`. JSON and CSV are machine
formats and keep their own (`2948`, `0.974`).

Every control character is shown as a picture: C0 and DEL as their control pictures (ESC as ␛,
so `\\x1b[31m` prints as `␛[31m`), C1 as U+FFFD (Unicode has no pictures for them). One character
stands for one, so table columns stay aligned. A table cell is shown as text, never read as rich
markup: cells carry codes and texts copied from the sources.
"""
from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

CONTROL_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
VISIBLE = CONTROL_PICTURES | {code: 0xFFFD for code in range(0x80, 0xA0)}
# Wide enough that no column is ever wrapped or cut (`--wide`, and tables written to files).
UNLIMITED = 100_000
# The width of a table for people when nothing says otherwise: an 80-column terminal.
DEFAULT_WIDTH = 80
NOT_KNOWN = "—"
GAP = 2          # spaces between two columns of a table
MIN_FLEXIBLE = 6  # a column that wraps or is cut keeps at least this many cells (or its heading)
READABLE = 24     # a wrapping column is narrowed below this only when cutting the others was not enough


# --- numbers and dates for people ----------------------------------------------------------------

def number(value: int | None) -> str:
    """2948 -> "2.948" (thousands grouped with dots, as Vietnamese writes them); None -> "—"."""
    if value is None:
        return NOT_KNOWN
    return f"{value:,}".replace(",", ".")


def percent(rate: float | None, digits: int = 1) -> str:
    """0.974 -> "97,4%" (a decimal comma); None (not computable) -> "—".

    Rounded to `digits` decimals, except at the ends: a rate below 100% never shows as "100,0%",
    nor a rate above 0% as "0,0%", so that a shown figure never says a target was met when it
    was not (0.99996 -> "99,9%", 0.00004 -> "0,1%")."""
    if rate is None:
        return NOT_KNOWN
    step = 10 ** -digits
    shown = round(rate * 100, digits)
    if shown >= 100 and rate < 1:
        shown = 100 - step
    elif shown <= 0 < rate:
        shown = step
    return f"{shown:.{digits}f}%".replace(".", ",")


def day(value: date | datetime | None) -> str:
    """A date as people write it here: 31/12/2026; None -> "—"."""
    return NOT_KNOWN if value is None else f"{value:%d/%m/%Y}"


def moment(value: datetime | None) -> str:
    """A date and time: 31/12/2026 17:00; None -> "—"."""
    return NOT_KNOWN if value is None else f"{value:%d/%m/%Y %H:%M}"


def shown(value) -> str:
    """Any cell value for people: numbers grouped, dates as days, None as "—"."""
    if value is None:
        return NOT_KNOWN
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int):
        return number(value)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return day(value)
    return str(value)


# --- the terminal --------------------------------------------------------------------------------

def terminal_text(text: str) -> str:
    """Text for the terminal, every control character visible instead of obeyed."""
    return text.translate(VISIBLE)


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_size(stream: TextIO | None = sys.stdout) -> tuple[int, int]:
    """(columns, lines) of the terminal `stream` writes to; 80 × 24 for anything that is not one.
    $COLUMNS and $LINES win, as everywhere."""
    if not is_terminal(stream):
        return DEFAULT_WIDTH, 24
    size = shutil.get_terminal_size((DEFAULT_WIDTH, 24))
    return max(size.columns, 20), max(size.lines, 5)


def render_table(headings: Sequence[str], rows: Iterable[Sequence], *, right: Iterable[int] = (),
                 width: int = UNLIMITED, wrap: Iterable[int] = (), cut: Iterable[int] = ()) -> list[str]:
    """The table as lines: the headings, a rule under them, then the rows. The columns in `right`
    (numbers) are aligned to the right, the others to the left. Cells are shown as `shown` writes
    them (None as "—").

    Within `width`: when the table is wider, the columns in `wrap` wrap onto more lines and those
    in `cut` are cut with "…", each shrunk in proportion to what it has beyond its minimum; the
    other columns keep their width. Give every column that may be long to one or the other."""
    right, flexible = set(right), {index: "fold" for index in wrap} | {index: "ellipsis" for index in cut}
    cells = [[Text(terminal_text(shown(cell))) for cell in row] for row in rows]
    titles = [Text(terminal_text(heading)) for heading in headings]
    natural = [max([cell_len(title.plain)] + [cell_len(row[i].plain) for row in cells if i < len(row)])
               for i, title in enumerate(titles)]
    widths = _fitted(natural, [cell_len(t.plain) for t in titles], flexible, width)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for index, title in enumerate(titles):
        table.add_column(title, justify="right" if index in right else "left", width=widths[index],
                         no_wrap=flexible.get(index) != "fold", overflow=flexible.get(index, "fold"))
    for row in cells:
        table.add_row(*row)
    console = Console(file=io.StringIO(), width=UNLIMITED, color_system=None, force_terminal=False,
                      legacy_windows=False, emoji=False, highlight=False)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines() if line.strip()]


def _fitted(natural: list[int], headings: list[int], flexible: dict[int, str], width: int) -> list[int]:
    """Column widths within `width`. What the table has too much is given up first by the
    wrapping columns down to READABLE cells, then by the cut columns (a code is cut last), then
    by the wrapping ones again; each column of a step in proportion to its slack."""
    widths = list(natural)
    wrapping = [i for i, how in flexible.items() if how == "fold"]
    cut = [i for i, how in flexible.items() if how == "ellipsis"]
    for columns, floor in ((wrapping, READABLE), (cut, MIN_FLEXIBLE), (wrapping, MIN_FLEXIBLE)):
        excess = sum(widths) + GAP * (len(widths) - 1) - width
        if excess <= 0:
            break
        minimum = {i: min(widths[i], max(floor, headings[i])) for i in columns}
        slack = {i: widths[i] - minimum[i] for i in columns}
        available = sum(slack.values())
        if available <= excess:
            for i in columns:
                widths[i] = minimum[i]
            continue
        given = 0
        for position, i in enumerate(sorted(columns)):
            share = excess - given if position == len(columns) - 1 else excess * slack[i] // available
            share = min(share, slack[i])
            widths[i] -= share
            given += share
    return widths


def wrapped(text: str, width: int = DEFAULT_WIDTH, indent: str = "") -> list[str]:
    """A paragraph as lines of at most `width` cells (words kept whole where they fit), control
    characters shown; the lines after the first indented by `indent`."""
    lines = Text(terminal_text(text)).wrap(Console(width=UNLIMITED, color_system=None), width - cell_len(indent))
    return [(indent if n else "") + line.plain.rstrip() for n, line in enumerate(lines)]

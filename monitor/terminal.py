"""Text for the terminal: control characters shown, never obeyed; and the one way the commands
print a table for people (the sync summary, `exempt list`, `audit --format table`): rich's
table, plain text, without colour or borders.

Every control character is shown as a picture: C0 and DEL as their control pictures (ESC as ␛,
so `\\x1b[31m` prints as `␛[31m`), C1 as U+FFFD (Unicode has no pictures for them). One character
stands for one, so table columns stay aligned. A table cell is shown as text, never read as rich
markup: cells carry codes and texts copied from the sources.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


CONTROL_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
VISIBLE = CONTROL_PICTURES | {code: 0xFFFD for code in range(0x80, 0xA0)}
# Wide enough that no column is ever wrapped or cut; a narrower width is issue 12's.
UNLIMITED = 100_000


def terminal_text(text: str) -> str:
    """Text for the terminal, every control character visible instead of obeyed."""
    return text.translate(VISIBLE)


def render_table(headings: Sequence[str], rows: Iterable[Sequence], *, right: Iterable[int] = ()) -> list[str]:
    """The table as lines: the headings, a rule under them, then the rows; the columns in `right`
    (numbers) aligned to the right, the others to the left."""
    right = set(right)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for index, heading in enumerate(headings):
        table.add_column(Text(terminal_text(heading)), justify="right" if index in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text(terminal_text("" if cell is None else str(cell))) for cell in row))
    console = Console(file=io.StringIO(), width=UNLIMITED, color_system=None, force_terminal=False,
                      legacy_windows=False)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines() if line.strip()]

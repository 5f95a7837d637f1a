"""Text from the store made safe where it leaves the monitor.

The store may hold any character: a code pasted from Word brings a vertical tab, a server may
send an escape sequence, an older store kept what the connectors now strip. Each exit has its own
rule, applied there and nowhere else, so no source text can stop a report:

- XLSX cells: the characters XML 1.0 forbids (openpyxl's own ILLEGAL_CHARACTERS_RE) are shown as
  their Unicode control pictures (a vertical tab as ␋, ESC as ␛); tab, CR and LF stay.
- the terminal: every control character is shown, never obeyed (monitor/terminal.py, which the
  connectors' sync summary uses too).
- mail headers: control characters, CR and LF included, are folded to spaces; addresses are
  `email.headerregistry.Address` objects, so the policy quotes a display name with commas or
  quotes itself.
- file names: ASCII letters, digits, dots and hyphens only, never a path separator, `..`, a
  leading dot or a control character.

CSV and JSON are machine formats and keep values exact (JSON escapes controls itself; CSV keeps
the text, behind the formula-injection guard of reports/audit_output.py).
"""
from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.utils import parseaddr

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from monitor.terminal import CONTROL_PICTURES
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
UNSAFE_IN_FILE_NAME = re.compile(r"[^0-9A-Za-z.-]+")
# A stem kept as it is: upper-case letters, digits, dots and hyphens (every real agency code).
PLAIN_STEM = re.compile(r"[0-9A-Z][0-9A-Z.-]{0,99}")


def cell_text(value):
    """A value for an XLSX cell: text without the characters XML forbids; other values unchanged."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda match: match.group().translate(CONTROL_PICTURES), value)
    return value


def header_text(text: str) -> str:
    """Text for a mail header: one line, control characters folded to single spaces."""
    return " ".join(CONTROLS.sub(" ", text).split())


def mailbox(text: str) -> Address:
    """`addr@example` or `Name <addr@example>` (from config.toml) as an address for a header."""
    name, address = parseaddr(header_text(text))
    return Address(display_name=name, addr_spec=address)


def file_name_part(text: str) -> str:
    """Any text as part of a file name; readable, but two texts may give the same part."""
    part = re.sub(r"\.{2,}", ".", UNSAFE_IN_FILE_NAME.sub("_", text)).lstrip(".-")[:80]
    return part or "_"


def distinct_file_stem(text: str) -> str:
    """A file-name stem for any text, different for different texts even on a file system that
    ignores case: a plain code is its own stem; any other text is made safe, lower-cased, and
    followed by `_` and a hash of the exact text. Plain stems have no `_` and no lower case, so
    the two kinds never meet."""
    if PLAIN_STEM.fullmatch(text) and ".." not in text:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    readable = UNSAFE_IN_FILE_NAME.sub("_", text.lower()).replace(".", "_").strip("_-")[:60]
    return f"{readable or 'x'}_{digest}"

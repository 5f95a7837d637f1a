"""Every value a connector takes from a source is checked here, before the store sees it.

A value comes back as the store must hold it, or `BadValue` rejects its record (the rest is
still read). The limits come from the models' columns, so SQLite, which would store an overlong
code silently, and PostgreSQL, which would refuse the whole batch, agree.

- Codes (MaHoSo, MaTTHC, agency codes, ...) are keys: one longer than its column, or holding a
  control character, is rejected; it cannot be repaired without making another code.
- Free text (names, ID numbers, summaries, agency names, ...) never rejects a record: control
  characters are removed (tabs and line breaks become spaces), and a text longer than a column
  with a length is cut to it. Only `dossier.applicant_id` has one (32), so only an ID number
  can be cut; widening that column on SQLite would mean rebuilding `dossier` (SQLite cannot
  alter a column), whose children cascade on delete.
- Times before 2000-01-01 or more than ten years after the sync are impossible values (a year 1
  would also overflow the audit's date arithmetic).
- Amounts must be whole, not negative, and fit their integer column.

A `BadValue` message names the field and the problem, never the value: records carry personal
data (ChuHoSo, SoGiayToChuHoSo), and these messages reach the store's error columns, the logs,
the sync summary and the mails.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger

from connectors.parsing import normalize_text

EARLIEST = datetime(2000, 1, 1)
YEARS_AHEAD = 10
# The raw input kept with a rejection: enough to see what was wrong, never a whole huge record.
RAW_LIMIT_BYTES = 64 * 1024
RAW_CUT_MARK = " …[cut at 64 KiB]"

# Line breaks, tabs and other separators become spaces in free text; other controls go.
_SPACES = {ord(c): " " for c in "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"}
_CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, line/paragraph separators


class BadValue(ValueError):
    """A value its record cannot be stored with; the message never holds the value."""


def text(value, field: str) -> str:
    """A value where text belongs, as text: a number is read as its text; true/false, a list or
    an object is a wrong type."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise BadValue(f"{field} is true/false where text belongs")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (list, dict)):
        raise BadValue(f"{field} is a {'list' if isinstance(value, list) else 'object'} where text belongs")
    raise BadValue(f"{field} is a {type(value).__name__} where text belongs")


def code(value, field: str, column, required: bool = True) -> str | None:
    """A code for `column` (a model attribute, e.g. `Dossier.code`), NFC and trimmed."""
    written = normalize_text(text(value, field))
    if not written:
        if required:
            raise BadValue(f"{field} is empty")
        return None
    # A printable text has none (isprintable is false for every category there), and is the rule.
    if not written.isprintable() and any(unicodedata.category(character) in _CONTROL_CATEGORIES
                                         for character in written):
        raise BadValue(f"{field} holds a control character")
    return fitting(written, field, column)


def fitting(written: str, field: str, column) -> str:
    """`written` when it fits `column`; a code derived from another one is checked here too."""
    limit = getattr(column.type, "length", None)
    if limit is not None and len(written) > limit:
        raise BadValue(f"{field} is {len(written)} characters long, more than the {limit} its column holds")
    return written


def free_text(value, field: str, column=None) -> str | None:
    """Free text without control characters, cut to `column`'s length if it has one; None if empty."""
    cleaned = normalize_text(clean(text(value, field)))
    limit = getattr(column.type, "length", None) if column is not None else None
    if limit is not None:
        cleaned = cleaned[:limit].rstrip()
    return cleaned or None


def clean(written: str) -> str:
    """`written` without control characters: separators become spaces, the rest is dropped."""
    if written.isprintable():
        return written
    spaced = written.translate(_SPACES)
    return "".join(_printable(character) for character in spaced)


def _printable(character: str) -> str:
    category = unicodedata.category(character)
    if category == "Cs":
        return "\ufffd"  # a lone surrogate cannot be encoded as UTF-8
    return "" if category == "Cc" else character


def moment(value: datetime | None, field: str, synced_at: datetime) -> datetime | None:
    """A time within the sane window: from 2000-01-01 to ten years after the sync."""
    if value is not None and not EARLIEST <= value <= latest(synced_at):
        raise BadValue(f"{field} is an impossible date (before {EARLIEST:%Y} or more than "
                       f"{YEARS_AHEAD} years after the sync)")
    return value


def latest(synced_at: datetime) -> datetime:
    return synced_at + timedelta(days=round(YEARS_AHEAD * 365.25))


def amount(value, field: str, column) -> int:
    """A sum of đồng: a whole number, not negative, that `column`'s integer type holds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"{field} is not a whole number of đồng")
    if value < 0:
        raise BadValue(f"{field} is negative")
    if value > _largest(column):
        raise BadValue(f"{field} is larger than the store holds")
    return value


def _largest(column) -> int:
    # PostgreSQL's integer is 32 bits (bigint 64); SQLite would take more, the stores must agree.
    return 2 ** 63 - 1 if isinstance(column.type, BigInteger) else 2 ** 31 - 1


def number_fits(value: Decimal | None, column) -> bool:
    """Whether `value` fits `column`'s NUMERIC(precision, scale) (SQLite would store any)."""
    if value is None:
        return True
    return abs(value) < Decimal(10) ** (column.type.precision - column.type.scale)


def raw(written: str) -> str:
    """Raw input as `rejected_input.raw` keeps it: at most 64 KiB of UTF-8, storable on every store."""
    encoded = written.encode("utf-8", "backslashreplace")  # lone surrogates become \\udxxx
    if len(encoded) > RAW_LIMIT_BYTES:
        return encoded[:RAW_LIMIT_BYTES].decode("utf-8", "ignore").replace("\x00", "\\x00") + RAW_CUT_MARK
    return encoded.decode("utf-8").replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL

"""Reading the texts the sources write: codes, date-times, and the catalogue's free-text fields.

The grammars are those of sources.md ("Time limit grammar", "Fee text"). Whatever does not
fit them is reported as unknown: the monitor never guesses a time limit or a fee.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal

from monitor.codes import folded
from monitor.statuses import FeeStatus
from monitor.time_limits import TimeLimit, TimeLimitKind


def normalize_text(text: str) -> str:
    """Unicode NFC (sources may send NFD), without surrounding whitespace."""
    return unicodedata.normalize("NFC", text).strip()


def strip_province_suffix(procedure_code: str) -> str:
    """The procedure code without the province suffix: the part before ``.000.``.

    ``1.001234.000.00.00.H59`` -> ``1.001234``; a code without the suffix is returned as it is.
    """
    return procedure_code.partition(".000.")[0]


_ONESTOP_DATETIME = re.compile(r"[0-9]{14}")


def parse_onestop_datetime(text: str) -> datetime | None:
    """A one-stop ``yyyyMMddHHmmss`` time; ``""`` (not set) is None."""
    if text == "":
        return None
    if isinstance(text, str) and _ONESTOP_DATETIME.fullmatch(text):
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        except ValueError:
            pass
    raise ValueError("not a yyyyMMddHHmmss date-time")


_VN_DATETIME = re.compile(
    r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})"
    r"(?:\s+(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?)?"
)


def parse_vn_datetime(text: str) -> tuple[datetime, bool]:
    """A ``dd/mm/yyyy HH:MM`` time (seconds allowed) or a bare ``dd/mm/yyyy`` date.

    Returns the value and whether the text had a time; a bare date is the start of that day.
    """
    match = _VN_DATETIME.fullmatch(normalize_text(text))
    if match is None:
        raise ValueError("not a dd/mm/yyyy [HH:MM] date")  # the text may be anything: never quoted
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    try:
        value = datetime(
            parts["year"], parts["month"], parts["day"],
            parts.get("hour", 0), parts.get("minute", 0), parts.get("second", 0),
        )
    except ValueError as error:
        raise ValueError(f"impossible date: {error}") from None
    return value, "hour" in parts


# The patterns below match folded text: NFC, lower case, single spaces.
# A number in a time limit: leading zeros allowed, a decimal comma.
_NUMBER = r"(?P<number>[0-9]+(?:,[0-9]+)?)"
# The phrase must end at a word boundary: "5 ngàyxyz" is not "5 ngày".
_END = r"(?!\w)"
_NOT_WORKING = r"(?! làm việc)"  # keeps "N ngày làm việc..." from being read as "N ngày" + commentary

_WORKING_DAYS = re.compile(rf"{_NUMBER} ngày làm việc{_END}")
_CALENDAR_DAYS = re.compile(rf"{_NUMBER} ngày{_END}{_NOT_WORKING}")
_WORKING_HOURS = re.compile(rf"{_NUMBER} giờ(?: làm việc{_END}|{_END}{_NOT_WORKING})")
_SAME_DAY = re.compile(rf"(?:ngay )?trong ngày{_END}")

_UNKNOWN_LIMIT = TimeLimit(TimeLimitKind.UNKNOWN, None)
HOURS_PER_WORKING_DAY = 8  # sources.md: a fractional N working days is N x 8 working hours


def parse_time_limit(text: str | None) -> TimeLimit:
    """A catalogue time limit (`Thời hạn giải quyết`), by the grammar of sources.md.

    The phrase must begin the text; what follows it is commentary, so a second case after it
    (``05 ngày làm việc; trường hợp phải xác minh: 10 ngày làm việc``) does not count. Anything
    outside the grammar is UNKNOWN, and so are:
    - a zero amount (``0 ngày``): no time limit is zero, so it is a typing error, not a rule;
    - a fractional number of calendar days (``1,5 ngày``), as sources.md says;
    - None, the value of a detail page without the label (callers that must tell a missing
      label from an unreadable one check for None themselves).
    """
    if text is None:
        return _UNKNOWN_LIMIT
    phrase = folded(text)
    if _SAME_DAY.match(phrase):
        return TimeLimit(TimeLimitKind.SAME_DAY, None)
    if match := _WORKING_DAYS.match(phrase):
        days = _positive_number(match)
        if days is None:
            return _UNKNOWN_LIMIT
        if _is_whole(days):
            return TimeLimit(TimeLimitKind.WORKING_DAYS, days.to_integral_value())
        return TimeLimit(TimeLimitKind.WORKING_HOURS, days * HOURS_PER_WORKING_DAY)
    if match := _CALENDAR_DAYS.match(phrase):
        days = _positive_number(match)
        if days is None or not _is_whole(days):
            return _UNKNOWN_LIMIT
        return TimeLimit(TimeLimitKind.CALENDAR_DAYS, days.to_integral_value())
    if match := _WORKING_HOURS.match(phrase):
        hours = _positive_number(match)
        return TimeLimit(TimeLimitKind.WORKING_HOURS, hours) if hours is not None else _UNKNOWN_LIMIT
    return _UNKNOWN_LIMIT


def _positive_number(match: re.Match) -> Decimal | None:
    number = Decimal(match["number"].replace(",", "."))
    return number if number > 0 else None


def _is_whole(number: Decimal) -> bool:
    return number == number.to_integral_value()


_FREE_PHRASES = frozenset({"", "không", "không thu", "miễn phí", "miễn lệ phí"})

# A positive amount with its unit: "360.000 đồng", "20.000đ", "1.500.000 VNĐ", "0,05%".
# The number must start a word, so "1.500" is not read from its "500".
_AMOUNT = re.compile(
    r"(?<![\w.,])(?P<number>[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]+(?:,[0-9]+)?)"
    rf" ?(?:(?:đồng|vnđ|vnd|đ){_END}|%)"
)


def parse_fee(text: str | None) -> FeeStatus:
    """A catalogue fee text (`Phí, lệ phí`), by the grammar of sources.md.

    Free: the whole text is one of the free phrasings (or empty), ignoring case, spaces and a
    trailing period. Fee-bearing: the text names a positive amount in đồng or a percentage.
    Anything else is UNKNOWN, and so is None, the value of a detail page without the label.
    """
    if text is None:
        return FeeStatus.UNKNOWN
    phrase = folded(text)
    if phrase.removesuffix(".").rstrip() in _FREE_PHRASES:
        return FeeStatus.FREE
    for match in _AMOUNT.finditer(phrase):
        if Decimal(match["number"].replace(".", "").replace(",", ".")) > 0:
            return FeeStatus.FEE_BEARING
    return FeeStatus.UNKNOWN


def parse_yes_no(text: str | None) -> bool | None:
    """``Có`` -> True, ``Không`` -> False (any case, NFC or NFD); anything else, or None, -> None."""
    if text is None:
        return None
    return {"có": True, "không": False}.get(folded(text))

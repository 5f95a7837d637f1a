"""A procedure's legal time limit, as the catalogue gives it (sources.md's grammar, read by
connectors.parsing). The due dates that follow from it are computed by rules.due."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class TimeLimitKind(str, Enum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    WORKING_HOURS = "working_hours"
    SAME_DAY = "same_day"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TimeLimit:
    """A procedure's legal time limit.

    `amount` is a whole number of days for WORKING_DAYS and CALENDAR_DAYS, a number of hours
    for WORKING_HOURS (fractional working days arrive here already as N x 8 hours), and None for
    SAME_DAY and UNKNOWN. A zero or negative amount is refused: it is no time limit at all.
    """

    kind: TimeLimitKind
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if self.kind in (TimeLimitKind.SAME_DAY, TimeLimitKind.UNKNOWN):
            if self.amount is not None:
                raise ValueError(f"a {self.kind.value} time limit has no amount, got {self.amount}")
        elif self.amount is None or self.amount <= 0:
            raise ValueError(f"a {self.kind.value} time limit needs a positive amount, got {self.amount}")
        elif self.kind is not TimeLimitKind.WORKING_HOURS and self.amount != int(self.amount):
            raise ValueError(f"a {self.kind.value} time limit counts whole days, got {self.amount}")

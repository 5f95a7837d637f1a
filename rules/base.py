"""What every rule is made of: its id, the inputs it needs, its parameters, and an evaluation.

A rule's evaluation is one SELECT over the store and the audit's scratch tables (rules.due),
giving one row per breach in the columns of `audit_finding`; rules.audit inserts it there, set-wise.
A rule never decides exemptions, history or output: rules.audit does that for all of them alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    Column, ColumnElement, Connection, Date, Integer, MetaData, Select, String, Table, Text, literal, null, select,
)

from monitor.calendar import WorkingCalendar
from monitor.config import RuleSettings
from monitor.models import Procedure
from monitor.sources import CATALOGUE, ONESTOP, PORTAL_LIST, book  # noqa: F401  the inputs a rule can need
from rules.workdays import WorkdayTables

# The inputs a rule can need are what the sources provide (monitor.sources). A stale source makes
# some of them unavailable (rules.stale), and a rule, or a part of one, that needs an unavailable
# input is skipped.


metadata = MetaData()

# Every finding of one audit, before exemptions and filters. One row per (rule, subject) by
# construction; indexed on them once filled (rules.audit), which is faster than a key kept up
# to date row by row.
audit_finding = Table(
    "audit_finding", metadata,
    Column("rule", String(48), nullable=False),
    Column("subject", String(80), nullable=False),  # a dossier or procedure code, as the source wrote it
    Column("agency", String(64)),
    Column("procedure", String(64)),
    Column("due_date", Date),
    Column("days_late", Integer),      # working days past the due date
    Column("reason", String(32)),      # entry.invalid
    Column("received", Date),          # the dossier's receipt date: for monitor_from and entry_rate
    Column("parts", String(200), nullable=False),  # comma-separated parts of the rule that found it
    Column("detail", Text, nullable=False),
    prefixes=["TEMPORARY"],
)


def finding(rule: str, *, subject: ColumnElement, agency: ColumnElement, detail: ColumnElement,
            procedure: ColumnElement | None = None, due_date: ColumnElement | None = None,
            days_late: ColumnElement | None = None, reason: ColumnElement | None = None,
            received: ColumnElement | None = None, parts: ColumnElement | str = "") -> list[ColumnElement]:
    """The columns of a rule's SELECT, in audit_finding's order."""
    def given(value):
        return value if value is not None else null()
    return [literal(rule, String).label("rule"), subject.label("subject"), given(agency).label("agency"),
            given(procedure).label("procedure"), given(due_date).label("due_date"),
            given(days_late).label("days_late"), given(reason).label("reason"), given(received).label("received"),
            (literal(parts, String) if isinstance(parts, str) else parts).label("parts"), detail.label("detail")]



def procedure_findings(rule: str, detail: ColumnElement) -> Select:
    """The SELECT of a rule whose subject is a catalogue procedure; the rule adds its WHERE."""
    p = Procedure.__table__
    return select(*finding(rule, subject=p.c.code, agency=p.c.agency_code, procedure=p.c.code, detail=detail))


@dataclass(frozen=True)
class AuditContext:
    """What a rule may read: the connection holding the scratch tables, T, and the settings."""
    connection: Connection
    as_of: datetime
    settings: RuleSettings
    calendar: WorkingCalendar
    workdays: WorkdayTables

    @property
    def day(self) -> date:
        return self.as_of.date()


class Rule:
    """A rule of rules.md. Subclasses set the class attributes and implement `findings`."""
    id: ClassVar[str]
    subject: ClassVar[str]                      # "dossier" or "procedure"
    needs: ClassVar[frozenset[str]]             # inputs without which the whole rule is skipped
    parameters: ClassVar[tuple[str, ...]] = ()  # keys of config [rules] it reads (defaults in RuleSettings)

    def parts(self, book_sources: tuple[str, ...]) -> dict[str, frozenset[str]]:
        """Parts that can be skipped on their own, each with the inputs it needs besides `needs`."""
        return {}

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select | None:
        """Every breach at T, as a SELECT of `finding(...)` columns; `parts` are the parts that run.
        None when there is nothing to look at (every part skipped)."""
        raise NotImplementedError

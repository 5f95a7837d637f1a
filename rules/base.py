"""What every rule is made of: a class that says everything about the rule in one place.

Its id, its Vietnamese title and "Cần làm" action for the reports, what its findings are about,
the inputs and parts it needs, its parameters (keys of config [rules]) and its evaluation.
A rule's evaluation is one SELECT over the store and the audit's scratch tables (rules.due),
giving one row per breach in the columns of `audit_finding`; rules.audit inserts it there, set-wise.
A rule never decides exemptions, history or output: rules.audit does that for all of them alike.
rules.registry finds the rules; nothing else names a rule's id.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    Column, ColumnElement, Connection, Date, Integer, MetaData, Select, String, Table, Text, literal, null, select,
)

from monitor.calendar import WorkingCalendar
from monitor.models import Procedure
from monitor.sources import (  # noqa: F401  the inputs a rule can need
    APOLOGY_LETTERS, CATALOGUE, ONESTOP, PORTAL_LIST, PROCESSING_STEPS, book, dossiers_of, fact_of,
)
from rules.workdays import WorkdayTables

# The inputs a rule can need are what the sources provide (monitor.sources). A stale source makes
# some of them unavailable (rules.stale), and a rule, or a part of one, that needs an unavailable
# input is skipped.
#
# A rule that judges one-stop dossiers (`per_source`) has a part per one-stop source (rules.registry):
# the part of source S needs S's dossiers (`dossiers_of(S)`) and the facts it reads that not every
# source carries (`dossier_facts`, as `fact_of(fact, S)`). So a stale source, or one whose dossiers
# lack a fact, skips only its own dossiers; the rule is skipped whole only when every one-stop
# source is stale. A rule about a fact only some kinds carry (`only_with_facts`: the stream's
# processing steps) has parts for those sources only, and is skipped whole when all of them are stale.


@dataclass(frozen=True)
class Parameter:
    """A key of config [rules]: its name, the kind of value it takes (int: a count of working
    days, never negative; time: HH:MM; date: ISO, empty for none) and its value when the config
    leaves it out. The config's validation accepts exactly the parameters rules.registry lists."""
    name: str
    kind: type
    default: int | time | date | None

    def value(self, given: Mapping[str, Any]) -> Any:
        """Its value among the [rules] values the config gives (Settings.rules)."""
        return given.get(self.name, self.default)


# The go-live date: dossiers received earlier give no dossier findings (rules.audit).
MONITOR_FROM = Parameter("monitor_from", date, None)

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
    """What a rule may read: the connection holding the scratch tables, T, and the values of
    config [rules] (read through `value`)."""
    connection: Connection
    as_of: datetime
    parameters: Mapping[str, Any]
    calendar: WorkingCalendar
    workdays: WorkdayTables

    @property
    def day(self) -> date:
        return self.as_of.date()

    def value(self, parameter: Parameter) -> Any:
        return parameter.value(self.parameters)


class Rule:
    """A rule of rules.md. Subclasses set the class attributes and implement `findings`; a
    subclass defined in a module of rules.registry.FAMILIES is a rule of the monitor."""
    id: ClassVar[str]
    title: ClassVar[str]                         # what a breach is, as a report's heading says it
    action: ClassVar[str]                        # "Cần làm": the next step for whoever reads the report
    urgency: ClassVar[int]                       # reports list breaches by it, the lowest (most urgent) first
    subject: ClassVar[str]                       # what a finding's subject is: "dossier" or "procedure" code
    needs: ClassVar[frozenset[str]]              # inputs without which the whole rule is skipped
    # Its subjects are one-stop dossiers (rows of audit_dossier), judged with a part per one-stop
    # source: the audit drops its findings on the dossiers of a source whose part is skipped.
    per_source: ClassVar[bool] = False
    dossier_facts: ClassVar[frozenset[str]] = frozenset()  # facts of a dossier it reads that a source may lack
    # Facts the rule is about (PROCESSING_STEPS): a one-stop source whose dossiers never carry one
    # of them has no part of the rule at all (nothing there to judge, so nothing skipped or named),
    # and the rule judges only the dossiers of the sources left (it filters on its `parts`).
    only_with_facts: ClassVar[frozenset[str]] = frozenset()
    parameters: ClassVar[tuple[Parameter, ...]] = ()  # the keys of config [rules] it reads
    shows_due_date: ClassVar[bool] = False       # its findings carry the due date (interface.md: ontime rules)
    shows_fee: ClassVar[bool] = False            # reports show the dossier's fees with its breaches
    # The figures of rules.md that cannot be computed when this rule, or a part of it, is skipped.
    figures_needing_it: ClassVar[tuple[str, ...]] = ()
    # Its findings are dossiers missing from the one-stop system: entry_rate counts them, so the
    # audit runs it even when only the figures are asked for.
    counts_as_unentered: ClassVar[bool] = False

    def parts(self, book_sources: tuple[str, ...]) -> dict[str, frozenset[str]]:
        """Parts that can be skipped on their own, each with the inputs it needs besides `needs`."""
        return {}

    def part_title(self, part: str) -> str:
        """A part as the reports name it when it is skipped (in Vietnamese)."""
        return f"phần dựa trên nguồn «{part}»"

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select | None:
        """Every breach at T, as a SELECT of `finding(...)` columns; `parts` are the parts that run.
        None when there is nothing to look at (every part skipped)."""
        raise NotImplementedError

"""One audit: every rule and figure of rules.md as of a moment T.

In order: judge the sources' staleness at `now` (the clock); decide which rules and parts run
(the parts of the one-stop sources too: a stale one, or one whose dossiers lack a fact a rule
reads, has its dossiers left out of that rule);
write the working-day tables and the dossiers as of T (rules.workdays, rules.due) into temporary
tables on one connection; let every rule write its findings into another (audit_finding); count
the figures; then apply monitor_from, the findings history (only for a complete audit at the
present moment) and the exemptions in force at T. Nothing else in the store changes.
"""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from json.encoder import encode_basestring
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import Connection, Engine, and_, delete, insert, select, text, true

from monitor.config import Settings
from monitor.models import BookRow, StreamState
from monitor.sources import BATCHES, KINDS, dossiers_of, fact_of
from monitor.statuses import FindingStatus
from rules import due, figures, history, index, process, registry
from rules.base import MONITOR_FROM, AuditContext, audit_finding, book
from rules.exemptions import Exemptions
from rules.figures import Figures
from rules.index import IndexDossier, IndexRow
from rules.sql import create_scratch, end_of
from rules.stale import StaleSource, stale_sources
from rules.workdays import WorkdayTables, calendar_of

PG_WORK_MEM = "256MB"
FETCH_BATCH = 10_000


class AuditFinding(NamedTuple):
    """One finding at T, as reports and the JSON output show it. (A named tuple: an audit builds
    hundreds of thousands, and a frozen dataclass takes seven times as long to build.)"""
    rule: str
    subject: str
    agency: str | None
    procedure: str | None
    due_date: date | None
    detail: str
    status: FindingStatus                # OPEN or EXEMPTED
    reason: str | None = None            # entry.invalid
    days_late: int | None = None         # working days past the due date at T
    first_seen: datetime | None = None   # from the findings history, when known

    @property
    def shows_due_date(self) -> bool:
        """interface.md: a finding has a due_date (null or not) only when its rule judges due dates."""
        return registry.by_id(self.rule).shows_due_date

    def to_json(self) -> dict:
        """The finding's object in interface.md's JSON."""
        return json.loads(finding_json(self))


def finding_json(finding: AuditFinding) -> str:
    """A finding as interface.md's compact JSON, written directly: a dict per finding through
    the encoder takes three times as long, and an audit has hundreds of thousands of findings."""
    f = finding
    text = (f'{{"rule":{_string(f.rule)},"subject":{_string(f.subject)},"agency":{_string(f.agency)},'
            f'"procedure":{_string(f.procedure)}')
    if f.shows_due_date:
        text += f',"due_date":{_string(f.due_date.isoformat() if f.due_date else None)}'
    text += f',"detail":{_string(f.detail)},"status":{_string(f.status)}'
    if f.reason is not None:
        text += f',"reason":{_string(f.reason)}'
    if f.days_late is not None:
        text += f',"days_late":{int(f.days_late)!r}'
    if f.first_seen is not None:
        text += f',"first_seen":{_string(f.first_seen.isoformat(timespec="seconds"))}'
    return text + "}"


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


@dataclass(frozen=True)
class AuditResult:
    as_of: datetime
    period: tuple[date, date] | None
    findings: list[AuditFinding]
    stale: list[dict]
    figures: list[Figures]
    skipped_rules: set[str]
    # The national index of the period (rules.index): None without a period, or when not asked.
    index: list[IndexRow] | None = None
    # The dossiers that cost the index points (`--index-detail`): None when not asked.
    index_detail: list[IndexDossier] | None = None
    # process.step_late summed per agency and department (rules.process): where dossiers get stuck.
    departments: list[process.DepartmentOverrun] = field(default_factory=list)

    def to_json(self) -> dict:
        """The object of interface.md (`motcua audit --format json`)."""
        return {**self.summary_json(), "findings": [f.to_json() for f in self.findings]}

    def summary_json(self) -> dict:
        """to_json() with the findings left out (an empty list in their place), for writers
        that write them in slices."""
        return {
            "as_of": self.as_of.isoformat(timespec="seconds"),
            "period": {"from": self.period[0].isoformat(), "to": self.period[1].isoformat()} if self.period else None,
            "findings": [],
            "stale": self.stale,
            "figures": [f.to_json() for f in self.figures],
            **({"index": [row.to_json() for row in self.index]} if self.index is not None else {}),
            **({"index_detail": [d.to_json() for d in self.index_detail]} if self.index_detail is not None else {}),
            # Everything skipped, stale or not (ontime.no_apology:<stream source>): sorted.
            "skipped_rules": sorted(self.skipped_rules),
        }

    @property
    def open_findings(self) -> list[AuditFinding]:
        return [f for f in self.findings if f.status == FindingStatus.OPEN]


def run_audit(engine: Engine, settings: Settings, *, as_of: datetime, now: datetime,
              period: tuple[date, date] | None = None, agency: str | None = None,
              rule: str | None = None, index_detail: bool = False) -> AuditResult:
    """The audit at T = `as_of`, staleness judged at `now`.

    With a period, T must be the end of its last day (a period's figures are as of its end), and
    the national index of the period is computed too, with the dossiers that cost it points when
    `index_detail` is asked.
    Only a complete audit at the present moment (as_of == now, no agency or rule filter) updates
    the findings history."""
    return _audit(engine, settings, as_of, now, period, agency, rule, figures_only=False,
                  index_detail=index_detail)


def audit_figures(engine: Engine, settings: Settings, *, as_of: datetime, now: datetime,
                  period: tuple[date, date] | None = None) -> AuditResult:
    """The figures of `run_audit` (and the index of a period), and its stale sources, without the
    findings (an empty list): only the rules the figures count (entry_rate's unentered dossiers)
    run, and nothing is read back. The reports need the figures of several periods a night (the
    trend)."""
    return _audit(engine, settings, as_of, now, period, None, None, figures_only=True, index_detail=False)


def _audit(engine: Engine, settings: Settings, as_of: datetime, now: datetime, period: tuple[date, date] | None,
           agency: str | None, rule: str | None, *, figures_only: bool, index_detail: bool) -> AuditResult:
    if rule is not None and rule not in registry.rule_ids():
        raise ValueError(f"unknown rule {rule!r}; the rules are: {', '.join(registry.rule_ids())}")
    if period is not None and (period[0] > period[1] or as_of != end_of(period[1])):
        raise ValueError(f"a period's audit is as of the end of its last day: {period} with as_of {as_of}")
    calendar = calendar_of(settings.calendar)
    with engine.connect() as connection:
        try:
            # Everything the audit reads comes from one state of the store, even while a sync writes.
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Hash joins and aggregates over every dossier: kept in memory, not spilled to disk.
                    connection.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
                stale = stale_sources(connection, settings.sources, now)
                book_sources = _book_sources(connection, settings)
                dossier_sources, lacking = _dossier_sources(connection, settings)
                running, skipped = registry.runnable(frozenset().union(lacking, *(s.unavailable for s in stale)),
                                                     book_sources, dossier_sources, lacking)
                workdays = WorkdayTables(connection, calendar, *due.calendar_range(connection, as_of))
                due.build(connection, workdays, as_of=as_of, working_hours=settings.calendar.working_hours,
                          same_day_cutoff=due.SAME_DAY_CUTOFF.value(settings.rules))
                context = AuditContext(connection=connection, as_of=as_of, parameters=settings.rules,
                                       calendar=calendar, workdays=workdays)
                _evaluate(context, {r: parts for r, parts in running.items()
                                    if not figures_only or registry.by_id(r).counts_as_unentered}, dossier_sources)
                counted = figures.compute(context, period, skipped, dossier_sources)
                indexed = detail = None
                if period is not None:
                    taken = frozenset().union(*(s.unavailable for s in stale))
                    indexed = index.compute(context, period, counted, unavailable=taken,
                                            dossier_sources=dossier_sources, given=settings.index)
                    if index_detail:
                        detail = index.detail(context, period, unavailable=taken, dossier_sources=dossier_sources,
                                              agency=agency)
                _drop_before_go_live(connection, MONITOR_FROM.value(settings.rules))
                departments = [] if figures_only else process.department_overruns(context, running, agency)
                exemptions = Exemptions(connection, as_of)
            findings = []
            if not figures_only:
                if connection.dialect.name == "postgresql":
                    connection.execution_options(isolation_level="READ COMMITTED")
                with connection.begin():
                    if as_of == now and agency is None and rule is None:
                        history.update_history(connection, running, skipped, now, dossier_sources)
                    findings = _findings(connection, exemptions, as_of, agency, rule)
        finally:
            # Closing the connection discards its temporary tables at once (dropping them one by
            # one costs about as much as filling them); the pool opens a new one when needed.
            connection.invalidate()
    return AuditResult(
        as_of=as_of, period=period, findings=findings,
        stale=[_stale_json(s, book_sources, dossier_sources, lacking) for s in stale],
        figures=[f for f in counted if agency is None or f.agency == agency],
        skipped_rules=set(skipped),
        index=index.agencies(indexed, agency) if indexed is not None else None,
        index_detail=detail,
        departments=departments,
    )


def _evaluate(context: AuditContext, running: dict[str, frozenset[str]], dossier_sources: tuple[str, ...]) -> None:
    """Every rule that runs writes its findings into audit_finding, set-wise; those on the
    dossiers of a one-stop source whose part of the rule is skipped are dropped again."""
    create_scratch(context.connection, audit_finding)
    columns = [c.name for c in audit_finding.columns]
    for rule in registry.rules():
        query = rule.findings(context, running[rule.id]) if rule.id in running else None
        if query is not None:
            context.connection.execute(insert(audit_finding).from_select(columns, query))
        left_out = registry.left_out_sources(rule.id, running, dossier_sources)
        if query is not None and left_out:
            context.connection.execute(delete(audit_finding).where(
                audit_finding.c.rule == rule.id,
                audit_finding.c.subject.in_(select(due.audit_dossier.c.code)
                                            .where(due.audit_dossier.c.source.in_(sorted(left_out))))))
    if context.connection.dialect.name == "sqlite":
        # SQLite has no hash join: without the index, matching each finding of the history
        # against these would read them all, every time. PostgreSQL hashes them instead.
        context.connection.execute(text("CREATE INDEX audit_finding_key ON audit_finding (rule, subject)"))
    else:
        # Temporary tables get no statistics by themselves; without them PostgreSQL takes the
        # findings for a handful when it plans their joins with the history.
        context.connection.execute(text("ANALYZE audit_finding"))


def _drop_before_go_live(connection: Connection, monitor_from: date | None) -> None:
    """rules.md: dossiers received before monitor_from give no dossier findings (the figures,
    counted before this, still count them)."""
    if monitor_from is not None:
        connection.execute(delete(audit_finding).where(audit_finding.c.received < monitor_from))


def _findings(connection: Connection, exemptions: Exemptions, as_of: datetime, agency: str | None,
              rule: str | None) -> list[AuditFinding]:
    f, seen = audit_finding, history.history
    query = (
        select(f.c.rule, f.c.subject, f.c.agency, f.c.procedure, f.c.due_date, f.c.detail, f.c.reason, f.c.days_late,
               seen.c.first_seen)
        .select_from(f.outerjoin(seen, and_(seen.c.rule == f.c.rule, seen.c.subject == f.c.subject,
                                            seen.c.first_seen <= as_of)))
        .where(f.c.agency == agency if agency is not None else true(), f.c.rule == rule if rule is not None else true())
    )
    # A province has hundreds of thousands of findings: the same rule, agency, procedure, dates
    # come back as new objects on every row, so they are shared; and the cyclic garbage
    # collector, which would run over and over while they are built, waits (none forms a cycle).
    # The rows come in batches (one fetchone per row costs as much as building the finding).
    shared: dict = {}
    share = shared.setdefault
    cover = exemptions.cover if exemptions else None
    findings = []
    with _collector_paused():
        for batch in connection.execute(query, execution_options={"yield_per": FETCH_BATCH}).partitions():
            for rule_id, subject, agency_code, procedure, due_date, detail, reason, days_late, first_seen in batch:
                status = (FindingStatus.EXEMPTED if cover is not None and cover(rule_id, subject, agency_code)
                          else FindingStatus.OPEN)
                findings.append(AuditFinding(share(rule_id, rule_id), subject, share(agency_code, agency_code),
                                             share(procedure, procedure), share(due_date, due_date), detail, status,
                                             reason, days_late, share(first_seen, first_seen)))
        # In code point order, by rule then subject. Sorted here rather than in SQL: PostgreSQL
        # would sort the wide rows, half a second more at 400,000 findings.
        findings.sort(key=attrgetter("rule", "subject"))
    return findings


@contextmanager
def _collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _book_sources(connection: Connection, settings: Settings) -> tuple[str, ...]:
    configured = {s.name for s in settings.sources if book(s.name) in s.provides}
    stored = set(connection.execute(select(BookRow.source).distinct()).scalars())
    return tuple(sorted(configured | stored))


def _dossier_sources(connection: Connection, settings: Settings) -> tuple[tuple[str, ...], frozenset[str]]:
    """The one-stop sources, each a part of the `per_source` rules, and the facts their dossiers
    lack (`fact_of` inputs, unavailable whether or not the source is stale).

    They are the configured sources that bring dossiers, and the streams that delivered some but
    are no longer configured (stream_state; a province's old system switched off after a merger
    leaves its dossiers): those lack what the kinds judged by their batches lack. A pull-API
    source no longer configured needs no part: it is never stale and lacks nothing."""
    configured = {s.name: s for s in settings.sources if dossiers_of(s.name) in s.provides}
    lacking = {fact_of(fact, name) for name, s in configured.items() for fact in s.dossiers_lack}
    named = {s.name for s in settings.sources}
    pushed = set(connection.execute(select(StreamState.source)).scalars()) - named
    pushed_lack = frozenset().union(*(kind.dossiers_lack for kind in KINDS.values() if kind.freshness == BATCHES))
    lacking |= {fact_of(fact, name) for name in pushed for fact in pushed_lack}
    return tuple(sorted(configured.keys() | pushed)), frozenset(lacking)


def _stale_json(stale: StaleSource, book_sources: tuple[str, ...], dossier_sources: tuple[str, ...],
                lacking: frozenset[str]) -> dict:
    _, skipped = registry.runnable(stale.unavailable, book_sources, dossier_sources, lacking)
    return {"source": stale.source, "kind": stale.kind,
            "last_success": stale.last_success.isoformat(timespec="seconds") if stale.last_success else None,
            "reason": stale.reason, "skipped_rules": skipped}

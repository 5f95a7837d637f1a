"""The findings history (rules.md "Findings history"): when each finding was first and last seen,
and when it was resolved.

Only a complete audit at the present moment updates it (rules.audit decides), set-wise from the
audit's findings. A finding not found again is resolved only when its rule ran and so did every
part of it that had found it: a skipped rule or part leaves its findings as they were, since a
missing source must never look like a fix. The part of a one-stop source (rules.registry) found
the findings on that source's dossiers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, exists, literal, not_, null, select, text, true, update

from monitor.db import insert_with_conflicts
from monitor.models import Dossier
from monitor.models import Finding as FindingRow
from monitor.statuses import FindingStatus
from rules.base import audit_finding

history = FindingRow.__table__


def update_history(connection: Connection, running: dict[str, frozenset[str]], skipped: list[str],
                   now: datetime, dossier_sources: tuple[str, ...] = ()) -> None:
    """Record the findings in audit_finding as seen at `now`. `running` maps every rule that ran
    to its parts that ran; `skipped` names the rules and `rule:part`s that did not; a part named
    after one of the `dossier_sources` is that one-stop source's dossiers."""
    f = audit_finding
    insert = insert_with_conflicts(connection.dialect.name)
    columns = ("rule", "subject", "agency_code", "procedure_code", "parts", "due_date", "detail",
               "first_seen", "last_seen", "resolved_at", "status")
    # (SQLite needs a WHERE before ON CONFLICT to parse an INSERT ... SELECT.)
    seen = insert(history).from_select(columns, select(
        f.c.rule, f.c.subject, f.c.agency, f.c.procedure, f.c.parts, f.c.due_date, f.c.detail,
        literal(now), literal(now), null(), literal(FindingStatus.OPEN.value)).where(true()))
    # A finding seen again keeps its first_seen, even after a spell as resolved. One key probe
    # per finding: no plan to go wrong. (An UPDATE joined to the findings is faster on a table
    # whose statistics are right, and quadratic on one that autovacuum has not analysed yet.)
    connection.execute(seen.on_conflict_do_update(
        index_elements=["rule", "subject"],
        set_={name: seen.excluded[name] for name in columns if name not in ("rule", "subject", "first_seen")}))
    if connection.dialect.name == "postgresql":
        # The history may have grown from nothing within this transaction: the next two
        # statements join it with every finding, and must be planned knowing its size.
        connection.execute(text("ANALYZE finding"))

    found_again = exists().where(f.c.rule == history.c.rule, f.c.subject == history.c.subject)
    parts = [name.split(":", 1) for name in skipped if ":" in name]
    by_source: dict[str, list[str]] = {}
    for rule, part in parts:
        if part in dossier_sources:
            by_source.setdefault(part, []).append(rule)
    left_as_they_were = [_found_by(rule, part) for rule, part in parts if part not in dossier_sources]
    left_as_they_were += [_on_dossiers_of(source, rules) for source, rules in sorted(by_source.items())]
    connection.execute(
        update(history)
        .where(history.c.status == FindingStatus.OPEN, history.c.rule.in_(sorted(running)), ~found_again,
               *(not_(condition) for condition in left_as_they_were))
        .values(status=FindingStatus.RESOLVED, resolved_at=now))


def _on_dossiers_of(source: str, rules: list[str]):
    """Findings of these `rules` on the dossiers of one-stop source `source`."""
    d = Dossier.__table__
    return and_(history.c.rule.in_(sorted(rules)),
                exists().where(d.c.code == history.c.subject, d.c.source == source))


def _found_by(rule: str, part: str):
    """Findings of `rule` that `part` of it found."""
    return and_(history.c.rule == rule, ("," + history.c.parts + ",").contains(f",{part},", autoescape=True))

"""The findings history (rules.md "Findings history"): when each finding was first and last seen,
and when it was resolved.

Only a complete audit at the present moment updates it (rules.audit decides), set-wise from the
audit's findings. A finding not found again is resolved only when its rule ran and so did every
part of it that had found it: a skipped rule or part leaves its findings as they were, since a
missing source must never look like a fix.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, exists, insert, literal, not_, select, update

from monitor.models import Finding as FindingRow
from rules.base import audit_finding

history = FindingRow.__table__


def update_history(connection: Connection, running: dict[str, frozenset[str]], skipped: list[str],
                   now: datetime) -> None:
    """Record the findings in audit_finding as seen at `now`. `running` maps every rule that ran
    to its parts that ran; `skipped` names the rules and `rule:part`s that did not."""
    f = audit_finding
    same = and_(history.c.rule == f.c.rule, history.c.subject == f.c.subject)
    # Found again: seen now, with what it says now; it keeps its first_seen, even after a spell
    # as resolved. (An UPDATE joined to the findings, then an INSERT of the new ones: on
    # PostgreSQL a third faster than one INSERT ... ON CONFLICT probing the key row by row.)
    connection.execute(update(history).where(same).values(
        agency_code=f.c.agency, procedure_code=f.c.procedure, parts=f.c.parts, due_date=f.c.due_date,
        detail=f.c.detail, last_seen=now, resolved_at=None, status="open"))
    connection.execute(insert(history).from_select(
        ["rule", "subject", "agency_code", "procedure_code", "parts", "due_date", "detail", "first_seen", "last_seen",
         "status"],
        select(f.c.rule, f.c.subject, f.c.agency, f.c.procedure, f.c.parts, f.c.due_date, f.c.detail, literal(now),
               literal(now), literal("open")).where(~exists().where(same))))

    found_again = exists().where(same)
    left_as_they_were = [_found_by(*name.split(":", 1)) for name in skipped if ":" in name]
    connection.execute(
        update(history)
        .where(history.c.status == "open", history.c.rule.in_(sorted(running)), ~found_again,
               *(not_(condition) for condition in left_as_they_were))
        .values(status="resolved", resolved_at=now))


def _found_by(rule: str, part: str):
    """Findings of `rule` that `part` of it found."""
    return and_(history.c.rule == rule, ("," + history.c.parts + ",").contains(f",{part},", autoescape=True))

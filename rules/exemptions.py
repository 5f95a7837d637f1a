"""Exemptions: an administrator's decision that a finding is not to be reported as a breach.

An exemption names a rule and either a subject (a dossier or procedure code) or a whole agency,
always with a reason and an expiry date. It is in force at T when it has not been lifted and T is
on or before the end of its expiry date; lifting withdraws it for every T (the row stays, for the
record). An exempted finding is still recorded and shown, with status "exempted".

An exemption names an agency or a subject that is in the store (rules/targets.py), so a typo is
refused with a hint instead of exempting nothing; `force` makes one ahead of the data, for a
dossier or an agency that the sources have not brought in yet.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Row, select
from sqlmodel import Session

from monitor.codes import code_key
from monitor.models import Exemption
from rules import registry
from rules.sql import end_of
from rules.targets import agency_codes, agency_hint, subject_is_known


class ExemptionError(ValueError):
    """An exemption that may not be made or lifted; the message says why (the CLI exits 2)."""


def add(session: Session, *, rule: str, subject: str | None, agency: str | None, reason: str, until: date,
        author: str, now: datetime, force: bool = False) -> Exemption:
    subject, agency = (subject or "").strip() or None, (agency or "").strip() or None
    if rule not in registry.rule_ids():
        raise ExemptionError(f"unknown rule {rule!r}; the rules are: {', '.join(registry.rule_ids())}")
    if (subject is None) == (agency is None):
        raise ExemptionError("give exactly one of a subject (a dossier or procedure code) or an agency")
    if not (reason or "").strip():
        raise ExemptionError("an exemption needs a reason")
    if until is None:
        raise ExemptionError("an exemption needs an expiry date")
    if until < now.date():
        raise ExemptionError(f"the expiry date {until.isoformat()} is already past")
    if not (author or "").strip():
        raise ExemptionError("an exemption needs an author")
    if not force:
        _require_in_store(session, subject, agency)
    exemption = Exemption(rule=rule, subject=subject, agency_code=agency, reason=reason.strip(),
                          author=author.strip(), until=until, created_at=now)
    session.add(exemption)
    session.flush()
    return exemption


def _require_in_store(session: Session, subject: str | None, agency: str | None) -> None:
    connection = session.connection()
    ahead = "(--force makes an exemption ahead of the data)"
    if subject is not None and not subject_is_known(connection, subject):
        raise ExemptionError(f"no dossier or procedure {subject!r} in the store; check the code in "
                             f"`motcua audit --format json` {ahead}")
    if agency is not None:
        # Agencies are matched as codes are (trimmed, NFC, upper case), like the exemption itself.
        known = agency_codes(connection)
        if code_key(agency) not in {code_key(code) for code in known}:
            raise ExemptionError(f"no agency {agency!r} in the store; {agency_hint(agency, known)} {ahead}")


def lift(session: Session, exemption_id: int, now: datetime) -> Exemption:
    exemption = session.get(Exemption, exemption_id)
    if exemption is None:
        raise ExemptionError(f"there is no exemption {exemption_id}")
    if exemption.lifted_at is not None:
        raise ExemptionError(f"exemption {exemption_id} was already lifted at {exemption.lifted_at.isoformat()}")
    exemption.lifted_at = now
    session.add(exemption)
    return exemption


def listing(session: Session) -> list[Exemption]:
    return list(session.execute(select(Exemption).order_by(Exemption.id)).scalars())


def state(exemption: Exemption, at: datetime) -> str:
    """"in force", "expired" or "lifted", at a moment."""
    if exemption.lifted_at is not None:
        return "lifted"
    return "in force" if at <= end_of(exemption.until) else "expired"


class Exemptions:
    """The exemptions in force at T, to look findings up in."""

    def __init__(self, connection: Connection, as_of: datetime):
        rows = connection.execute(select(Exemption.rule, Exemption.subject, Exemption.agency_code, Exemption.reason,
                                         Exemption.until).where(Exemption.lifted_at.is_(None))).all()
        in_force = [row for row in rows if as_of <= end_of(row.until)]
        # Codes are matched as rules.md matches codes across sources: trimmed, NFC, upper case.
        self.subjects = {(row.rule, code_key(row.subject)): row for row in in_force if row.subject}
        self.agencies = {(row.rule, code_key(row.agency_code)): row for row in in_force if row.agency_code}

    def __bool__(self) -> bool:
        """Whether any exemption is in force at T."""
        return bool(self.subjects or self.agencies)

    def covering(self, rule: str, subject: str, agency: str | None) -> Row | None:
        """The exemption in force (rule, subject, agency_code, reason, until) that covers the
        finding of `rule` about `subject` in `agency`."""
        if not (self.subjects or self.agencies):
            return None
        found = self.subjects.get((rule, code_key(subject)))
        if found is None and agency is not None:
            found = self.agencies.get((rule, code_key(agency)))
        return found

    def cover(self, rule: str, subject: str, agency: str | None) -> bool:
        return self.covering(rule, subject, agency) is not None

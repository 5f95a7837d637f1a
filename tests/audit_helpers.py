"""Small builders for the audit tests: rows inserted directly with the models, so that each
test states exactly the dossier a rule clause is about.

Dates are in March 2026, which has no public holiday: Monday 2 March is a working day, Saturday 7
and Sunday 8 are not.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session

from monitor.codes import code_key
from monitor.config import Settings
from monitor.kinds.onestop_api import OneStopSettings
from monitor.kinds.portal_html import PortalSettings
from monitor.kinds.tracking_book import TrackingBookSettings
from monitor.models import (
    ApologyLetter, BookRow, Dossier, Payment, PortalDossier, Procedure, SupplementRequest, SyncRun,
)
from monitor.sources import SourceSettings
from rules.audit import AuditResult, run_audit

AGENCY = "000.00.31.H59"
PROCEDURE = "1.000001"
SYNCED = datetime(2026, 3, 1, 2, 0)


def at(day: int, hour: int = 9, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A moment of March 2026 (or of another month of 2026)."""
    return datetime(2026, month, day, hour, minute, second)


def end_of_day(day: int, month: int = 3) -> datetime:
    return datetime.combine(date(2026, month, day), time(23, 59, 59))


def make_settings(sources: tuple[SourceSettings, ...] = (), **rules) -> Settings:
    return Settings(path=Path("test-config.toml"), database_url="sqlite://", rules=rules,
                    sources=sources)


ONESTOP = OneStopSettings(name="motcua", base_url="http://x", username_env="U", password_env="P")
PORTAL = PortalSettings(name="cong-dvc", base_url="http://y")
BOOK = TrackingBookSettings(name="so-theo-doi", path="/tmp/none/*")
ALL_SOURCES = (ONESTOP, PORTAL, BOOK)


class Store:
    """Writes rows for one test; `audit()` runs the audit over them."""

    def __init__(self, engine):
        self.engine = engine

    def add(self, *rows) -> None:
        with Session(self.engine) as session:
            for row in rows:  # in order: a dossier before its child rows (the foreign keys)
                session.add(row)
                session.flush()
            session.commit()

    def procedure(self, code: str = PROCEDURE, *, kind: str | None = "working_days", amount=5,
                  fee_status: str | None = "free", agency: str = AGENCY, service_level: str | None = "Toàn trình",
                  full_online_eligible: bool | None = False, online_payment: bool | None = True,
                  time_limit_text: str | None = None, fee_text: str | None = None) -> None:
        self.add(Procedure(
            code=code, name=f"Thủ tục {code}", agency_code=agency, time_limit_kind=kind,
            time_limit_amount=Decimal(str(amount)) if amount is not None else None,
            time_limit_text=time_limit_text or f"{amount} ngày làm việc", fee_text=fee_text,
            fee_status=fee_status, service_level=service_level, full_online_eligible=full_online_eligible,
            online_payment=online_payment, source="cong-dvc", synced_at=SYNCED))

    def dossier(self, code: str, received_at: datetime | None, *, status: int = 4, channel: str = "1",
                procedure: str = PROCEDURE, agency: str = AGENCY, appointment_at: datetime | None = None,
                finished_at: datetime | None = None, returned_at: datetime | None = None,
                refused_at: datetime | None = None, created_at: datetime | None = None,
                updated_at: datetime | None = None, on_portal: bool = True,
                supplements: tuple = (), apologies: tuple = (), payments: tuple = ()) -> None:
        """A one-stop dossier (listed on the portal unless on_portal=False), with its child rows:
        supplements as (requested_at, answered_at), apologies as issued_at, payments as (method, paid_at)."""
        created = created_at or received_at or at(2)
        rows = [Dossier(
            code=code, code_key=code_key(code), procedure_code=procedure, procedure_code_raw=procedure,
            agency_code=agency, channel=channel, status=status, received_at=received_at,
            appointment_at=appointment_at, finished_at=finished_at, returned_at=returned_at, refused_at=refused_at,
            created_at=created, updated_at=updated_at or finished_at or refused_at or created,
            source="motcua", synced_at=SYNCED)]
        if on_portal:
            rows.append(PortalDossier(code_key=code_key(code), code=code, procedure_code=procedure, agency_code=agency,
                                      channel=channel, submitted_at=received_at, source="cong-dvc", synced_at=SYNCED))
        rows += [SupplementRequest(dossier_code=code, seq=i, requested_at=asked, answered_at=answered)
                 for i, (asked, answered) in enumerate(supplements)]
        rows += [ApologyLetter(dossier_code=code, seq=i, issued_at=issued) for i, issued in enumerate(apologies)]
        rows += [Payment(dossier_code=code, seq=i, amount=50_000, method=method, paid_at=paid)
                 for i, (method, paid) in enumerate(payments)]
        self.add(*rows)

    def portal_row(self, code: str, submitted_at: datetime | None, *, channel: str = "2",
                   agency: str = AGENCY, procedure: str | None = PROCEDURE) -> None:
        self.add(PortalDossier(code_key=code_key(code), code=code, procedure_code=procedure, agency_code=agency,
                               channel=channel, submitted_at=submitted_at, source="cong-dvc", synced_at=SYNCED))

    def book_row(self, code: str, received_at: datetime, *, source: str = "so-theo-doi", agency: str = AGENCY,
                 has_time: bool = True, file: str = "book.xlsx", row_number: int = 7) -> None:
        self.add(BookRow(source=source, code=code, code_key=code_key(code), agency_code=agency,
                         received_at=received_at, received_has_time=has_time, file=file, row_number=row_number,
                         synced_at=SYNCED))

    def sync(self, source: SourceSettings, finished_at: datetime, *, status: str = "ok",
             error: str | None = None) -> None:
        self.add(SyncRun(source=source.name, kind=source.kind, started_at=finished_at, finished_at=finished_at,
                         status=status, error=error))

    def audit(self, as_of: datetime, *, settings: Settings | None = None, now: datetime | None = None,
              **options) -> AuditResult:
        return run_audit(self.engine, settings or make_settings(), as_of=as_of, now=now or as_of, **options)


def subjects(result: AuditResult, rule: str) -> set[str]:
    return {f.subject for f in result.findings if f.rule == rule}


def finding(result: AuditResult, rule: str, subject: str):
    matches = [f for f in result.findings if f.rule == rule and f.subject == subject]
    assert len(matches) == 1, f"{rule} {subject}: {matches}"
    return matches[0]


def province(result: AuditResult) -> dict:
    """The province's figures, as the JSON output has them."""
    return next(f.to_json() for f in result.figures if f.agency == "*")

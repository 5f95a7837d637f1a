"""The facts the stream does not carry, derived from a dossier's processing steps (sources.md,
section 4), so that every rule reads a stream dossier as it reads one of the pull API:

- entry time (`dossier.created_at`, the pull API's NgayTao): the earliest step with status 2;
  unknown while there is none;
- the last resort end date (`dossier.updated_at`, where the pull API has NgayCapNhat): the latest
  step with the dossier's own status;
- supplement requests, when `DanhSachHoSoBoSung` listed none: each status-5 step is a request
  at its time, answered at the earliest strictly later step with another status.

Recomputed, in the transaction that wrote them, for every dossier whose record or steps a batch
brought: steps may arrive before their dossier, after it, or twice. A dossier whose record is
written has its facts reset by it (no entry or end time, only its listed supplement requests),
so one without steps is left as its record wrote it.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from connectors.loader import among, chunks
from monitor.models import Dossier, ProcessingStep, StreamDossier, SupplementRequest

ENTERED, SUPPLEMENT_ASKED = 2, 5


def derive_facts(session: Session, dossier_keys: list[str]) -> None:
    d, sd, s = Dossier.__table__, StreamDossier.__table__, ProcessingStep.__table__
    for keys in chunks(dossier_keys):
        steps: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
        for step in session.execute(select(s.c.dossier_key, s.c.acted_at, s.c.status)
                                    .where(among(s.c.dossier_key, keys))
                                    .order_by(s.c.dossier_key, s.c.acted_at)):
            steps[step.dossier_key].append((step.acted_at, step.status))
        if not steps:
            # Nothing to derive: a dossier whose record this transaction wrote whole has its
            # entry and end times unknown and its listed requests only, as without steps.
            continue
        dossiers = session.execute(
            select(d.c.code, d.c.code_key, d.c.status, sd.c.supplements_listed)
            .join(sd, sd.c.code == d.c.code).where(among(d.c.code_key, list(steps)))).all()
        if not dossiers:
            continue
        session.execute(update(d).where(d.c.code == bindparam("key")), [
            {"key": row.code, "created_at": entry_time(steps[row.code_key]),
             "updated_at": last_time_at(steps[row.code_key], row.status)} for row in dossiers])
        derived = [row for row in dossiers if not row.supplements_listed]
        if derived:
            session.execute(delete(SupplementRequest.__table__)
                            .where(among(SupplementRequest.__table__.c.dossier_code, [row.code for row in derived])))
            requests = [{"dossier_code": row.code, "seq": seq, "requested_at": asked, "answered_at": answered}
                        for row in derived
                        for seq, (asked, answered) in enumerate(supplement_requests(steps[row.code_key]), start=1)]
            if requests:
                session.execute(insert(SupplementRequest.__table__), requests)


def entry_time(steps: list[tuple[datetime, int]]) -> datetime | None:
    return min((at for at, status in steps if status == ENTERED), default=None)


def last_time_at(steps: list[tuple[datetime, int]], status: int) -> datetime | None:
    return max((at for at, step_status in steps if step_status == status), default=None)


def supplement_requests(steps: list[tuple[datetime, int]]) -> list[tuple[datetime, datetime | None]]:
    """(asked, answered) of each status-5 step, `steps` in time order."""
    return [(asked, next((at for at, status in steps if at > asked and status != SUPPLEMENT_ASKED), None))
            for asked, status in steps if status == SUPPLEMENT_ASKED]

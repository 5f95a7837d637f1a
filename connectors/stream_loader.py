"""Writing the national sync stream into the store: one request body, one transaction.

Shared by `motcua receive` (connectors.receiver), which answers the sender only once its batch is
committed, and by `motcua sync` reading captured bodies from files (connectors.stream_files).

What sources.md (section 4) asks of a receiver, and where it is done here:
- a dossier is an insert-or-update by its code key; an update keeps the code as first written;
- a batch sent twice changes nothing; a step sent twice is stored once (its identity);
- a dossier never moves back: an unresolved version does not replace a resolved one
  (rejected as `stale_update`);
- a code another source holds is never merged (rejected as `duplicate_code`);
- steps may come before their dossier: the facts derived from steps are recomputed for every
  dossier a batch touches, dossiers and steps alike (connectors.stream_facts);
- a record that fails validation is rejected alone, with its reason, and kept as rejected input;
- a store that cannot be reached (or is busy) fails the whole batch, never a record: it is
  raised as it came, for the receiver to answer HTTP 503 and the sender to send it again.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlmodel import Session

from connectors import validation as check
from connectors.base import Rejection, Rows
from connectors.loader import DUPLICATE_CODE, LoadCounts, among, chunks, replace_children
from connectors.stream_facts import derive_facts
from connectors.stream_records import StreamDossierRows, dossier_rows, record_code, step_row
from connectors.validation import BadValue
from monitor.db import session_scope, upsert
from monitor.models import (Dossier, Fee, ProcessingStep, RejectedInput, ResultDocument, StreamDossier,
                            StreamState, SubmittedFile, SupplementRequest)

DOSSIERS, STEPS = "DongBoHoSoMC", "CapNhatTienDoHoSoMC"
RESOLVED = frozenset({3, 7, 8, 9, 10})
CHILDREN = (SupplementRequest, Fee, ResultDocument, SubmittedFile)
STALE_UPDATE = "stale_update"
# Not what the sender sent: when it was written, and the facts derived from the steps.
UNCOMPARED = frozenset({"synced_at", "created_at", "updated_at"})

log = logging.getLogger(__name__)


@dataclass
class StreamBatch:
    """One request body: its service, the body's agency code (`madonvi`), its records. `where`
    names it in rejections (a file and line; empty for the receiver). The loader fills
    `rejected` with the records it did not take."""
    service: str
    records: list
    agency: str | None = None
    where: str = ""
    bookkeeping: list[Rows] = field(default_factory=list)   # the file read, saved with its records
    rejected: list[Rejection] = field(default_factory=list)
    refused: list[tuple[str | None, str]] = field(default_factory=list)  # (MaHoSo, reason), for the answer
    notices: list[str] = field(default_factory=list)
    expected: int | None = None
    position: tuple[int, int] | None = None                 # (files read, files in all), for the progress


class StreamLoader:
    """Loads the bodies of one source; `run_id` is the sync run's, or None for the receiver."""

    def __init__(self, engine: Engine, source: str, run_id: int | None, clock: Callable[[], datetime]):
        self.engine = engine
        self.source = source
        self.run_id = run_id
        self.clock = clock
        self.counts = LoadCounts()

    def load(self, batch: StreamBatch) -> None:
        synced_at = self.clock()
        if batch.service == DOSSIERS:
            rows = self._parse(batch, lambda r: dossier_rows(r, batch.agency, self.source, synced_at))
            write = self._write_dossiers
        elif batch.service == STEPS:
            rows = self._parse(batch, lambda r: step_row(r, self.source, synced_at))
            write = self._write_steps
        else:
            raise ValueError(f"unknown service {batch.service!r}")
        parsed = (len(batch.rejected), len(batch.refused), replace(self.counts))
        try:
            with session_scope(self.engine) as session:
                write(session, batch, rows, synced_at)
                self._finish(session, batch, len(rows), synced_at)
        except StatementError as exc:
            if store_unreachable(exc):
                raise
            # The store refused something validation let through: each record alone, so the
            # refused ones are named and the others kept.
            log.warning("%s: the store refused a batch (%s); writing its records one by one",
                        self.source, type(exc).__name__)
            del batch.rejected[parsed[0]:], batch.refused[parsed[1]:]
            self.counts = parsed[2]
            self._one_by_one(batch, rows, write, synced_at)

    def _one_by_one(self, batch: StreamBatch, rows: list, write, synced_at: datetime) -> None:
        for row in rows:
            try:
                with session_scope(self.engine) as session:
                    write(session, batch, [row], synced_at)
            except StatementError as exc:
                if store_unreachable(exc):
                    raise
                code = row.dossier["code"] if isinstance(row, StreamDossierRows) else row["dossier_key"]
                self._reject(batch, code, f"the store refused the record: {type(exc).__name__}", row)
        with session_scope(self.engine) as session:
            self._finish(session, batch, len(rows), synced_at)

    def _parse(self, batch: StreamBatch, read: Callable) -> list:
        rows = []
        for number, record in enumerate(batch.records, start=1):
            try:
                rows.append(read(record))
            except BadValue as exc:
                self._reject(batch, record_code(record), str(exc), record, number)
        return rows

    def _reject(self, batch: StreamBatch, code: str | None, reason: str, record, number: int | None = None) -> None:
        where = f"{batch.where} " if batch.where else ""
        place = f"MaHoSo {code}" if code else f"record {number} (no usable code)"
        raw = record if not isinstance(record, StreamDossierRows) else record.dossier
        batch.rejected.append(Rejection(f"{where}{batch.service} {place}", reason,
                                        check.raw(json.dumps(raw, ensure_ascii=False, default=str))))
        batch.refused.append((code, reason))

    # --- dossiers ---------------------------------------------------------------------------------

    def _write_dossiers(self, session: Session, batch: StreamBatch, rows: list[StreamDossierRows],
                        synced_at: datetime) -> None:
        # The last version of each code in the batch counts, as if sent one after another.
        latest = list({row.dossier["code_key"]: row for row in rows}.values())
        stored = _stored(session, [row.dossier["code_key"] for row in latest])
        kept = []
        for row in latest:
            before = stored.get(row.dossier["code_key"])
            reason = self._refusal(row, before)
            if reason:
                self._reject(batch, row.dossier["code"], reason, row)
                continue
            if before is not None and before.code != row.dossier["code"]:
                _rename(row, before.code)   # the code as first written stays the key
            kept.append(row)
        self._count(kept, stored)
        if not kept:
            return
        upsert(session, Dossier, [row.dossier for row in kept], ("code",))
        upsert(session, StreamDossier, [row.stream for row in kept], ("code",))
        # Only a dossier stored before can have children to replace (they hang on its row).
        replace_children(session, [Rows(table, ("dossier_code", "seq"),
                                        [child for row in kept for child in row.children[table]])
                                   for table in CHILDREN],
                         [row.dossier["code"] for row in kept if row.dossier["code_key"] in stored])
        derive_facts(session, [row.dossier["code_key"] for row in kept])

    def _refusal(self, row: StreamDossierRows, before) -> str | None:
        if before is None:
            return None
        if before.source != self.source:
            return f"{DUPLICATE_CODE}: the code is already held by source {before.source}"
        if before.status in RESOLVED and row.dossier["status"] not in RESOLVED:
            return (f"{STALE_UPDATE}: status {row.dossier['status']} would replace the resolved status "
                    f"{before.status} stored")
        return None

    def _count(self, kept: list[StreamDossierRows], stored: dict) -> None:
        for row in kept:
            self.counts.read += 1
            before = stored.get(row.dossier["code_key"])
            if before is None:
                self.counts.inserted += 1
            elif any(getattr(before, name) != value for name, value in row.dossier.items() if name not in UNCOMPARED):
                self.counts.updated += 1

    # --- steps --------------------------------------------------------------------------------------

    def _write_steps(self, session: Session, batch: StreamBatch, rows: list[dict], synced_at: datetime) -> None:
        steps = list({row["identity"]: row for row in rows}.values())
        known = set()
        for chunk in chunks([row["identity"] for row in steps]):
            known |= set(session.scalars(select(ProcessingStep.identity).where(among(ProcessingStep.identity, chunk))))
        new = [row for row in steps if row["identity"] not in known]
        self.counts.read += len(steps)
        self.counts.inserted += len(new)
        if new:
            upsert(session, ProcessingStep, new, ("identity",), update=[])
            derive_facts(session, sorted({row["dossier_key"] for row in new}))

    # --- every batch ------------------------------------------------------------------------------

    def _finish(self, session: Session, batch: StreamBatch, records: int, synced_at: datetime) -> None:
        """The batch's rejections, its bookkeeping, and the time the source last had one accepted."""
        for state in batch.bookkeeping:
            upsert(session, state.table, state.rows, state.key)
        if batch.rejected:
            session.execute(insert(RejectedInput), [
                {"run_id": self.run_id, "source": self.source, "location": r.location, "reason": r.reason,
                 "raw": r.raw, "created_at": synced_at} for r in batch.rejected])
        self.counts.rejected += len(batch.rejected)
        if not batch.records:
            return
        state = session.get(StreamState, self.source)
        if state is None:
            session.add(StreamState(source=self.source, last_batch_at=synced_at, batches=1, records=records))
        else:
            state.last_batch_at, state.batches, state.records = synced_at, state.batches + 1, state.records + records


def store_unreachable(exc: BaseException) -> bool:
    """The store could not be reached, lost the connection, or is busy (SQLite locked, unable to
    open its file): nothing a record did, so no record is refused for it."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _stored(session: Session, keys: list[str]) -> dict:
    found = {}
    d = Dossier.__table__
    for chunk in chunks(keys):
        for row in session.execute(select(d).where(among(d.c.code_key, chunk))):
            found[row.code_key] = row
    return found


def _rename(row: StreamDossierRows, code: str) -> None:
    row.dossier["code"] = row.stream["code"] = code
    for children in row.children.values():
        for child in children:
            child["dossier_code"] = code

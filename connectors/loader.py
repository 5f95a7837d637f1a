"""Writing batches into the store, shared by every connector.

Each batch is one transaction: its records upserted in bulk on their natural key, their child
rows replaced set-wise, its rejected input, the connector's bookkeeping and the source's cursor.
The cursor is committed with the rows it covers, so a run killed at any moment leaves the store
where the last committed batch left it, and the next run resumes from there.

A record whose key another source holds (a dossier code of another one-stop source, when the
batch says so: Batch.held) is rejected with reason `duplicate_code`, never merged nor
overwritten; the rest of the batch is stored.

The connectors check every value before a batch gets here (connectors.validation). Should the
store still refuse a record, the batch is not lost with it: each record is tried in turn, after
the ones kept, in a transaction that is rolled back, and the batch is written again without the
refused ones, which become rejections whose reason names only the exception's class.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice

from sqlalchemy import Engine, bindparam, delete, insert, select
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from connectors import validation
from connectors.base import Batch, HeldKey, Prune, Rejection, Rows
from monitor.db import session_scope, upsert
from monitor.models import BookFile, RejectedInput, SyncCursor

# Columns that say when a row was written, not what the source holds: they don't make an update.
STAMPS = frozenset({"synced_at"})
# Keys per IN (...) list: well under every SQLite build's limit on bound parameters.
IN_CHUNK = 500
DUPLICATE_CODE = "duplicate_code"

log = logging.getLogger(__name__)


@dataclass
class LoadCounts:
    read: int = 0        # records read, each counted once per run
    inserted: int = 0    # records new to the store
    updated: int = 0     # records the store held with other values
    rejected: int = 0    # input refused, stored in rejected_input


class Loader:
    """Loads the batches of one run of one source."""

    def __init__(self, engine: Engine, source: str, run_id: int, clock: Callable[[], datetime]):
        self.engine = engine
        self.source = source
        self.run_id = run_id
        self.clock = clock
        self.counts = LoadCounts()
        self._seen: set[tuple] = set()

    def load(self, batch: Batch) -> None:
        try:
            held = self._write(batch)
        except StatementError:
            log.warning("%s: the store refused a batch; trying its %d records one by one",
                        self.source, len(batch.records.rows))
            without, held = self._without_refused(batch)
            self._write(without)
        batch.rejected.extend(held)  # the sync's summary lists them with the batch's other rejections

    def _without_refused(self, batch: Batch) -> tuple[Batch, list[Rejection]]:
        """The batch without the records the store refuses, which become its rejections, nor those
        another source holds (returned too)."""
        records = batch.records
        kept, refused, held = [], [], []
        # One probe transaction, rolled back (only the whole batch is committed), in which the
        # records kept so far stay written: two new records the store refuses together (one
        # code_key written two ways) are told apart, the later one refused. (No savepoints:
        # SQLite's driver would commit a probe on releasing one.)
        with Session(self.engine) as session:
            try:
                rows, held = self._held_elsewhere(session, batch, _last_of_each(records.rows, records.key))
                for row in rows:
                    try:
                        self._write_rows(session, batch, [row])
                    except StatementError as exc:
                        session.rollback()
                        location = f"{records.table.__tablename__} {' '.join(map(str, _key_of(row, records.key)))}"
                        log.warning("%s: the store refused %s (%s)", self.source, location, type(exc).__name__)
                        refused.append(Rejection(location, f"the store refused the record: {type(exc).__name__}",
                                                 validation.raw(json.dumps(row, ensure_ascii=False, default=str))))
                        if kept:
                            self._write_rows(session, batch, kept)
                    else:
                        kept.append(row)
            finally:
                session.rollback()
        return replace(batch, records=replace(records, rows=kept), rejected=batch.rejected + held + refused), held

    def _write(self, batch: Batch) -> list[Rejection]:
        """The batch in one transaction; returns the rejections of records another source holds."""
        records = batch.records
        with session_scope(self.engine) as session:
            rows, held = self._held_elsewhere(session, batch, _last_of_each(records.rows, records.key))
            rejected = batch.rejected + held
            before = _existing(session, records, rows)
            self._write_rows(session, batch, rows)
            for state in batch.bookkeeping:
                upsert(session, state.table, state.rows, state.key, update=_columns(state.rows, state.key))
            for prune in batch.prunes:
                _prune(session, prune)
            if rejected:
                now = self.clock()
                session.execute(insert(RejectedInput), [
                    {"run_id": self.run_id, "source": self.source, "location": rejection.location,
                     "reason": rejection.reason, "raw": rejection.raw, "created_at": now}
                    for rejection in rejected])
            if batch.cursor is not None:
                upsert(session, SyncCursor, [{"source": self.source, "cursor": batch.cursor,
                                              "updated_at": self.clock()}], ("source",))
        self._count(records, rows, before, len(rejected))
        return held

    def _held_elsewhere(self, session: Session, batch: Batch, rows: list[dict]) -> tuple[list[dict], list[Rejection]]:
        """`rows` less those whose key another source holds (batch.held), and their rejections.
        Read in the transaction that writes the rows."""
        held: HeldKey | None = batch.held
        if held is None or not rows:
            return rows, []
        table = batch.records.table.__table__
        holders: dict = {}
        for chunk in chunks(list({row[held.column] for row in rows})):
            holders.update((key, source) for key, source in session.execute(
                select(table.c[held.column], table.c.source)
                .where(among(table.c[held.column], chunk), table.c.source != self.source)))
        kept, rejected = [], []
        for row in rows:
            holder = holders.get(row[held.column])
            if holder is None:
                kept.append(row)
                continue
            log.debug("%s: %s %s is already held by source %s: rejected", self.source, held.label, row[held.shown], holder)
            rejected.append(Rejection(f"{held.label} {row[held.shown]}",
                                      f"{DUPLICATE_CODE}: the code is already held by source {holder}",
                                      validation.raw(json.dumps(row, ensure_ascii=False, default=str))))
        return kept, rejected

    @staticmethod
    def _write_rows(session: Session, batch: Batch, rows: list[dict]) -> None:
        """The batch's records (these `rows` of them) and their children."""
        records = batch.records
        if batch.replaces is not None:
            table = records.table.__table__
            session.execute(delete(table).where(*(table.c[name] == value for name, value in batch.replaces.items())))
        if rows:
            upsert(session, records.table, rows, records.key, update=_columns(rows, records.key))
        parents = [row[records.key[0]] for row in rows]
        written = set(parents)
        replace_children(session, [replace(child, rows=[r for r in child.rows if r[child.key[0]] in written])
                                    for child in batch.children], parents)

    def _count(self, records: Rows, rows: list[dict], before: dict[tuple, dict], rejected: int) -> None:
        for row in rows:
            key = _key_of(row, records.key)
            seen_key = (records.table.__tablename__, *key)
            if seen_key not in self._seen:
                self._seen.add(seen_key)
                self.counts.read += 1
            old = before.get(key)
            if old is None:
                self.counts.inserted += 1
            elif any(old[name] != value for name, value in row.items() if name not in STAMPS):
                self.counts.updated += 1
        self.counts.rejected += rejected


def read_cursor(engine: Engine, source: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(SyncCursor.cursor).where(SyncCursor.source == source))


def read_book_files(engine: Engine, source: str) -> dict[str, BookFile]:
    with Session(engine) as session:
        return {book.path: book for book in session.scalars(select(BookFile).where(BookFile.source == source))}


def _key_of(row: dict, key: tuple[str, ...]) -> tuple:
    return tuple(row[name] for name in key)


def _last_of_each(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """One row per key, the last one read: PostgreSQL refuses to upsert a key twice in one statement."""
    return list({_key_of(row, key): row for row in rows}.values())


def _columns(rows: list[dict], key: tuple[str, ...]) -> list[str]:
    """The columns an upsert overwrites: those the rows carry, but the key (never a generated id)."""
    return [name for name in rows[0] if name not in key] if rows else []


def chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def among(column, values: list):
    """`column IN (values)`, the values written into the SQL rather than bound one by one:
    PostgreSQL hashes such a list, so the test stays fast even where it scans a table (as it
    does before the table's first ANALYZE), instead of comparing each row with every value."""
    return column.in_(bindparam(f"{column.name}_values", values, expanding=True, literal_execute=True))


def _existing(session: Session, records: Rows, rows: list[dict]) -> dict[tuple, dict]:
    """The stored rows with the batch's keys, to tell inserts from updates from unchanged rows.

    The key columns but the last hold one value across a batch (a book row's source): they are
    compared with `=`, so that the index on the key serves the lookup."""
    if not rows:
        return {}
    table = records.table.__table__
    *shared, last = records.key
    if any(row[name] != rows[0][name] for row in rows for name in shared):
        raise ValueError(f"a batch of {table.name} rows differs in key columns {shared}")
    same = [table.c[name] == rows[0][name] for name in shared]
    found: dict[tuple, dict] = {}
    for chunk in chunks([row[last] for row in rows]):
        for stored in session.execute(select(table).where(*same, among(table.c[last], chunk))).mappings():
            found[_key_of(stored, records.key)] = dict(stored)
    return found


def _prune(session: Session, prune: Prune) -> None:
    table = prune.table.__table__
    column = table.c[prune.column]
    # The kept values are written into the SQL (a NOT IN cannot be split into chunks).
    kept = bindparam(f"{column.name}_kept", sorted(prune.keep), expanding=True, literal_execute=True)
    session.execute(delete(table).where(*(table.c[name] == value for name, value in prune.where.items()),
                                        column.not_in(kept)))


def replace_children(session: Session, children: list[Rows], parents: list) -> None:
    for child in children:
        table = child.table.__table__
        parent = table.c[child.key[0]]
        for chunk in chunks(parents):
            session.execute(delete(table).where(among(parent, chunk)))
        if child.rows:
            upsert(session, table, _last_of_each(child.rows, child.key), child.key)

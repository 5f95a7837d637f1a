"""Which sources are stale at `now` (the clock, not T), and which inputs that takes away.

rules.md "When a source is stale": a source is stale when its latest sync failed, when it never
synced successfully, or when its last successful sync is older than its `max_age_hours`. A
source that pushes batches (a stream, sources.md section 4: `freshness` BATCHES) has no complete
read: it is stale when no batch has been accepted for `max_age_hours` (StreamState), when it
never had one, or when the last read of its files (a sync run, for a stream with a file glob)
failed. Only configured sources are judged. A stale source takes away the inputs its kind
declares (monitor.sources: `unavailable`): a one-stop source (pull API or stream) all the one-stop
data as a whole and its own dossiers; a portal that never synced the catalogue and its dossier
list, one that synced before only its dossier list; a tracking book its own rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from monitor.models import StreamState, SyncRun
from monitor.sources import BATCHES, SourceSettings
from monitor.statuses import RunStatus


@dataclass(frozen=True)
class StaleSource:
    source: str
    kind: str
    last_success: datetime | None    # the last successful sync, or for a stream its last batch accepted
    reason: str
    unavailable: frozenset[str]      # the inputs this source's staleness takes away


def stale_sources(connection: Connection, sources: tuple[SourceSettings, ...], now: datetime) -> list[StaleSource]:
    return [stale for source in sources if (stale := _judge(connection, source, now)) is not None]


def _judge(connection: Connection, source: SourceSettings, now: datetime) -> StaleSource | None:
    judge = _judge_batches if source.freshness == BATCHES else _judge_syncs
    found = judge(connection, source, now)
    if found is None:
        return None
    reason, last_success = found
    return StaleSource(source=source.name, kind=source.kind, last_success=last_success, reason=reason,
                       unavailable=source.unavailable(ever_synced=last_success is not None))


def _latest_failure(connection: Connection, source: SourceSettings, now: datetime) -> str | None:
    """The error of the source's latest sync when that failed, else None."""
    runs = SyncRun.__table__
    # A run still going says nothing yet; runs stamped after `now` have not happened at `now`.
    latest = connection.execute(
        select(runs.c.status, runs.c.error)
        .where(runs.c.source == source.name, runs.c.status != RunStatus.RUNNING, runs.c.started_at <= now)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(1)
    ).first()
    if latest is not None and latest.status != RunStatus.OK:
        return latest.error or "the latest sync failed"
    return None


def _judge_syncs(connection: Connection, source: SourceSettings, now: datetime) -> tuple[str, datetime | None] | None:
    runs = SyncRun.__table__
    last_success = connection.execute(
        select(func.max(runs.c.finished_at))
        .where(runs.c.source == source.name, runs.c.status == RunStatus.OK, runs.c.finished_at <= now)
    ).scalar()
    if (failure := _latest_failure(connection, source, now)) is not None:
        return failure, last_success
    if last_success is None:
        return "never synced successfully", None
    if now - last_success > timedelta(hours=source.max_age_hours):
        return f"the last successful sync is older than {source.max_age_hours:g} hours", last_success
    return None


def _judge_batches(connection: Connection, source: SourceSettings, now: datetime) -> tuple[str, datetime | None] | None:
    """A stream: its last batch accepted (by the receiver or from its files), and its file read."""
    last_batch = connection.execute(
        select(StreamState.__table__.c.last_batch_at).where(StreamState.__table__.c.source == source.name)
    ).scalar()
    if source.read_by_sync and (failure := _latest_failure(connection, source, now)) is not None:
        return failure, last_batch
    if last_batch is None:
        return "never received a batch", None
    # Only the latest batch is recorded: one stamped after `now` (clock skew) shows a live sender.
    if now - last_batch > timedelta(hours=source.max_age_hours):
        return f"no batch accepted for more than {source.max_age_hours:g} hours", last_batch
    return None

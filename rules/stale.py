"""Which sources are stale at `now` (the clock, not T), and which inputs that takes away.

rules.md "When a source is stale": a source is stale when its latest sync failed, when it never
synced successfully, or when its last successful sync is older than its `max_age_hours`. Only
configured sources are judged. A stale source takes away the inputs its kind declares
(monitor.sources: `unavailable`): the one-stop system all dossier data; a portal that never
synced the catalogue and its dossier list, one that synced before only its dossier list; a
tracking book its own rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from monitor.models import SyncRun
from monitor.sources import SourceSettings
from monitor.statuses import RunStatus


@dataclass(frozen=True)
class StaleSource:
    source: str
    kind: str
    last_success: datetime | None
    reason: str
    unavailable: frozenset[str]      # the inputs this source's staleness takes away


def stale_sources(connection: Connection, sources: tuple[SourceSettings, ...], now: datetime) -> list[StaleSource]:
    return [stale for source in sources if (stale := _judge(connection, source, now)) is not None]


def _judge(connection: Connection, source: SourceSettings, now: datetime) -> StaleSource | None:
    runs = SyncRun.__table__
    # A run still going says nothing yet; runs stamped after `now` have not happened at `now`.
    latest = connection.execute(
        select(runs.c.status, runs.c.error)
        .where(runs.c.source == source.name, runs.c.status != RunStatus.RUNNING, runs.c.started_at <= now)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(1)
    ).first()
    last_success = connection.execute(
        select(func.max(runs.c.finished_at))
        .where(runs.c.source == source.name, runs.c.status == RunStatus.OK, runs.c.finished_at <= now)
    ).scalar()
    if latest is not None and latest.status != RunStatus.OK:
        reason = latest.error or "the latest sync failed"
    elif last_success is None:
        reason = "never synced successfully"
    elif now - last_success > timedelta(hours=source.max_age_hours):
        reason = f"the last successful sync is older than {source.max_age_hours:g} hours"
    else:
        return None
    return StaleSource(source=source.name, kind=source.kind, last_success=last_success, reason=reason,
                       unavailable=source.unavailable(ever_synced=last_success is not None))

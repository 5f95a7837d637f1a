"""`motcua sync`: each configured source read into the store, with a run record per source.

A source's sync succeeds only when its connector read all of it; what was read before a failure
is kept, but the run is recorded as failed, and that is what the audit reads to call a source
stale (rules.md, "When a source is stale"). A failed source does not stop the others. A run
that never finished (the process was killed) is recorded as failed by the next sync.
"""
from __future__ import annotations

import logging
import pkgutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from sqlalchemy import Engine, update

from connectors.base import Connector, Rejection, SourceError, SyncStart
from connectors.loader import LoadCounts, Loader
from monitor.config import ConfigError, Settings
from monitor.db import session_scope
from monitor.models import SyncRun
from monitor.sources import SourceSettings
from monitor.statuses import INTERRUPTED, RunStatus
from monitor.terminal import render_table

log = logging.getLogger(__name__)

CLEAR_LINE = "\r\x1b[K"  # back to the start of the terminal's line, and clear it
SHOWN_PER_SOURCE = 20  # rejections and notices the summary lists per source; the store keeps all


@dataclass
class SourceOutcome:
    """How the sync of one source went: what its SyncRun records, and what the summary shows."""
    source: str
    kind: str
    run_id: int
    started_at: datetime
    finished_at: datetime | None = None
    status: str = RunStatus.RUNNING
    counts: LoadCounts = field(default_factory=LoadCounts)
    error: str | None = None
    rejected: list[Rejection] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


class Progress(Protocol):
    def started(self, source: SourceSettings) -> None: ...
    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None) -> None: ...
    def finished(self, outcome: SourceOutcome) -> None: ...


def sync_sources(engine: Engine, settings: Settings, clock: Callable[[], datetime],
                 only: str | None = None, progress: Progress | None = None) -> list[SourceOutcome]:
    """Sync every configured source (or the one named `only`), one after the other."""
    sources = [settings.source(only)] if only else list(settings.sources)
    progress = progress or LogProgress()
    return [sync_source(engine, settings, source, clock, progress) for source in sources]


def sync_source(engine: Engine, settings: Settings, source: SourceSettings,
                clock: Callable[[], datetime], progress: Progress) -> SourceOutcome:
    outcome = _start_run(engine, source, clock)
    progress.started(source)
    start = SyncStart(engine, settings, outcome.started_at)
    connector_class = _connector_class(source)
    loader = (connector_class.loader or Loader)(engine, source.name, outcome.run_id, clock)
    # Until the run ends normally, it ends as interrupted (KeyboardInterrupt, SystemExit).
    error: str | None = INTERRUPTED
    doing = "reading the source"  # where an unexpected failure happened, for its message
    try:
        connector = connector_class.for_run(source, start)
        for batch in connector.batches():
            doing = f"storing a batch (after {loader.counts.read:,} records)"
            loader.load(batch)
            doing = f"reading the source (after {loader.counts.read:,} records)"
            log.debug("%s: batch committed, %d records read so far", source.name, loader.counts.read)
            outcome.rejected.extend(batch.rejected)
            outcome.notices.extend(batch.notices)
            progress.advanced(source, loader.counts, batch.expected)
        error = None
    except (SourceError, ConfigError) as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001  any failure fails this source only; the others still run
        # The exception's own text may quote the record it choked on: the message is composed
        # here, and the traceback (without bound parameters, see monitor.db) goes to the debug log.
        log.debug("%s: unexpected failure", source.name, exc_info=True)
        error = f"unexpected {type(exc).__name__} while {doing}"
    finally:
        outcome.counts = loader.counts
        outcome.error = _redacted(error, start.secrets)
        _finish_run(engine, outcome, clock)
        progress.finished(outcome)
    return outcome


def _connector_class(source: SourceSettings) -> type[Connector]:
    """The connector a kind names by reference: loaded here alone, so that reading the config,
    which every layer does, never loads the connectors (monitor.sources)."""
    return pkgutil.resolve_name(source.connector)


def _redacted(text: str | None, secrets: Iterable[str]) -> str | None:
    """A message with every secret blanked out: no error may carry a password into the store."""
    for secret in secrets:
        if text and secret:
            text = text.replace(secret, "***")
    return text


def _start_run(engine: Engine, source: SourceSettings, clock: Callable[[], datetime]) -> SourceOutcome:
    with session_scope(engine) as session:
        session.execute(update(SyncRun).where(SyncRun.source == source.name, SyncRun.status == RunStatus.RUNNING)
                        .values(status=RunStatus.FAILED, error=INTERRUPTED))
        run = SyncRun(source=source.name, kind=source.kind, started_at=clock(), status=RunStatus.RUNNING)
        session.add(run)
        session.flush()
        return SourceOutcome(source.name, source.kind, run.id, run.started_at)


def _finish_run(engine: Engine, outcome: SourceOutcome, clock: Callable[[], datetime]) -> None:
    outcome.finished_at = clock()
    outcome.status = RunStatus.OK if outcome.error is None else RunStatus.FAILED
    with session_scope(engine) as session:
        session.execute(update(SyncRun).where(SyncRun.id == outcome.run_id).values(
            finished_at=outcome.finished_at, status=outcome.status, error=outcome.error,
            records_read=outcome.counts.read, records_inserted=outcome.counts.inserted,
            records_updated=outcome.counts.updated, records_rejected=outcome.counts.rejected))


# --- what the operator sees ---------------------------------------------------------------------

def format_summary(outcomes: list[SourceOutcome]) -> str:
    """The table printed at the end of a sync, then each source's errors, rejections and notices."""
    header = ("source", "kind", "status", "read", "inserted", "updated", "rejected", "seconds")
    lines = render_table(header, [
        (o.source, o.kind, o.status, f"{o.counts.read:,}", f"{o.counts.inserted:,}", f"{o.counts.updated:,}",
         f"{o.counts.rejected:,}", f"{(o.finished_at - o.started_at).total_seconds():.0f}")
        for o in outcomes], right=range(3, len(header)))
    for o in outcomes:
        if o.error:
            lines.append(f"{o.source}: FAILED: {o.error}")
        if o.rejected:
            lines.append(f"{o.source}: {len(o.rejected)} rejected (all in table rejected_input, run {o.run_id}):")
            lines += [f"  {r.location}: {r.reason}" for r in o.rejected[:SHOWN_PER_SOURCE]]
            if len(o.rejected) > SHOWN_PER_SOURCE:
                lines.append(f"  ... and {len(o.rejected) - SHOWN_PER_SOURCE} more")
        if o.notices:
            lines.append(f"{o.source}: {len(o.notices)} notices:")
            lines += [f"  {notice}" for notice in o.notices[:SHOWN_PER_SOURCE]]
            if len(o.notices) > SHOWN_PER_SOURCE:
                lines.append(f"  ... and {len(o.notices) - SHOWN_PER_SOURCE} more")
    return "\n".join(lines)


def progress_for(stream: TextIO = sys.stderr) -> Progress:
    """A bar that redraws itself on a terminal; log lines anywhere else (cron, pipes, files)."""
    return TerminalProgress(stream) if stream.isatty() else LogProgress()


class TerminalProgress:
    WIDTH = 30

    def __init__(self, stream: TextIO):
        self.stream = stream

    def started(self, source: SourceSettings) -> None:
        # A log line (a retry, say) would land on the end of the bar: clear the bar first.
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._clear_line)
        self._draw(f"{source.name}: starting")

    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None) -> None:
        if expected:
            done = min(counts.read + counts.rejected, expected)
            filled = self.WIDTH * done // expected
            self._draw(f"{source.name} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                       f"{done:,}/{expected:,} records")
        else:
            self._draw(f"{source.name}: {counts.read + counts.rejected:,} records")

    def finished(self, outcome: SourceOutcome) -> None:
        self._draw(f"{outcome.source}: {outcome.status}, {outcome.counts.read:,} records read")
        self.stream.write("\n")
        self.stream.flush()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self._clear_line)

    def _draw(self, text: str) -> None:
        self.stream.write(CLEAR_LINE + text)
        self.stream.flush()

    def _clear_line(self, record: logging.LogRecord) -> bool:
        self.stream.write(CLEAR_LINE)
        return True


class LogProgress:
    """One log line when a source starts and ends, and one every `every_seconds` in between."""

    def __init__(self, every_seconds: float = 10):
        self.every_seconds = every_seconds
        self._last = 0.0

    def started(self, source: SourceSettings) -> None:
        log.info("%s: sync started (%s)", source.name, source.kind)
        self._last = time.monotonic()  # measures the interval between lines; never stored

    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None) -> None:
        if time.monotonic() - self._last >= self.every_seconds:
            self._last = time.monotonic()
            of = f" of about {expected:,}" if expected else ""
            log.info("%s: %s records read%s", source.name, f"{counts.read + counts.rejected:,}", of)

    def finished(self, outcome: SourceOutcome) -> None:
        log.log(logging.INFO if outcome.status == RunStatus.OK else logging.ERROR, "%s: sync %s, %s records read%s",
                outcome.source, outcome.status, f"{outcome.counts.read:,}",
                f": {outcome.error}" if outcome.error else "")

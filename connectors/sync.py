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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from sqlalchemy import Engine, select, update

from connectors.base import Connector, Rejection, SourceError, SyncStart
from connectors.http import RETRY_PROBLEM
from connectors.loader import LoadCounts, Loader
from monitor.config import ConfigError, Settings
from monitor.db import session_scope
from monitor.models import SyncRun
from monitor.sources import SourceSettings
from monitor.statuses import INTERRUPTED, RunStatus
from monitor.terminal import number, render_table, terminal_size

log = logging.getLogger(__name__)
http_log = logging.getLogger("connectors.http")

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
    retries: Counter = field(default_factory=Counter)  # the HTTP client's retries, by problem

    def retries_line(self) -> str | None:
        """`cong-dvc: 181 retries (HTTP 503 ×150, a time-out ×31)`; None without any."""
        if not self.retries:
            return None
        kinds = ", ".join(f"{problem} ×{number(n)}" for problem, n in self.retries.most_common())
        total = sum(self.retries.values())
        return f"{self.source}: {number(total)} {'retry' if total == 1 else 'retries'} ({kinds})"


class Progress(Protocol):
    """What the operator is shown while a source syncs. `estimate` is the records the source's
    last successful run read (its total when the source gives none); `expected` the records the
    source says it holds; `position` the files read and in all (a source read file by file)."""
    def started(self, source: SourceSettings, estimate: int | None = None) -> None: ...
    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None,
                 position: tuple[int, int] | None = None) -> None: ...
    def retried(self, source: SourceSettings, problem: str) -> None: ...
    def finished(self, outcome: SourceOutcome) -> None: ...


class RetryCounter(logging.Filter):
    """Counts the HTTP client's retries of one source (by problem), for one line in place of a
    warning per retry; each retry is still logged when the log shows debug lines (--verbose)."""

    def __init__(self, source: SourceSettings, progress: Progress, counts: Counter):
        super().__init__()
        self.source, self.progress, self.counts = source, progress, counts

    def filter(self, record: logging.LogRecord) -> bool:
        problem = getattr(record, RETRY_PROBLEM, None)
        if problem is None:
            return True
        self.counts[problem] += 1
        self.progress.retried(self.source, problem)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def sync_sources(engine: Engine, settings: Settings, clock: Callable[[], datetime],
                 only: str | None = None, progress: Progress | None = None) -> list[SourceOutcome]:
    """Sync every configured source (or the one named `only`), one after the other."""
    sources = [settings.source(only)] if only else list(settings.sources)
    progress = progress or LogProgress()
    return [sync_source(engine, settings, source, clock, progress) for source in sources]


def sync_source(engine: Engine, settings: Settings, source: SourceSettings,
                clock: Callable[[], datetime], progress: Progress) -> SourceOutcome:
    estimate = _last_count(engine, source)
    outcome = _start_run(engine, source, clock)
    progress.started(source, estimate)
    retries = RetryCounter(source, progress, outcome.retries)
    http_log.addFilter(retries)
    start = SyncStart(engine, settings, outcome.started_at)
    connector_class = _connector_class(source)
    loader = (connector_class.loader or Loader)(engine, source.name, outcome.run_id, clock)
    # Until the run ends normally, it ends as interrupted (KeyboardInterrupt, SystemExit).
    error: str | None = INTERRUPTED
    doing = "reading the source"  # where an unexpected failure happened, for its message
    try:
        connector = connector_class.for_run(source, start)
        for batch in connector.batches():
            doing = f"storing a batch (after {number(loader.counts.read)} records)"
            loader.load(batch)
            doing = f"reading the source (after {number(loader.counts.read)} records)"
            log.debug("%s: batch committed, %d records read so far", source.name, loader.counts.read)
            outcome.rejected.extend(batch.rejected)
            outcome.notices.extend(batch.notices)
            progress.advanced(source, loader.counts, batch.expected, batch.position)
        error = None
    except (SourceError, ConfigError) as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001  any failure fails this source only; the others still run
        # The exception's own text may quote the record it choked on: the message is composed
        # here, and the traceback (without bound parameters, see monitor.db) goes to the debug log.
        log.debug("%s: unexpected failure", source.name, exc_info=True)
        error = f"unexpected {type(exc).__name__} while {doing}"
    finally:
        http_log.removeFilter(retries)
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


def _last_count(engine: Engine, source: SourceSettings) -> int | None:
    """The records the source's last successful run read: what this run can expect, roughly."""
    with engine.connect() as connection:
        last = connection.execute(
            select(SyncRun.records_read, SyncRun.records_rejected)
            .where(SyncRun.source == source.name, SyncRun.status == RunStatus.OK)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1)).first()
    return (last[0] or 0) + (last[1] or 0) if last else None


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
    """The table printed at the end of a sync, then each source's errors, retries, rejections and notices."""
    header = ("source", "kind", "status", "read", "inserted", "updated", "rejected", "seconds")
    lines = render_table(header, [
        (o.source, o.kind, o.status, o.counts.read, o.counts.inserted, o.counts.updated, o.counts.rejected,
         round((o.finished_at - o.started_at).total_seconds()))
        for o in outcomes], right=range(3, len(header)))
    for o in outcomes:
        if o.error:
            lines.append(f"{o.source}: FAILED: {o.error}")
        if o.retries:
            lines.append(o.retries_line())
        if o.rejected:
            lines.append(f"{o.source}: {number(len(o.rejected))} rejected (all in table rejected_input, run {o.run_id}):")
            lines += [f"  {r.location}: {r.reason}" for r in o.rejected[:SHOWN_PER_SOURCE]]
            if len(o.rejected) > SHOWN_PER_SOURCE:
                lines.append(f"  ... and {number(len(o.rejected) - SHOWN_PER_SOURCE)} more")
        if o.notices:
            lines.append(f"{o.source}: {number(len(o.notices))} notices:")
            lines += [f"  {notice}" for notice in o.notices[:SHOWN_PER_SOURCE]]
            if len(o.notices) > SHOWN_PER_SOURCE:
                lines.append(f"  ... and {number(len(o.notices) - SHOWN_PER_SOURCE)} more")
    return "\n".join(lines)


def progress_for(stream: TextIO = sys.stderr) -> Progress:
    """A line that redraws itself on a terminal; log lines anywhere else (cron, pipes, files)."""
    return TerminalProgress(stream) if stream.isatty() else LogProgress()


@dataclass
class Reckoning:
    """How far a source's sync has come and when it should end: the fraction done, from the
    source's own total (records, or files for a source read file by file), else from the last
    successful run's count (an estimate: never past 99 %); and the time left at the pace so far."""
    started: float  # time.monotonic() at the start: it measures, it is never stored
    estimate: int | None = None
    done: int = 0
    expected: int | None = None
    position: tuple[int, int] | None = None

    @property
    def fraction(self) -> float | None:
        if self.expected:
            return min(self.done / self.expected, 1.0)
        if self.position and self.position[1]:
            return self.position[0] / self.position[1]
        if self.estimate:
            return min(self.done / self.estimate, 0.99)
        return None

    def total(self) -> str:
        """`1.234/2.967 records`, `1.234/~2.967 records` (estimated), `file 3/12, 1.234 records`."""
        if self.expected:
            return f"{number(self.done)}/{number(self.expected)} records"
        if self.position:
            return f"file {self.position[0]}/{self.position[1]}, {number(self.done)} records"
        if self.estimate:
            return f"{number(self.done)}/~{number(self.estimate)} records"
        return f"{number(self.done)} records (first sync: no total yet)"

    def time_left(self, now: float) -> str:
        fraction, elapsed = self.fraction, now - self.started
        if not fraction or elapsed < 1:
            return "ETA —"
        return f"ETA {duration((1 - fraction) * elapsed / fraction)}"


def duration(seconds: float) -> str:
    """0:07, 1:05, 1:02:03 (hours only when there are some)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TerminalProgress:
    """One line per source that redraws itself: a bar, how far (of what total), the time left,
    and the retries so far; at the end, how it went."""
    WIDTH = 20

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.columns = terminal_size(stream)[0]
        self.reckoning = Reckoning(time.monotonic())
        self.retries = 0

    def started(self, source: SourceSettings, estimate: int | None = None) -> None:
        # A log line (a warning, say) would land on the end of the bar: clear the bar first.
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._clear_line)
        self.reckoning, self.retries = Reckoning(time.monotonic(), estimate), 0
        self._draw(f"{source.name}: starting")

    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None,
                 position: tuple[int, int] | None = None) -> None:
        reckoning = self.reckoning
        reckoning.done, reckoning.expected = counts.read + counts.rejected, expected or reckoning.expected
        reckoning.position = position or reckoning.position
        self._redraw(source)

    def retried(self, source: SourceSettings, problem: str) -> None:
        self.retries += 1
        self._redraw(source)

    def finished(self, outcome: SourceOutcome) -> None:
        retried = f", {number(self.retries)} {'retry' if self.retries == 1 else 'retries'}" if self.retries else ""
        self._draw(f"{outcome.source}: {outcome.status}, {number(outcome.counts.read)} records read{retried}")
        self.stream.write("\n")
        self.stream.flush()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self._clear_line)

    def _redraw(self, source: SourceSettings) -> None:
        reckoning = self.reckoning
        fraction = reckoning.fraction
        bar = "" if fraction is None else (
            f" [{'#' * int(self.WIDTH * fraction)}{'.' * (self.WIDTH - int(self.WIDTH * fraction))}]")
        retried = f", {number(self.retries)} {'retry' if self.retries == 1 else 'retries'}" if self.retries else ""
        self._draw(f"{source.name}{bar} {reckoning.total()}, {reckoning.time_left(time.monotonic())}{retried}")

    def _draw(self, text: str) -> None:
        # Never wider than the terminal: a wrapped line could not be redrawn in place.
        self.stream.write(CLEAR_LINE + text[:max(10, self.columns - 1)])
        self.stream.flush()

    def _clear_line(self, record: logging.LogRecord) -> bool:
        self.stream.write(CLEAR_LINE)
        return True


class LogProgress:
    """One log line when a source starts and ends, and one every `every_seconds` in between,
    with how far it has come and the time left; the retries in one line at the end."""

    def __init__(self, every_seconds: float = 10):
        self.every_seconds = every_seconds
        self._last = 0.0
        self.reckoning = Reckoning(time.monotonic())
        self.retries = 0

    def started(self, source: SourceSettings, estimate: int | None = None) -> None:
        log.info("%s: sync started (%s)", source.name, source.kind)
        self._last = time.monotonic()  # measures the interval between lines; never stored
        self.reckoning, self.retries = Reckoning(self._last, estimate), 0

    def advanced(self, source: SourceSettings, counts: LoadCounts, expected: int | None,
                 position: tuple[int, int] | None = None) -> None:
        reckoning = self.reckoning
        reckoning.done, reckoning.expected = counts.read + counts.rejected, expected or reckoning.expected
        reckoning.position = position or reckoning.position
        if time.monotonic() - self._last >= self.every_seconds:
            self._last = time.monotonic()
            log.info("%s: %s read, %s", source.name, reckoning.total(), reckoning.time_left(self._last))

    def retried(self, source: SourceSettings, problem: str) -> None:
        # Counted on the outcome and logged in one line at the end; while they go on, a line
        # every `every_seconds` at most, so that a source stuck retrying does not look dead.
        self.retries += 1
        if time.monotonic() - self._last >= self.every_seconds:
            self._last = time.monotonic()
            log.warning("%s: %s %s so far (the latest: %s)", source.name, number(self.retries),
                        "retry" if self.retries == 1 else "retries", problem)

    def finished(self, outcome: SourceOutcome) -> None:
        log.log(logging.INFO if outcome.status == RunStatus.OK else logging.ERROR, "%s: sync %s, %s records read%s",
                outcome.source, outcome.status, number(outcome.counts.read),
                f": {outcome.error}" if outcome.error else "")
        if outcome.retries:
            log.warning("%s", outcome.retries_line())

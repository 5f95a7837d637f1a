"""The one place that reads the clock. Everything else takes the time as a parameter."""
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def now_local() -> datetime:
    """Now, as a naive local time in Asia/Ho_Chi_Minh (the form every stored time has)."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None, microsecond=0)


class LocalTimeFormatter(logging.Formatter):
    """Log lines stamped in local time, Asia/Ho_Chi_Minh, with the offset
    (`2026-03-31 02:00:04.120+07:00`): the time every stored time and report shows, whatever the
    machine's own zone (often UTC on a server)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, LOCAL_ZONE).isoformat(sep=" ", timespec="milliseconds")

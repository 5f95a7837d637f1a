"""The one place that reads the clock. Everything else takes the time as a parameter."""
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def now_local() -> datetime:
    """Now, as a naive local time in Asia/Ho_Chi_Minh (the form every stored time has)."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None, microsecond=0)

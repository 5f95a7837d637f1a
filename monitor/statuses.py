"""The closed sets of values that status columns of the store hold, and the dossier channels.

They are `StrEnum`s, so a member is its stored text: it binds into SQL and compares with what a
query reads back without conversion. Every layer imports them from here, the one place a value
is spelled.
"""
from enum import StrEnum


class RunStatus(StrEnum):
    """A sync run (`sync_run`), a nightly run (`nightly_run`) and each of the nightly's stages."""
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"      # nightly: a source or a mail failed, the rest went on
    FAILED = "failed"
    LOCKED = "locked"        # nightly: another run held the lock; nothing was done
    SKIPPED = "skipped"      # nightly stage: an earlier stage gave it nothing to do


# The error a run left `running` gets when the next run finds it: its process died mid-run.
INTERRUPTED = "interrupted: the process ended before the run finished"


class FindingStatus(StrEnum):
    OPEN = "open"
    EXEMPTED = "exempted"    # in an audit: open, but covered by an exemption
    RESOLVED = "resolved"    # in the history: no longer found


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


class Channel(StrEnum):
    """`KenhThucHien`: how the dossier was submitted."""
    COUNTER = "1"
    ONLINE = "2"
    POST = "3"


class FeeStatus(StrEnum):
    """What a procedure's fee text says (rules.md, "Fee-bearing")."""
    FREE = "free"
    FEE_BEARING = "fee_bearing"
    UNKNOWN = "unknown"

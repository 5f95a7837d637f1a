"""A lock held in the database, so that two nightly runs never overlap, on SQLite and PostgreSQL.

Taking the lock is one statement: insert the row, or take over the existing row only when it
has expired (INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at < now). The database decides
between two runs that try at once, so exactly one gets it. A run that crashed never releases
its lock; the lock expires after `ttl` and the next run takes it over. A long run renews it
between stages.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update

from monitor.db import insert_with_conflicts
from monitor.models import RunLock

NIGHTLY = "nightly"
DEFAULT_TTL = timedelta(hours=4)


class LockLost(Exception):
    """The lock expired and another run took it over: this run must stop."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, for the message of the run that could not take it."""
    holder: str
    acquired_at: datetime
    expires_at: datetime


def new_holder() -> str:
    """This process, readably: host, process id, and a token in case a process id is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Take the lock `name` for `holder` until `now + ttl`; False when someone else holds it."""
    insert = insert_with_conflicts(engine.dialect.name)
    values = dict(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
    statement = insert(RunLock).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={key: statement.excluded[key] for key in ("holder", "acquired_at", "expires_at")},
        where=RunLock.expires_at < now,
    ).returning(RunLock.holder)
    # RETURNING rather than rowcount: drivers disagree on the rowcount of an upsert.
    with engine.begin() as connection:
        return connection.execute(statement).first() is not None


def renew(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> None:
    with engine.begin() as connection:
        renewed = connection.execute(update(RunLock).where(RunLock.name == name, RunLock.holder == holder)
                                     .values(expires_at=now + ttl)).rowcount
    if renewed != 1:
        raise LockLost(f"the {name} lock of {holder} expired and was taken over")


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))


def current_holder(engine: Engine, name: str) -> Holder | None:
    with engine.begin() as connection:
        row = connection.execute(select(RunLock.holder, RunLock.acquired_at, RunLock.expires_at)
                                 .where(RunLock.name == name)).first()
    return Holder(*row) if row else None

"""A lock held in the database, so that two nightly runs never overlap, on SQLite and PostgreSQL.

Taking the lock is one statement: insert the row, or take over the existing row only when it
may be taken (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING). The database decides
between two runs that try at once, so exactly one gets it.

A run that crashed never releases its lock, so the lock is a short lease that the holder renews
in the background (`Lease`): a holder that died, on any host, has lost it within one lease. A
holder on this host whose process is gone is taken over at once: its holder string names its
host and process id.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update

from monitor.db import insert_with_conflicts
from monitor.models import RunLock

log = logging.getLogger(__name__)

NIGHTLY = "nightly"
# Short enough that a run that died on another host is taken over within minutes; long enough
# that a renewal held up by a busy database (it renews every third of it) does not lose it.
LEASE = timedelta(minutes=3)


class LockLost(Exception):
    """The lease expired and another run took the lock over: this run must stop."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, for the message of the run that could not take it."""
    holder: str
    acquired_at: datetime
    expires_at: datetime


def new_holder() -> str:
    """This process, readably: host, process id, and a token in case a process id is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_gone(holder: str) -> bool:
    """True when `holder` (host:pid:token) names a process of this host that no longer exists.

    A holder of another host, or a string of another shape, is never judged gone: only its
    lease can end it. A reused process id keeps a dead holder "alive" until its lease ends."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit() or int(parts[1]) <= 0:
        return False
    try:
        os.kill(int(parts[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta = LEASE) -> bool:
    """Take the lock `name` for `holder` until `now + ttl`; False when someone else holds it.

    It is free when its lease has ended, or when its holder's process is gone from this host.
    That check reads the row first, but the statement only replaces that same dead holder, so two
    runs that both saw it dead still cannot both take the lock."""
    current = current_holder(engine, name)
    dead = current.holder if current is not None and process_gone(current.holder) else None
    insert = insert_with_conflicts(engine.dialect.name)
    values = dict(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
    statement = insert(RunLock).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={key: statement.excluded[key] for key in ("holder", "acquired_at", "expires_at")},
        where=or_(RunLock.expires_at < now, RunLock.holder == dead) if dead else RunLock.expires_at < now,
    ).returning(RunLock.holder)
    # RETURNING rather than rowcount: drivers disagree on the rowcount of an upsert.
    with engine.begin() as connection:
        taken = connection.execute(statement).first() is not None
    if taken and dead:
        log.warning("took over the %s lock of %s: that process is gone", name, dead)
    return taken


def renew(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta = LEASE) -> None:
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


class Lease:
    """A lock taken and renewed every third of its lease by a daemon thread, until released.

    The thread only renews; the run calls `check()` between its steps and stops with LockLost
    when a renewal found the lock taken over (the database was out of reach for a whole lease)."""

    def __init__(self, engine: Engine, name: str, holder: str, clock: Callable[[], datetime],
                 ttl: timedelta = LEASE):
        self.engine, self.name, self.holder, self.clock, self.ttl = engine, name, holder, clock, ttl
        self.lost: LockLost | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{name}", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            try:
                renew(self.engine, self.name, self.holder, self.clock(), self.ttl)
            except LockLost as exc:
                self.lost = exc
                log.error("%s", exc)
                return
            except Exception:  # noqa: BLE001  a database out of reach for a moment: try again next time
                log.warning("could not renew the %s lock; trying again", self.name, exc_info=True)

    def start(self) -> Lease:
        self._thread.start()
        return self

    def check(self) -> None:
        if self.lost is not None:
            raise self.lost

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        release(self.engine, self.name, self.holder)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def take(engine: Engine, name: str, clock: Callable[[], datetime], ttl: timedelta = LEASE) -> Lease | None:
    """The lock `name` as a lease renewed in the background; None when someone else holds it."""
    holder = new_holder()
    if not acquire(engine, name, holder, clock(), ttl):
        return None
    return Lease(engine, name, holder, clock, ttl).start()

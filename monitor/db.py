"""Engine, sessions, schema upgrades and the batched upsert every loader uses.

SQLite (one file, zero set-up) runs in WAL mode with foreign keys on and sorts on helper
threads; PostgreSQL goes through psycopg 3. A PostgreSQL URL may carry
`?options=-csearch_path%3Dname` to work in a schema of its own (the tests do this so that runs
don't collide).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from monitor import models  # noqa: F401  (registers the tables on SQLModel.metadata)

MIGRATIONS = Path(__file__).parent / "migrations"
UPSERT_BATCH = 1000


def make_engine(url: str) -> Engine:
    # hide_parameters: a database error's text never carries the values bound to its statement
    # (applicants' names and ID numbers), wherever that text ends up.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Large sorts (an audit's GROUP BY and index builds over a million rows) may use helper
    # threads: about 0.35 s of a 1M-dossier audit on two cores.
    cursor.execute(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def init_schema(engine: Engine) -> str:
    """Create the schema, or upgrade an older one, to the newest migration. Idempotent.
    Returns what was done, for the CLI to say."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as connection:
        after = MigrationContext.configure(connection).get_current_revision()
    if before is None:
        return f"created the schema at revision {after}"
    if before != after:
        return f"upgraded the schema from {before} to {after}"
    return f"the schema is up to date (revision {after})"


def schema_ready(engine: Engine) -> bool:
    return inspect(engine).has_table("dossier")


def insert_with_conflicts(dialect_name: str):
    """The dialect's `insert`, the one that knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def upsert(session: Session, table: Table | type[SQLModel], rows: Iterable[dict],
           key: Sequence[str], update: Sequence[str] | None = None) -> int:
    """INSERT ... ON CONFLICT (key) DO UPDATE, in batches, on SQLite and PostgreSQL alike.

    `update` names the columns a conflict overwrites (default: every column but the key).
    Returns the number of rows sent. Runs inside the caller's transaction."""
    table = table if isinstance(table, Table) else table.__table__
    insert = insert_with_conflicts(session.get_bind().dialect.name)
    columns = update if update is not None else [c.name for c in table.columns if c.name not in key]
    statement = insert(table)
    if columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: statement.excluded[name] for name in columns})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    count = 0
    iterator = iter(rows)
    # One compiled statement, executed over each batch (executemany / insertmanyvalues).
    while batch := list(islice(iterator, UPSERT_BATCH)):
        session.execute(statement, batch)
        count += len(batch)
    return count

"""Shared fixtures. Store tests run twice: on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432, database `test` (override with MOTCUA_TEST_PG_URL);
each test works in a schema of its own, dropped afterwards, so runs never collide. Under CI
(CI=true) an unreachable PostgreSQL fails those tests; elsewhere they are skipped with a note.
"""
from __future__ import annotations

import os
import secrets
from urllib.parse import quote

import pytest
import sqlalchemy
from sqlmodel import SQLModel

from monitor.db import make_engine

PG_URL = os.environ.get("MOTCUA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_admin_engine():
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
    except sqlalchemy.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {PG_URL}: {str(exc).splitlines()[0]}"
        if IN_CI:
            pytest.fail(message + " (CI requires it)", pytrace=False)
        pytest.skip(message + "; start it, or set MOTCUA_TEST_PG_URL, to run these tests on PostgreSQL")
    return engine


@pytest.fixture(scope="session")
def postgres_admin():
    engine = _postgres_admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database (no tables yet) on each store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'motcua.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"motcua_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
    yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))


@pytest.fixture
def engine(database_url):
    """A database with every table, on each store."""
    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()

"""Helpers for the connector and sync tests: a config file, a fixed clock, the store's content."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine
from sqlmodel import SQLModel

from monitor.config import Settings, load_settings
from sandbox.simulator import generate_province

NOW = datetime(2026, 3, 31, 18, 0, 0)

# The tables a sync fills, each with the columns that say when or by which run a row was
# written rather than what the sources hold; two syncs that read the same are equal without them.
SYNCED_TABLES = {
    "agency": (),
    "procedure": ("synced_at",),
    "dossier": ("synced_at",),
    "supplement_request": (),
    "apology_letter": (),
    "fee": (),
    "payment": (),
    "portal_dossier": ("synced_at",),
    "book_row": ("id", "synced_at"),
    "sync_cursor": ("updated_at",),
    "stream_dossier": (),
    "processing_step": ("synced_at",),
    "result_document": (),
    "submitted_file": (),
}


def clock() -> datetime:
    return NOW


def write_settings(folder: Path, database_url: str, sources: list[dict]) -> Settings:
    """A config.toml in `folder` with these [[sources]] entries, read as the CLI reads it."""
    lines = ["[database]", f"url = {_toml(database_url)}", ""]
    for source in sources:
        lines.append("[[sources]]")
        lines += [f"{key} = {_toml(value)}" for key, value in source.items()]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_settings(path)


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def store_content(engine: Engine, tables=SYNCED_TABLES) -> dict[str, list[tuple]]:
    """Every row of the synced tables, sorted, without the columns that only say when."""
    content = {}
    with engine.connect() as connection:
        for name, ignored in tables.items():
            table = SQLModel.metadata.tables[name]
            columns = [column for column in table.columns if column.name not in ignored]
            rows = connection.execute(sqlalchemy.select(*columns)).all()
            content[name] = sorted((tuple(row) for row in rows), key=repr)
    return content


def rejected_input(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("select source, location, reason from rejected_input")).all()
    return sorted(set(map(tuple, rows)))


def sync_runs(engine: Engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("select * from sync_run order by id")).mappings().all()
    return [dict(row) for row in rows]


# --- the simulated province the connector tests read -------------------------------------------

USER_ENV, PASSWORD_ENV = "MOTCUA_TEST_ONESTOP_USER", "MOTCUA_TEST_ONESTOP_PASSWORD"
USERNAME, PASSWORD = "canbo", "Mk-7f3a9c2e-bí-mật"  # distinctive, so a leak is easy to find


def small_province(seed: int = 7, dossiers: int = 300):
    return generate_province(seed=seed, dossiers=dossiers, start=date(2026, 1, 5), now=datetime(2026, 3, 31, 17))


def onestop_source(url: str, **extra) -> dict:
    # Small pages and short backoff keep the tests quick and make them page a lot.
    return {"name": "motcua", "kind": "onestop_api", "base_url": url, "username_env": USER_ENV,
            "password_env": PASSWORD_ENV, "page_size": 20, "backoff_seconds": 0.001, **extra}


def portal_source(url: str, **extra) -> dict:
    return {"name": "cong-dvc", "kind": "portal_html", "base_url": url, "backoff_seconds": 0.001, **extra}


def book_source(folder: Path, **extra) -> dict:
    return {"name": "so-theo-doi", "kind": "tracking_book", "path": str(folder / "*"), **extra}

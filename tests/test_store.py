"""The store on SQLite and PostgreSQL: schema by migration, `motcua init` twice, the batched upsert."""
from datetime import datetime

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

from monitor.cli import main
from monitor.db import alembic_config, init_schema, make_engine, session_scope, upsert
from monitor.models import Agency, Dossier

T = datetime(2026, 2, 10, 9, 0)


def run_init(tmp_path, database_url, capsys) -> str:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["init", "--config", str(config)])
    assert exited.value.code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_motcua_init_twice_is_harmless(tmp_path, database_url, capsys):
    assert "created the schema" in run_init(tmp_path, database_url, capsys)
    assert "up to date" in run_init(tmp_path, database_url, capsys)


def test_the_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    init_schema(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_the_findings_history_keeps_room_for_its_nightly_rewrites_on_postgresql(database_url):
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    init_schema(engine)
    with engine.connect() as connection:
        options = connection.exec_driver_sql("SELECT reloptions FROM pg_class WHERE oid = 'finding'::regclass").scalar()
    engine.dispose()
    assert options == ["fillfactor=50"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def dossier(code: str, status: int = 2) -> dict:
    return dict(code=code, code_key=code.upper(), procedure_code="1.002467", procedure_code_raw="1.002467",
                agency_code="000.00.16.H59", channel="1", status=status, received_at=T,
                created_at=T, updated_at=T, source="motcua", synced_at=T)


def test_upsert_inserts_then_updates_by_natural_key(engine):
    with session_scope(engine) as session:
        upsert(session, Dossier, [dossier(f"D-{i:04d}") for i in range(2500)], key=["code"])
    with session_scope(engine) as session:
        upsert(session, Dossier, [dossier("D-0007", status=9), dossier("D-9999")], key=["code"])
    with session_scope(engine) as session:
        assert session.exec(select(sqlalchemy.func.count()).select_from(Dossier)).one() == 2501
        assert session.get(Dossier, "D-0007").status == 9


def test_upsert_keeps_unicode_and_naive_local_times(engine):
    with session_scope(engine) as session:
        upsert(session, Agency, [{"code": "000.29.31.H59", "name": "UBND xã Châu Thành"}], key=["code"])
        upsert(session, Dossier, [dossier("000.29.31.H59-250905-0031")], key=["code"])
    with session_scope(engine) as session:
        assert session.get(Agency, "000.29.31.H59").name == "UBND xã Châu Thành"
        assert session.get(Dossier, "000.29.31.H59-250905-0031").received_at == T


def test_a_failed_transaction_keeps_what_was_stored(engine):
    with session_scope(engine) as session:
        upsert(session, Dossier, [dossier("D-1")], key=["code"])
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            upsert(session, Dossier, [dossier("D-1", status=10), dossier("D-2")], key=["code"])
            raise RuntimeError("connector failed mid-batch")
    with session_scope(engine) as session:
        assert session.get(Dossier, "D-1").status == 2
        assert session.get(Dossier, "D-2") is None


def test_an_upgrade_that_rebuilds_the_dossier_table_keeps_its_children(database_url):
    # 0007 makes dossier.created_at optional: SQLite rebuilds the table, and dropping the old one
    # with foreign keys on would delete every supplement request, fee and payment.
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0006")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO dossier (code, code_key, procedure_code, procedure_code_raw, agency_code, channel, status,"
            " created_at, updated_at, source, synced_at) VALUES ('A-1', 'A-1', 'P', 'P', 'AG', '1', 4,"
            " '2026-01-05 08:00:00', '2026-01-05 08:00:00', 'motcua', '2026-01-06 00:00:00')"))
        connection.execute(text("INSERT INTO supplement_request (dossier_code, seq, requested_at)"
                                " VALUES ('A-1', 1, '2026-01-05 09:00:00')"))
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM supplement_request")).scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar() if engine.dialect.name == "sqlite" else 1
    engine.dispose()
    assert (kept, foreign_keys) == (1, 1)

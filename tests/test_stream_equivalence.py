"""A simulated province read from the national sync stream (its captured bodies, through
`motcua sync`) holds the same facts as the same province read from the pull API, for every fact
both carry (sources.md section 4), on SQLite and PostgreSQL, with the sender's faults on."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy
from sqlmodel import SQLModel

from connectors.sync import sync_sources
from monitor.db import make_engine
from sandbox.simulator import OneStopServer, StreamFaults, write_stream_files
from sync_support import (PASSWORD, PASSWORD_ENV, USER_ENV, USERNAME, clock, onestop_source, small_province,
                          write_settings)

# The dossier's columns both ways fill alike. Not updated_at: NgayCapNhat there, the time of the
# latest step with the dossier's status here (sources.md); not the personal data, checked apart.
SHARED = ("procedure_code", "procedure_code_raw", "agency_code", "channel", "status", "submitted_at",
          "received_at", "appointment_at", "finished_at", "returned_at", "refused_at", "created_at")
# Faults after which the stream still tells the truth both ways carry. Left out: statuses rewritten
# to 9 change the truth by design; supplement answers derived from steps cannot always match
# (a second request before the first was answered), which the derivation in sources.md accepts.
TRUTHFUL_FAULTS = ("duplicate_batch", "out_of_order", "steps_first", "wrong_is_updating", "empty_departments",
                   "empty_step_dates", "nfd_names", "cut_officer_names")


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def facts(engine) -> dict:
    tables = SQLModel.metadata.tables
    d, s, f = tables["dossier"], tables["supplement_request"], tables["fee"]
    with engine.connect() as connection:
        dossiers = {row.code: tuple(getattr(row, name) for name in SHARED)
                    for row in connection.execute(sqlalchemy.select(d))}
        requests = connection.execute(sqlalchemy.select(s.c.dossier_code, s.c.requested_at, s.c.answered_at))
        fees = connection.execute(sqlalchemy.select(f.c.dossier_code, f.c.amount).where(f.c.amount > 0))
        names = connection.execute(sqlalchemy.select(d.c.code, d.c.applicant_name, d.c.applicant_id))
        return {"dossiers": dossiers, "supplement requests": sorted(map(tuple, requests)),
                "fees": sorted(map(tuple, fees)), "applicants": sorted(map(tuple, names))}


@pytest.fixture(scope="module")
def pull_api_facts(tmp_path_factory):
    """The province as the pull API gives it, read once into SQLite."""
    folder = tmp_path_factory.mktemp("pull")
    url = f"sqlite:///{folder / 'pull.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(USER_ENV, USERNAME)
        patch.setenv(PASSWORD_ENV, PASSWORD)
        with OneStopServer(small_province(), username=USERNAME, password=PASSWORD) as server:
            [outcome] = sync_sources(engine, write_settings(folder, url, [onestop_source(server.url)]), clock)
    assert outcome.status == "ok"
    read = facts(engine)
    engine.dispose()
    return read


def stream_facts(tmp_path, engine, database_url, faults: StreamFaults) -> dict:
    write_stream_files(small_province(), tmp_path / "logs", faults=faults)
    settings = write_settings(tmp_path, database_url, [
        {"name": "luong", "kind": "dvcqg_stream", "path": "logs/*.jsonl"}])
    [outcome] = sync_sources(engine, settings, clock)
    assert outcome.status == "ok", outcome.error
    return facts(engine)


def test_the_stream_carries_the_facts_of_the_pull_api(tmp_path, engine, database_url, pull_api_facts):
    assert stream_facts(tmp_path, engine, database_url, StreamFaults()) == pull_api_facts


def test_a_sloppy_sender_s_stream_still_carries_them(tmp_path, engine, database_url, pull_api_facts):
    faults = replace(StreamFaults.named(TRUTHFUL_FAULTS), rate=0.3, seed=5)
    assert stream_facts(tmp_path, engine, database_url, faults) == pull_api_facts

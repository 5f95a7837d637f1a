"""A simulated province pushed over HTTP to `motcua receive` by a sloppy sender, every fault on,
builds the same store and the same audit as its captured bodies read from files by `motcua sync`
(sources.md section 4), on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import SQLModel

from connectors.sync import sync_sources
from monitor.db import make_engine
from rules.audit import run_audit
from sandbox.simulator import PortalServer, StreamFaults, push_stream, write_stream_files
from sync_support import NOW, clock, portal_source, small_province, store_content, write_settings
from test_receiver import PASSWORD, SOURCE, USERNAME, Clock, serve, settings as stream_settings

EVERY_FAULT = replace(StreamFaults.all(), rate=0.3, seed=11)
DAILY = 24 * 60  # the sender's rounds: fewer, larger batches keep the test quick


def audit(engine, settings) -> tuple:
    result = run_audit(engine, settings, as_of=NOW, now=NOW)
    findings = sorted((f.rule, f.subject, f.agency, f.due_date, f.detail, f.status, f.reason) for f in result.findings)
    return findings, [f for f in result.figures], sorted(result.skipped_rules), result.stale


def test_the_pushed_stream_and_the_stream_files_give_one_store_and_one_audit(tmp_path, engine, database_url):
    province = small_province()
    with PortalServer(province) as portal:
        portal_only = [portal_source(portal.url)]
        # Pushed: a receiver on this test's store, a sender with every fault.
        receiver = serve(engine, Clock(NOW), stream_settings(max_body_mb=20))
        try:
            pushed = push_stream(province, receiver.url, USERNAME, PASSWORD, faults=EVERY_FAULT, backoff=0.01,
                                 round_minutes=DAILY)
        finally:
            receiver.stop()
        assert pushed.failed == [] and pushed.dropped > 0 and pushed.logins > 1  # the faults did fire
        (tmp_path / "pushed").mkdir()
        pushed_settings = write_settings(tmp_path / "pushed", database_url, portal_only + [
            {"name": SOURCE, "kind": "dvcqg_stream"}])
        assert [o.status for o in sync_sources(engine, pushed_settings, clock)] == ["ok", "ok"]

        # From files: the same bodies as an LGSP's log keeps them, into a store of their own.
        files = tmp_path / "files"
        write_stream_files(province, files / "logs", faults=EVERY_FAULT, round_minutes=DAILY)
        files_engine = make_engine(f"sqlite:///{files / 'files.db'}")
        SQLModel.metadata.create_all(files_engine)
        files_settings = write_settings(files, f"sqlite:///{files / 'files.db'}", portal_only + [
            {"name": SOURCE, "kind": "dvcqg_stream", "path": "logs/*.jsonl"}])
        assert [o.status for o in sync_sources(files_engine, files_settings, clock)] == ["ok", "ok"]

    assert store_content(engine) == store_content(files_engine)
    assert audit(engine, pushed_settings) == audit(files_engine, files_settings)
    files_engine.dispose()

"""Benchmark: `motcua audit` on a simulated province against one full read of the dossier table.

    .venv/bin/python bench/audit_bench.py [--dossiers 1000000] [--store sqlite|postgresql|both]
                                          [--pg-url URL] [--workdir DIR]

For each store: fill a fresh database with the simulated province (sandbox.simulator) by bulk
inserts (COPY on PostgreSQL), mark every source freshly synced, then time, on the same database:
- one full read of the dossier table (SELECT * streamed through SQLAlchemy);
- `motcua audit` at the present moment: once into the empty history, then the nightly case
  that updates it;
- `motcua audit --from --to` for the last complete quarter (all rules and figures).
Each audit is a separate process, timed from start to exit, with its peak resident memory.
Every timing but the first audit is the best of --repeat runs (3), taken in turns: on a shared
machine a single run can be a third slower than the next one.
The goal: every audit within 3x the full read, peak memory under 1 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import sqlalchemy
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.parsing import parse_fee, parse_time_limit, strip_province_suffix  # noqa: E402
from monitor.clock import now_local  # noqa: E402
from monitor.codes import code_key  # noqa: E402
from monitor.db import init_schema, make_engine  # noqa: E402
from monitor.models import (  # noqa: E402
    Agency, ApologyLetter, BookRow, Dossier, Fee, Payment, PortalDossier, Procedure, SupplementRequest, SyncRun,
)
from sandbox.simulator import generate_province  # noqa: E402

BATCH = 10_000
SOURCES = (("motcua", "onestop_api"), ("cong-dvc", "portal_html"), ("so-theo-doi", "tracking_book"))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "motcua_bench"
DAYS_OF_HISTORY = 550


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("MOTCUA_TEST_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="where the SQLite file and config go (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the best counts (default 3)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stores = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"audit-{args.dossiers}-{datetime.now():%Y%m%d-%H%M%S}.json"
    results = []
    for store in stores:  # each store's figures are kept as soon as they are measured
        results.append(bench(store, args.dossiers, workdir, args.pg_url, args.repeat))
        print(json.dumps(results[-1], indent=2), flush=True)
        path.write_text(json.dumps(results, indent=2))


def bench(store: str, dossiers: int, workdir: Path, pg_url: str, repeat: int) -> dict:
    url = fresh_database(store, workdir, pg_url)
    config = workdir / f"bench-{store}.toml"
    config.write_text(CONFIG.format(url=url, books=workdir / "books"), encoding="utf-8")
    now = now_local()
    province = generate_province(seed=2026, dossiers=dossiers, start=now.date() - timedelta(days=DAYS_OF_HISTORY),
                                 now=now)
    engine = make_engine(url)
    init_schema(engine)
    started = time.perf_counter()
    counts = fill(engine, province, now)
    fill_seconds = time.perf_counter() - started
    analyse(engine)
    first, last = last_quarter(now.date())
    quarter = ["--from", str(first), "--to", str(last)]
    audits = {"present, empty history": run_audit(config, workdir, [])}
    reads, nightly, quarterly = [], [], []
    for _ in range(repeat):
        reads.append(full_read(engine))
        nightly.append(run_audit(config, workdir, []))
        quarterly.append(run_audit(config, workdir, quarter))
    engine.dispose()
    audits["present, nightly"] = best(nightly)
    audits[f"quarter {first}..{last}"] = best(quarterly)
    read = min(seconds for seconds, _ in reads)
    return {
        "store": store, "dossiers": dossiers, "rows": counts, "fill_seconds": round(fill_seconds, 1),
        "full_read_seconds": round(read, 2), "full_read_runs": [round(seconds, 2) for seconds, _ in reads],
        "audit_runs": {"present, nightly": [a["seconds"] for a in nightly],
                       f"quarter {first}..{last}": [a["seconds"] for a in quarterly]},
        "audits": {name: {**a, "ratio_to_full_read": round(a["seconds"] / read, 2)} for name, a in audits.items()},
    }


def best(runs: list[dict]) -> dict:
    """The fastest run, with the highest peak memory of them all."""
    return {**min(runs, key=lambda a: a["seconds"]), "peak_memory_mb": max(a["peak_memory_mb"] for a in runs)}


def fresh_database(store: str, workdir: Path, pg_url: str) -> str:
    if store == "sqlite":
        path = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    return f"{pg_url}?options={quote(f'-csearch_path={PG_SCHEMA}')}"


def fill(engine, province, now: datetime) -> dict[str, int]:
    """The province's catalogue, dossiers, portal list and tracking book, as the connectors would
    store them, written in bulk."""
    writer = Writer(engine)
    writer.add(Agency, [{"code": a.code, "name": a.name, "parent_code": a.parent or None, "level": a.level}
                        for a in province.agencies])
    writer.add(Procedure, [procedure_row(p, now) for p in province.procedures])
    for dossier in province.iter_dossiers():
        if dossier.in_onestop:
            writer.add_dossier(dossier, now)
        if dossier.on_portal and dossier.listed_at is not None:
            writer.buffer(PortalDossier, {
                "code_key": code_key(dossier.code), "code": dossier.code,
                "procedure_code": strip_province_suffix(dossier.procedure_code), "agency_code": dossier.agency,
                "channel": str(dossier.channel), "channel_text": None, "submitted_at": dossier.listed_at,
                "status_text": None, "source": "cong-dvc", "synced_at": now})
        if dossier.in_book and dossier.received is not None:
            writer.buffer(BookRow, {
                "source": "so-theo-doi", "code": dossier.code, "code_key": code_key(dossier.code),
                "agency_code": dossier.agency, "procedure_name": None, "received_at": dossier.received,
                "received_has_time": True, "appointment_date": None, "file": "bench", "row_number": 0,
                "synced_at": now})
    writer.add(SyncRun, [{"source": name, "kind": kind, "started_at": now - timedelta(minutes=5),
                          "finished_at": now, "status": "ok", "records_read": 0, "records_inserted": 0,
                          "records_updated": 0, "records_rejected": 0} for name, kind in SOURCES])
    writer.flush()
    return writer.counts


def procedure_row(procedure, now: datetime) -> dict:
    limit = parse_time_limit(procedure.time_limit_text)
    missing = procedure.missing_label
    return {
        "code": procedure.code, "name": procedure.name, "field": procedure.field, "agency_code": procedure.agency,
        "time_limit_text": procedure.time_limit_text, "time_limit_kind": limit.kind.value,
        "time_limit_amount": limit.amount, "fee_text": procedure.fee_text,
        "fee_status": parse_fee(procedure.fee_text).value, "service_level": procedure.level,
        "full_online_eligible": procedure.full_online_eligible,
        "online_payment": None if missing == "Thanh toán trực tuyến" else procedure.online_payment,
        "missing_labels": missing, "source": "cong-dvc", "synced_at": now,
    }


class Writer:
    """Buffers rows per table and writes them in batches: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, engine):
        self.engine = engine
        self.buffers: dict = {}
        self.counts: dict[str, int] = {}

    def add_dossier(self, d, now: datetime) -> None:
        self.buffer(Dossier, {
            "code": d.code, "code_key": code_key(d.code), "procedure_code": strip_province_suffix(d.procedure_code),
            "procedure_code_raw": d.procedure_code, "agency_code": d.agency, "channel": str(d.channel),
            "applicant_name": d.applicant, "applicant_id": d.applicant_id, "summary": d.summary, "status": d.status,
            "submitted_at": d.submitted, "received_at": d.received, "appointment_at": d.appointment,
            "finished_at": d.finished, "returned_at": d.returned, "refused_at": d.refused, "created_at": d.created,
            "updated_at": d.updated, "source": "motcua", "synced_at": now})
        for seq, s in enumerate(d.supplements):
            self.buffer(SupplementRequest, {"dossier_code": d.code, "seq": seq, "requested_at": s.requested,
                                            "answered_at": s.answered})
        for seq, a in enumerate(d.apologies):
            self.buffer(ApologyLetter, {"dossier_code": d.code, "seq": seq, "issued_at": a.issued,
                                        "new_appointment_at": a.new_appointment})
        for seq, f in enumerate(d.fees):
            self.buffer(Fee, {"dossier_code": d.code, "seq": seq, "fee_code": f.code, "name": f.name,
                              "amount": f.amount})
        for seq, p in enumerate(d.payments):
            self.buffer(Payment, {"dossier_code": d.code, "seq": seq, "transaction_code": p.transaction,
                                  "amount": p.amount, "method": p.method, "paid_at": p.at})

    def buffer(self, model, row: dict) -> None:
        rows = self.buffers.setdefault(model, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()  # every table, dossiers before their children: the foreign keys hold

    def add(self, model, rows: list[dict]) -> None:
        for row in rows:
            self.buffers.setdefault(model, []).append(row)
        self.flush()

    def flush(self) -> None:
        for model in (Agency, Procedure, Dossier, SupplementRequest, ApologyLetter, Fee, Payment, PortalDossier,
                      BookRow, SyncRun):
            rows = self.buffers.pop(model, [])
            if rows:
                self.write(model.__table__, rows)
                self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + len(rows)

    def write(self, table, rows: list[dict]) -> None:
        if self.engine.dialect.name != "postgresql":
            with self.engine.begin() as connection:
                connection.execute(insert(table), rows)
            return
        columns = list(rows[0])
        raw = self.engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_copy_value(row[c]) for c in columns])
            raw.commit()
        finally:
            raw.close()


def _copy_value(value):
    return str(value) if isinstance(value, Decimal) else value


def analyse(engine) -> None:
    """Table statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep them."""
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("ANALYZE"))


def full_read(engine) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    with engine.connect() as connection:
        result = connection.execute(select(Dossier.__table__), execution_options={"yield_per": BATCH})
        for _ in result:
            rows += 1
    return time.perf_counter() - started, rows


# Runs a command and reports its peak resident memory. The audit is started from this small
# process rather than from the benchmark itself: on Linux a child's peak counts the pages it
# shared with its parent before exec, and the benchmark's own process is large.
PEAK_MEMORY = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def run_audit(config: Path, workdir: Path, options: list[str]) -> dict:
    command = [str(ROOT / ".venv" / "bin" / "motcua"), "audit", "--config", str(config), "--format", "json",
               "--output", str(workdir / "audit.json"), *options]
    started = time.perf_counter()
    process = subprocess.run([sys.executable, "-c", PEAK_MEMORY, *command], stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with status {process.returncode}:\n{process.stderr}")
    peak_kb = int(process.stderr.strip().splitlines()[-1])
    output = json.loads((workdir / "audit.json").read_text(encoding="utf-8"))
    return {"seconds": round(seconds, 2), "peak_memory_mb": round(peak_kb / 1024),
            "findings": len(output["findings"]),
            "province": next(f for f in output["figures"] if f["agency"] == "*")}


def last_quarter(today: date) -> tuple[date, date]:
    first_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = first_this - timedelta(days=1)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last


CONFIG = """\
[database]
url = "{url}"

[[sources]]
name = "motcua"
kind = "onestop_api"
base_url = "http://127.0.0.1:8081/api"
username_env = "MOTCUA_ONESTOP_USER"
password_env = "MOTCUA_ONESTOP_PASSWORD"

[[sources]]
name = "cong-dvc"
kind = "portal_html"
base_url = "http://127.0.0.1:8082"

[[sources]]
name = "so-theo-doi"
kind = "tracking_book"
path = "{books}/*"
"""


if __name__ == "__main__":
    main()

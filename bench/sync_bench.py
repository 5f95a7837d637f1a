"""Sync throughput: records per second of `motcua sync` against a large simulated province.

    .venv/bin/python bench/sync_bench.py --dossiers 100000 --store sqlite
    .venv/bin/python bench/sync_bench.py --dossiers 100000 --store postgresql

The province is served by `python -m sandbox.simulator serve` in a process of its own, so that
the simulator's work does not share the interpreter with the sync it measures. Each source is
synced into an empty store (a temporary SQLite file, or a fresh schema in the PostgreSQL
database of --postgres-url), then synced again to measure an incremental run.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy

from connectors.sync import LogProgress, sync_source
from monitor.clock import now_local
from monitor.config import load_settings
from monitor.db import init_schema, make_engine

NOW = datetime(2026, 3, 31, 17, 0)
START = "2025-04-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--page-size", type=int, default=500, help="one-stop SoBanGhi")
    parser.add_argument("--portal-page-size", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, serve(Path(folder), args) as (onestop, portal), \
            store(Path(folder), args) as database_url:
        settings = load_settings(write_config(Path(folder), database_url, onestop, portal, args.page_size))
        engine = make_engine(settings.database_url)
        init_schema(engine)
        print(f"{args.dossiers:,} dossiers, store {args.store}, one-stop pages of {args.page_size}, "
              f"portal pages of {args.portal_page_size}")
        print(f"{'run':<12}{'source':<14}{'records':>10}{'seconds':>10}{'records/s':>12}")
        for run in ("first", "incremental"):
            total_records, total_seconds = 0, 0.0
            for source in settings.sources:
                began = time.perf_counter()
                outcome = sync_source(engine, settings, source, now_local, LogProgress(every_seconds=3600))
                seconds = time.perf_counter() - began
                if outcome.status != "ok":
                    sys.exit(f"{source.name} failed: {outcome.error}")
                records = outcome.counts.read + outcome.counts.rejected
                total_records, total_seconds = total_records + records, total_seconds + seconds
                print(f"{run:<12}{source.name:<14}{records:>10,}{seconds:>10.1f}{records / seconds:>12,.0f}")
            print(f"{run:<12}{'all':<14}{total_records:>10,}{total_seconds:>10.1f}"
                  f"{total_records / total_seconds:>12,.0f}")
        engine.dispose()


@contextmanager
def serve(folder: Path, args):
    """The simulated province in a process of its own; the URLs of its one-stop API and portal."""
    command = [sys.executable, "-m", "sandbox.simulator", "serve", "--seed", "1", "--dossiers", str(args.dossiers),
               "--now", NOW.isoformat(), "--start", START, "--faults", "none", "--books", str(folder / "books"),
               "--page-size", str(args.portal_page_size)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        urls = {}
        for line in process.stdout:
            if match := re.match(r"(One-stop API|Portal): +(?:POST )?(\S+)", line):
                urls[match.group(1)] = match.group(2).removesuffix("/thu-tuc-hanh-chinh")
            if len(urls) == 2:
                break
        if len(urls) < 2:
            sys.exit("the simulator did not start")
        yield urls["One-stop API"], urls["Portal"]
    finally:
        process.terminate()
        process.wait()


@contextmanager
def store(folder: Path, args):
    if args.store == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin = make_engine(args.postgres_url)
    schema = f"sync_bench_{secrets.token_hex(4)}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
    try:
        yield f"{args.postgres_url}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


def write_config(folder: Path, database_url: str, onestop: str, portal: str, page_size: int) -> Path:
    os.environ["BENCH_ONESTOP_USER"], os.environ["BENCH_ONESTOP_PASSWORD"] = "canbo", "matkhau"
    config = folder / "config.toml"
    config.write_text(f"""
[database]
url = "{database_url}"

[[sources]]
name = "motcua"
kind = "onestop_api"
base_url = "{onestop}"
username_env = "BENCH_ONESTOP_USER"
password_env = "BENCH_ONESTOP_PASSWORD"
page_size = {page_size}

[[sources]]
name = "cong-dvc"
kind = "portal_html"
base_url = "{portal}"

[[sources]]
name = "so-theo-doi"
kind = "tracking_book"
path = "books/*"
""", encoding="utf-8")
    return config


if __name__ == "__main__":
    main()

"""Receiver throughput: dossiers per second that `motcua receive` accepts, the latency of a batch,
and the receiver's memory, with a simulated province pushed as the national sync stream.

    .venv/bin/python bench/receive_bench.py --dossiers 100000 --store sqlite
    .venv/bin/python bench/receive_bench.py --dossiers 100000 --store postgresql
    .venv/bin/python bench/receive_bench.py --dossiers 5000 --profile    # where the loader's time goes

Every dossier of `sandbox.simulator.generate_province` becomes a `DongBoHoSoMC` record with the
fields of sources.md section 4 (fees, supplement rounds, result documents, submitted files), in
bodies of --batch records written to a JSON Lines file before the clock starts. The receiver runs
as `python -m monitor receive` in a process of its own, on an empty store; a sender in another
process posts the bodies one after the other over one keep-alive connection, as an LGSP does, and
times each answer. The receiver's memory is read from /proc/<pid>/status (VmRSS while it runs,
VmHWM at the end). With --profile, the bodies are loaded in this process under cProfile instead
(the loader alone, without HTTP), and the top of the profile is printed.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.stream_loader import DOSSIERS, StreamBatch, StreamLoader  # noqa: E402
from monitor.db import init_schema, make_engine  # noqa: E402
from sandbox.simulator import generate_province  # noqa: E402

NOW = datetime(2026, 3, 31, 17, 0)
START = date(2025, 4, 1)
USERNAME, PASSWORD = "lgsp", "bench-secret"
STREAM_TIME = "%Y%m%d%H%M%S"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="records per request body")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", action="store_true", help="profile the loader in this process instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, store(Path(folder), args) as database_url:
        folder = Path(folder)
        began = time.perf_counter()
        bodies = folder / "bodies.jsonl"
        batches = write_bodies(bodies, args.dossiers, args.batch)
        print(f"{args.dossiers:,} dossiers in {batches:,} bodies of {args.batch} "
              f"({bodies.stat().st_size / 2 ** 20:,.0f} MB), made in {time.perf_counter() - began:.0f} s; "
              f"store {args.store}")
        engine = make_engine(database_url)
        init_schema(engine)
        if args.profile:
            profile(engine, bodies)
        else:
            push(folder, database_url, bodies, args.store)
        engine.dispose()


# --- the stream a province sends ----------------------------------------------------------------------

def write_bodies(path: Path, dossiers: int, size: int) -> int:
    province = generate_province(seed=1, dossiers=dossiers, start=START, now=NOW)
    names = {agency.code: agency.name for agency in province.agencies}
    count, data = 0, []
    with path.open("w", encoding="utf-8") as out:
        for dossier in province.iter_dossiers():
            data.append(stream_record(dossier, names))
            if len(data) == size:
                count += _write(out, data)
                data = []
        if data:
            count += _write(out, data)
    return count


def _write(out, data: list[dict]) -> int:
    out.write(json.dumps({"service": DOSSIERS, "isUpdating": "False", "data": data}, ensure_ascii=False) + "\n")
    return 1


def stream_record(d, agency_names: dict[str, str]) -> dict:
    """A simulated dossier as a one-stop system writes it into `DongBoHoSoMC`."""
    def t(value: datetime | None) -> str:
        return value.strftime(STREAM_TIME) if value else ""

    online = d.channel == 2
    return {
        "MaHoSo": d.code, "MaTTHC": d.procedure_code, "KenhThucHien": str(d.channel),
        "ChuHoSo": d.applicant, "SoGiayToChuHoSo": d.applicant_id, "TrichYeuHoSo": d.summary,
        "Email": "", "SoDienThoai": "",
        "NgayNopHoSo": t(d.submitted), "NgayTiepNhan": t(d.received), "NgayHenTra": t(d.appointment),
        "NgayKetThucXuLy": t(d.finished), "NgayTra": t(d.returned), "NgayTuChoi": t(d.refused),
        "TrangThaiHoSo": str(d.status), "DonViXuLy": agency_names.get(d.agency, ""),
        "DuocThanhToanTrucTuyen": "2" if any(p.method == "truc-tuyen" for p in d.payments) else "0",
        "HoSoCoThanhPhanSoHoa": "1" if online else "0",
        "DanhSachLePhi": [{"MaPhiLePhi": fee.code, "TenPhiLePhi": fee.name, "HinhThucThu": "1",
                           "Gia": str(fee.amount), "LoaiPhiLePhi": "1"} for fee in d.fees],
        "DanhSachHoSoBoSung": [{"HoSoBoSungId": f"{d.code}-{n}", "NgayBoSung": t(s.requested),
                                "NgayTiepNhanBoSung": t(s.answered), "NgayHenTraTruoc": t(d.appointment),
                                "NgayHenTraMoi": "", "TrangThaiBoSung": "2" if s.answered else "1"}
                               for n, s in enumerate(d.supplements, start=1)],
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Kết quả giải quyết", "MaGiayToKetQua": f"KQ-{d.code}",
                                  "DuongDanTepTinKetQua": f"https://motcua.example.gov.vn/kq/{d.code}.pdf"
                                  if online else ""}]
        if d.status in (9, 10) else [],
        "TaiLieuNop": [{"TepDinhKemId": f"{d.code}-tp{n}", "TenTepDinhKem": f"thanh-phan-{n}.pdf",
                        "MaThanhPhanHoSo": f"TP{n}", "DuocSoHoa": "1" if online else "0", "DuocTaiSuDung": "0",
                        "DuocLayTuKhoDMQG": "0"} for n in (1, 2)],
    }


# --- the receiver and its sender -------------------------------------------------------------------------

def push(folder: Path, database_url: str, bodies: Path, store_name: str) -> None:
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n\n[[sources]]\nname = "luong"\nkind = "dvcqg_stream"\n'
                      f'listen = "127.0.0.1:0"\nusername_env = "BENCH_USER"\npassword_env = "BENCH_PASSWORD"\n',
                      encoding="utf-8")
    env = os.environ | {"PYTHONPATH": str(ROOT), "BENCH_USER": USERNAME, "BENCH_PASSWORD": PASSWORD}
    receiver = subprocess.Popen([sys.executable, "-m", "monitor", "receive", "--config", str(config)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in receiver.stderr:
            if match := re.search(r"receiving on (http://\S+)", line):
                url = match.group(1)
                break
        if url is None:
            sys.exit("the receiver did not start")
        threading.Thread(target=lambda: [None for _ in receiver.stderr], daemon=True).start()   # drain its log

        spawn = multiprocessing.get_context("spawn")
        done = spawn.Value("i", 0)
        rss: list[tuple[int, int]] = []          # (batches answered, VmRSS kB)
        stop = threading.Event()

        def sample():
            while not stop.wait(0.2):
                rss.append((done.value, _status(receiver.pid, "VmRSS")))

        threading.Thread(target=sample, daemon=True).start()
        results = spawn.Queue()
        sender = spawn.Process(target=send, args=(url, str(bodies), done, results))
        cpu_before = _cpu_seconds(receiver.pid)
        sender.start()
        latencies, records, rejected, failures, seconds = results.get()
        sender.join()
        cpu = _cpu_seconds(receiver.pid) - cpu_before
        peak = _status(receiver.pid, "VmHWM")
        stop.set()
        receiver.send_signal(signal.SIGTERM)
        code = receiver.wait(timeout=120)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()

    with make_engine(database_url).connect() as connection:
        stored = connection.scalar(sqlalchemy.text("select count(*) from dossier"))
    latencies.sort()
    print(f"{'store':<12}{'records':>10}{'stored':>10}{'rejected':>10}{'seconds':>9}{'records/s':>11}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'peak MB':>9}")
    print(f"{store_name:<12}{records:>10,}{stored:>10,}{rejected:>10,}{seconds:>9.1f}{records / seconds:>11,.0f}"
          f"{_quantile(latencies, 0.5):>8.0f}{_quantile(latencies, 0.99):>8.0f}{latencies[-1]:>8.0f}"
          f"{peak / 1024:>9.0f}")
    batches = len(latencies)
    marks = [(share, next((kb for n, kb in rss if n >= share * batches), rss[-1][1] if rss else 0))
             for share in (0.1, 0.25, 0.5, 0.75, 1.0)]
    print("receiver VmRSS after " + ", ".join(f"{share:.0%} of the batches {kb / 1024:.0f} MB" for share, kb in marks))
    print(f"receiver CPU {cpu:.1f} s, {records / cpu:,.0f} records per CPU second (what the machine's other load "
          f"does not change much); failed requests {failures}; receiver exit code after SIGTERM {code}")


def send(url: str, bodies: str, done, results) -> None:
    """The sender, in a process of its own: log in, post every body, time each answer."""
    import requests

    http = requests.Session()
    session = http.post(url + "/auth", json={"username": USERNAME, "password": PASSWORD}, timeout=60).json()["session"]
    latencies, records, rejected, failures = [], 0, 0, 0
    began = time.perf_counter()
    with open(bodies, encoding="utf-8") as lines:
        for line in lines:
            body = line.rstrip("\n")
            payload = ('{"session": ' + json.dumps(session) + ", " + body[1:]).encode("utf-8")
            start = time.perf_counter()
            response = http.post(url + "/", data=payload, timeout=600, headers={"Content-Type": "application/json"})
            latencies.append((time.perf_counter() - start) * 1000)
            answer = response.json() if response.status_code == 200 else {}
            if answer.get("error_code") != 0:
                failures += 1
            rejected += len(answer.get("result") or [])
            records += body.count('"MaHoSo"')
            with done.get_lock():
                done.value += 1
    results.put((latencies, records, rejected, failures, time.perf_counter() - began))


def profile(engine, bodies: Path) -> None:
    """The loader alone, in this process, under cProfile: JSON parsing, validation and the store."""
    loader_time, records = 0.0, 0
    profiler = cProfile.Profile()
    with bodies.open(encoding="utf-8") as lines:
        for line in lines:
            profiler.enable()
            start = time.perf_counter()
            body = json.loads(line)
            batch = StreamBatch(body["service"], body["data"])
            StreamLoader(engine, "luong", None, lambda: NOW).load(batch)
            loader_time += time.perf_counter() - start
            profiler.disable()
            records += len(body["data"])
    print(f"loader alone: {records:,} records in {loader_time:.1f} s, {records / loader_time:,.0f} records/s "
          "(under cProfile, which slows Python code)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status(pid: int, key: str) -> int:
    """A value of /proc/<pid>/status, in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _quantile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 \
        else values[0]


@contextmanager
def store(folder: Path, args):
    if args.store == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin = make_engine(args.postgres_url)
    schema = f"receive_bench_{secrets.token_hex(4)}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
    try:
        yield f"{args.postgres_url}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""`motcua receive` (sources.md section 4, "The receiver"), over real HTTP on SQLite and PostgreSQL:
uvicorn on 127.0.0.1, port 0, in a thread of the test (with a clock the test moves), or as
`python -m monitor receive` in a process of its own (SIGTERM, kill -9)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy
from sqlalchemy import select
from sqlmodel import SQLModel

from cli_helpers import run_cli, write_config
from connectors.receiver import Listener, Receivers, receiver_app, receivers_for
from connectors.receiver.serve import bind
from connectors.stream_loader import DOSSIERS, STEPS, StreamBatch, StreamLoader
from monitor.config import load_settings
from monitor.db import make_engine
from monitor.kinds.dvcqg_stream import StreamSettings
from monitor.models import Dossier, Fee, ProcessingStep, SupplementRequest
from sync_support import NOW, rejected_input, store_content

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path("/work/shared/spec/samples")
SOURCE = "luong-dvcqg"
USERNAME, PASSWORD = "lgsp-h59", "Mk-9c1e-bí-mật"
USER_ENV, PASSWORD_ENV = "MOTCUA_TEST_STREAM_USER", "MOTCUA_TEST_STREAM_PASSWORD"
RESOLVED_CODE, WAITING_CODE = "000.00.31.H59-260105-0001", "000.00.31.H59-260106-0002"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"dvcqg-{name}.json").read_text(encoding="utf-8"))


def record(code: str, **fields) -> dict:
    base = {"MaHoSo": code, "MaTTHC": "1.001235", "KenhThucHien": "1", "ChuHoSo": "Ngô Văn Hải",
            "SoGiayToChuHoSo": "001099012345", "NgayTiepNhan": "20260112090000", "NgayHenTra": "20260116170000",
            "NgayKetThucXuLy": "", "NgayTra": "", "NgayTuChoi": "", "TrangThaiHoSo": "4",
            "DonViXuLy": "Sở Tư pháp", "DanhSachLePhi": [{"MaPhiLePhi": "LP01", "Gia": "50000"}]}
    return base | fields


class Clock:
    """The receiver's clock, moved by the test."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Running:
    """A receiver served in a thread of the test."""

    def __init__(self, receivers: Receivers):
        self.receivers = receivers
        self.urls = {listener.name: listener.url for listener in receivers.listeners}
        self.url = next(iter(self.urls.values()))
        self.thread = threading.Thread(target=receivers.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not receivers.started:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.01)
        self.http = requests.Session()

    def post(self, body, path: str = "/", url: str | None = None, **options) -> requests.Response:
        data = body if isinstance(body, (bytes, str)) or body is None or callable(getattr(body, "__next__", None)) \
            else json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.http.post((url or self.url) + path, data=data, timeout=30, **options)

    def log_in(self, username: str = USERNAME, password: str = PASSWORD, url: str | None = None) -> str:
        answer = self.post({"username": username, "password": password}, "/auth", url=url).json()
        assert answer["error_code"] == 0, answer
        return answer["session"]

    def call(self, session: str, body: dict, url: str | None = None) -> dict:
        response = self.post(body | {"session": session}, url=url)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        self.http.close()
        self.receivers.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def settings(**keys) -> StreamSettings:
    return StreamSettings(name=SOURCE, listen="127.0.0.1:0", **({"max_body_mb": 0.05} | keys))


def serve(engine, clock: Clock, source: StreamSettings | None = None) -> Running:
    source = source or settings()
    app = receiver_app(engine, source, USERNAME, PASSWORD, clock)
    return Running(Receivers([Listener(source.name, app, bind(source, "config.toml"))], graceful_seconds=10))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def receiver(engine, clock):
    running = serve(engine, clock)
    yield running
    running.stop()


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(sqlalchemy.func.count()).select_from(table.__table__))


def stored(engine, code: str) -> dict | None:
    d = Dossier.__table__
    with engine.connect() as connection:
        row = connection.execute(select(d).where(d.c.code == code)).mappings().first()
    return dict(row) if row else None


# --- the protocol -----------------------------------------------------------------------------------

def test_the_sample_bodies_are_accepted_as_they_are(engine, receiver):
    session = receiver.log_in()
    for name in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC"):
        body = sample(name)
        del body["session"]   # the sample's own token is no session of this receiver
        assert receiver.call(session, body) == {"error_code": 0, "message": "OK", "result": []}

    resolved, waiting = stored(engine, RESOLVED_CODE), stored(engine, WAITING_CODE)
    assert (resolved["agency_code"], resolved["procedure_code"], resolved["channel"], resolved["status"],
            resolved["returned_at"], resolved["source"]) == \
        ("000.00.31.H59", "1.001234", "2", 10, datetime(2026, 1, 15, 9, 0), SOURCE)
    # No channel is the counter; the entry time is the status-2 step's; the status-5 step is a request.
    assert (waiting["channel"], waiting["status"], waiting["created_at"]) == ("1", 5, datetime(2026, 1, 6, 14, 5))
    assert count(engine, ProcessingStep) == 3
    s = SupplementRequest.__table__
    with engine.connect() as connection:
        assert connection.execute(select(s.c.dossier_code, s.c.requested_at, s.c.answered_at)).all() == \
            [(WAITING_CODE, datetime(2026, 1, 9, 10, 30), None)]


def test_log_in_with_the_right_credentials_only(receiver):
    wrong = {"error_code": 1, "message": "Sai tên đăng nhập hoặc mật khẩu", "result": None}
    for body in ({"username": USERNAME, "password": PASSWORD + "x"},
                 {"username": USERNAME.upper(), "password": PASSWORD},
                 {"username": USERNAME}, {"username": USERNAME, "password": 123}, {}):
        response = receiver.post(body, "/auth")
        assert (response.status_code, response.json()) == (200, wrong)

    response = receiver.post({"username": USERNAME, "password": PASSWORD}, "/auth",
                             headers={"dstcode": "000.00.00.H59"})
    answer = response.json()
    assert (response.status_code, answer["error_code"], answer["message"]) == (200, 0, "OK")
    assert len(answer["session"]) >= 32 and answer["session"] != receiver.log_in()
    assert receiver.call(answer["session"], {"service": DOSSIERS, "data": []})["error_code"] == 0


def test_a_session_expires_session_minutes_after_its_log_in(engine, receiver, clock):
    session = receiver.log_in()
    body = {"service": DOSSIERS, "isUpdating": "True", "data": [record("000.00.31.H59-260112-0001")]}
    clock.now = NOW + timedelta(minutes=60) - timedelta(seconds=1)
    assert receiver.call(session, body)["error_code"] == 0

    clock.now = NOW + timedelta(minutes=60)
    expired = {"error_code": 2, "message": "Phiên làm việc hết hạn", "result": None}
    body["data"] = [record("000.00.31.H59-260112-0002")]
    assert receiver.call(session, body) == expired
    assert receiver.call("not-a-session", body) == expired
    assert receiver.call(None, body) == expired
    assert stored(engine, "000.00.31.H59-260112-0002") is None

    again = receiver.log_in()
    assert receiver.call(again, body)["error_code"] == 0
    assert stored(engine, "000.00.31.H59-260112-0002")["status"] == 4
    assert receiver.call(session, body) == expired


def test_an_unknown_service_is_error_code_3(engine, receiver):
    session = receiver.log_in()
    for service in ("DongBoHoSo", "dongbohosomc", None, 3):
        assert receiver.call(session, {"service": service, "data": [record("000.00.31.H59-260112-0001")]}) == \
            {"error_code": 3, "message": "Dịch vụ không được hỗ trợ", "result": None}
    assert count(engine, Dossier) == 0


def test_a_request_that_is_not_one_is_http_400(engine, receiver):
    session = receiver.log_in()
    cases = [(b"{\"session\": ", "Dữ liệu gửi lên không phải JSON"),
             (b"\xff\xfe\x00", "Dữ liệu gửi lên không phải JSON"),
             (b"[" * 100_000 + b"]" * 100_000, None),   # nested past the parser: 400 or 413, never a crash
             (json.dumps([{"session": session}]).encode(), "Dữ liệu gửi lên không phải một đối tượng JSON"),
             (json.dumps({"session": session, "service": DOSSIERS, "data": {"MaHoSo": "x"}}).encode(),
              "data không phải là danh sách"),
             (json.dumps({"session": session, "service": STEPS}).encode(), "data không phải là danh sách"),
             (json.dumps({"session": session, "service": "TraCuuHoSo"}).encode(), "Thiếu MaHoSo")]
    for body, message in cases:
        response = receiver.post(body)
        if message is None:
            assert response.status_code in (400, 413)
            continue
        assert (response.status_code, response.json()) == (400, {"error_code": 4, "message": message, "result": None})
    assert receiver.post(b"nope", "/auth").status_code == 400
    assert (receiver.http.get(receiver.url + "/").status_code, receiver.post(b"{}", "/x").status_code) == (405, 404)
    assert count(engine, Dossier) == 0


def test_a_body_over_max_body_mb_is_http_413_whether_announced_or_not(engine, receiver):
    session = receiver.log_in()
    limit = int(0.05 * 2 ** 20)
    padding = "x" * (limit - 2_000)   # an ignored field: a body just under the limit is taken
    fits = json.dumps({"session": session, "service": DOSSIERS,
                       "data": [record("000.00.31.H59-260112-0001", Email=padding)]}).encode()
    assert len(fits) <= limit
    assert receiver.post(fits).json()["error_code"] == 0

    too_large = json.dumps({"session": session, "service": DOSSIERS,
                            "data": [record("000.00.31.H59-260112-0002", Email=padding + "x" * 3_000)]}).encode()
    assert len(too_large) > limit
    expected = {"error_code": 5, "message": "Dữ liệu gửi lên lớn hơn 0.05 MB", "result": None}
    response = receiver.post(too_large)   # with its Content-Length: refused before it is read
    assert (response.status_code, response.json()) == (413, expected)
    # Chunked, without a length: refused once more than the limit has come.
    response = receiver.post(iter(too_large[i:i + 4096] for i in range(0, len(too_large), 4096)))
    assert (response.status_code, response.json()) == (413, expected)
    assert requests.post(receiver.url + "/auth", data=b"{" + b" " * limit + b"}", timeout=30).status_code == 413
    assert stored(engine, "000.00.31.H59-260112-0002") is None


def test_tra_cuu_ho_so_gives_the_stored_dossier_in_the_stream_fields(engine, receiver):
    session = receiver.log_in()
    body = sample("DongBoHoSoMC")
    body["data"][0]["DanhSachHoSoBoSung"] = [{"HoSoBoSungId": "bs-1", "NgayBoSung": "20260107100000",
                                              "NgayTiepNhanBoSung": "20260108090000", "TrangThaiBoSung": "2"}]
    assert receiver.call(session, body)["result"] == []

    answer = receiver.call(session, {"service": "TraCuuHoSo", "MaHoSo": " 000.00.31.h59-260105-0001\t"})
    assert answer == {"error_code": 0, "message": "OK", "result": {
        "MaHoSo": RESOLVED_CODE, "MaTTHC": "1.001234.000.00.00.H59", "KenhThucHien": "2", "TrangThaiHoSo": "10",
        "NgayNopHoSo": "20260105081500", "NgayTiepNhan": "20260105093000", "NgayHenTra": "20260115170000",
        "NgayKetThucXuLy": "20260114160000", "NgayTra": "20260115090000", "NgayTuChoi": "",
        "DonViXuLy": "Sở Tư pháp", "DuocThanhToanTrucTuyen": "2", "HoSoCoThanhPhanSoHoa": "1",
        "DanhSachLePhi": [{"MaPhiLePhi": "LP01", "TenPhiLePhi": "Phí cung cấp thông tin lý lịch tư pháp",
                           "Gia": "200000"}],
        "DanhSachHoSoBoSung": [{"NgayBoSung": "20260107100000", "NgayTiepNhanBoSung": "20260108090000"}],
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Phiếu lý lịch tư pháp số 1", "MaGiayToKetQua": "KQ-0001",
                                  "DuongDanTepTinKetQua": "https://motcua.example.gov.vn/kq/KQ-0001.pdf"}],
        "TaiLieuNop": [{"TepDinhKemId": "f-1", "TenTepDinhKem": "to-khai.pdf", "MaThanhPhanHoSo": "TP1",
                        "DuocSoHoa": "1", "DuocTaiSuDung": "0", "DuocLayTuKhoDMQG": "0"}]}}
    # Personal data is not given back.
    assert "ChuHoSo" not in answer["result"] and "SoGiayToChuHoSo" not in answer["result"]

    # As last received: an update replaces the record whole.
    update = record(WAITING_CODE, TrangThaiHoSo="4", KenhThucHien="", DuocThanhToanTrucTuyen="1", DanhSachLePhi=[])
    assert receiver.call(session, {"service": DOSSIERS, "data": [update]})["result"] == []
    waiting = receiver.call(session, {"service": "TraCuuHoSo", "MaHoSo": WAITING_CODE})["result"]
    assert (waiting["TrangThaiHoSo"], waiting["KenhThucHien"], waiting["DuocThanhToanTrucTuyen"],
            waiting["NgayTiepNhan"], waiting["DanhSachLePhi"], "DanhSachHoSoBoSung" in waiting) == \
        ("4", "1", "1", "20260112090000", [], False)

    # Unknown here, or another source's: empty.
    StreamLoader(engine, "luong-khac", None, lambda: NOW).load(
        StreamBatch(DOSSIERS, [record("000.00.16.H59-260112-0009")]))
    for code in ("000.00.31.H59-260105-9999", "000.00.16.H59-260112-0009"):
        assert receiver.call(session, {"service": "TraCuuHoSo", "MaHoSo": code}) == \
            {"error_code": 0, "message": "OK", "result": {}}


def test_rejected_records_are_listed_and_the_rest_of_the_batch_is_stored(engine, receiver):
    session = receiver.log_in()
    good, bad_status, bad_date = ("000.00.31.H59-260112-0001", "000.00.31.H59-260112-0002",
                                  "000.00.31.H59-260112-0003")
    body = {"service": DOSSIERS, "madonvi": "000.00.31.H59",
            "data": [record(good), record(bad_status, TrangThaiHoSo="11"), {"MaTTHC": "1.001235"},
                     record(bad_date, NgayTiepNhan="20260231090000"), "not a record"]}
    answer = receiver.call(session, body)
    assert answer == {"error_code": 0, "message": "Đã lưu; 4 bản ghi bị từ chối (xem result)", "result": [
        {"MaHoSo": bad_status, "message": "TrangThaiHoSo is not 1 to 10"},
        {"MaHoSo": None, "message": "MaHoSo is empty"},
        {"MaHoSo": bad_date, "message": "NgayTiepNhan: unparseable date (not yyyyMMddHHmmss)"},
        {"MaHoSo": None, "message": "a record that is not a JSON object"}]}
    assert stored(engine, good)["status"] == 4
    assert (stored(engine, bad_status), stored(engine, bad_date)) == (None, None)
    assert len(rejected_input(engine)) == 4

    # A stale update of a resolved dossier is refused, and says why.
    assert receiver.call(session, {"service": DOSSIERS, "data": [record(good, TrangThaiHoSo="10",
                                                                        NgayTra="20260115090000")]})["result"] == []
    answer = receiver.call(session, {"service": DOSSIERS, "data": [record(good, TrangThaiHoSo="4")]})
    assert [item["message"].split(":")[0] for item in answer["result"]] == ["stale_update"]
    assert stored(engine, good)["status"] == 10


def test_a_replayed_batch_changes_nothing(engine, receiver):
    session = receiver.log_in()
    bodies = [sample("DongBoHoSoMC"), sample("CapNhatTienDoHoSoMC")]
    for body in bodies:
        assert receiver.call(session, body)["result"] == []
    before = store_content(engine)
    for body in reversed(bodies):   # again, and out of order
        assert receiver.call(session, body) == {"error_code": 0, "message": "OK", "result": []}
    assert store_content(engine) == before
    assert (count(engine, Dossier), count(engine, ProcessingStep)) == (2, 3)


@pytest.mark.parametrize("down", ["postgresql", "sqlite"])
def test_the_store_unreachable_is_http_503_so_the_sender_retries(tmp_path, clock, down):
    if down == "postgresql":
        url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"   # nothing listens on port 1
    else:
        url = f"sqlite:///{tmp_path / 'removed' / 'motcua.db'}"                  # a folder that is not there
    engine = make_engine(url)
    running = serve(engine, clock)
    try:
        session = running.log_in()   # logging in needs no store
        expected = {"error_code": 6, "message": "Kho dữ liệu tạm thời không truy cập được, vui lòng gửi lại sau",
                    "result": None}
        for body in (sample("DongBoHoSoMC"), sample("CapNhatTienDoHoSoMC"),
                     {"service": "TraCuuHoSo", "MaHoSo": RESOLVED_CODE}):
            response = running.post(body | {"session": session})
            assert (response.status_code, response.json(), response.headers["retry-after"]) == (503, expected, "30")
    finally:
        running.stop()
        engine.dispose()


def test_a_busy_store_is_http_503_and_refuses_no_record_for_it(tmp_path, clock, caplog):
    # SQLite locked by another writer: the batch waits its time-out once, then is answered 503
    # whole; it is not tried record by record (each would wait the time-out: 30 s in production).
    import sqlite3

    path = tmp_path / "motcua.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    SQLModel.metadata.create_all(engine)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    running = serve(engine, clock)
    try:
        session = running.log_in()
        response = running.post(sample("DongBoHoSoMC") | {"session": session})
        assert (response.status_code, response.json()["error_code"]) == (503, 6)
        assert not [r for r in caplog.records if "one by one" in r.getMessage()]
        writer.execute("ROLLBACK")
        assert running.call(session, sample("DongBoHoSoMC")) == {"error_code": 0, "message": "OK", "result": []}
        assert (count(engine, Dossier), rejected_input(engine)) == (2, [])
    finally:
        running.stop()
        writer.close()
        engine.dispose()


def test_a_stop_finishes_the_batch_in_hand_before_the_server_ends(engine, clock, monkeypatch):
    import connectors.receiver.app as app_module

    loading = threading.Event()

    class SlowLoader(StreamLoader):
        def load(self, batch):
            loading.set()
            time.sleep(0.5)
            super().load(batch)

    monkeypatch.setattr(app_module, "StreamLoader", SlowLoader)
    running = serve(engine, clock)
    session = running.log_in()
    answers = []
    sender = threading.Thread(target=lambda: answers.append(running.call(session, sample("DongBoHoSoMC"))))
    sender.start()
    assert loading.wait(10)
    running.stop()            # what SIGTERM does
    sender.join(10)
    assert answers == [{"error_code": 0, "message": "OK", "result": []}]
    assert count(engine, Dossier) == 2
    with pytest.raises(requests.ConnectionError):
        requests.post(running.url + "/auth", data=b"{}", timeout=5)


def test_several_sources_each_on_its_own_address_with_its_own_credentials(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_TEST_B_USER", "lgsp-b")
    monkeypatch.setenv("MOTCUA_TEST_B_PASSWORD", "b-secret")
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    path = write_config(tmp_path, "sqlite:///unused.db", f"""
[[sources]]
name = "luong-a"
kind = "dvcqg_stream"
listen = "127.0.0.1:0"
username_env = "{USER_ENV}"
password_env = "{PASSWORD_ENV}"

[[sources]]
name = "luong-b"
kind = "dvcqg_stream"
listen = "127.0.0.1:0"
username_env = "MOTCUA_TEST_B_USER"
password_env = "MOTCUA_TEST_B_PASSWORD"
""")
    running = Running(receivers_for(load_settings(path), engine, lambda: NOW))
    try:
        a, b = running.urls["luong-a"], running.urls["luong-b"]
        assert a != b
        assert running.post({"username": "lgsp-b", "password": "b-secret"}, "/auth", url=a).json()["error_code"] == 1
        session_a, session_b = running.log_in(url=a), running.log_in("lgsp-b", "b-secret", url=b)
        assert running.call(session_a, {"service": DOSSIERS, "data": []}, url=b)["error_code"] == 2
        running.call(session_a, {"service": DOSSIERS, "data": [record("000.00.31.H59-260112-0001")]}, url=a)
        running.call(session_b, {"service": DOSSIERS, "data": [record("000.00.16.H59-260112-0001")]}, url=b)
        assert (stored(engine, "000.00.31.H59-260112-0001")["source"],
                stored(engine, "000.00.16.H59-260112-0001")["source"]) == ("luong-a", "luong-b")
        # A code is one source's: the other source cannot take it over.
        answer = running.call(session_b, {"service": DOSSIERS, "data": [record("000.00.31.H59-260112-0001")]}, url=b)
        assert [item["message"].split(":")[0] for item in answer["result"]] == ["duplicate_code"]
    finally:
        running.stop()


# --- the command --------------------------------------------------------------------------------------

STREAM = f"""
[[sources]]
name = "{SOURCE}"
kind = "dvcqg_stream"
listen = "127.0.0.1:0"
username_env = "{USER_ENV}"
password_env = "{PASSWORD_ENV}"
"""


@pytest.mark.parametrize("config, env, message", [
    ("", True, "no [[sources]] entry of kind dvcqg_stream: nothing to receive"),
    (STREAM, False, f"sources[{SOURCE}].username_env names the environment variable {USER_ENV}, which is not set"),
    (STREAM.replace(f'username_env = "{USER_ENV}"\n', ""), True,
     f"sources[{SOURCE}].username_env is required to receive a dvcqg_stream source"),
    (STREAM.replace("127.0.0.1:0", "127.0.0.1"), True, f"sources[{SOURCE}].listen: '127.0.0.1' is not host:port"),
    (STREAM.replace("127.0.0.1:0", "192.0.2.1:8090"), True,
     f"sources[{SOURCE}].listen: cannot listen on 192.0.2.1:8090"),
    (STREAM + '\n[[sources]]\nname = "so"\nkind = "tracking_book"\npath = "so/*"\n', True, None),
])
def test_receive_refuses_a_config_it_cannot_serve_with_exit_2(tmp_path, capsys, monkeypatch, config, env, message):
    if env:
        monkeypatch.setenv(USER_ENV, USERNAME)
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    else:
        monkeypatch.delenv(USER_ENV, raising=False)
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'motcua.db'}", config)
    if message is None:   # --source must name a stream source
        code, _, err = run_cli(capsys, "receive", "--config", path, "--source", "so")
        assert code == 2
        assert "source 'so' is a tracking_book source; only a dvcqg_stream source is received" in err
        code, _, err = run_cli(capsys, "receive", "--config", path, "--source", "nope")
        assert (code, "no [[sources]] entry is named 'nope'" in err) == (2, True)
        return
    code, out, err = run_cli(capsys, "receive", "--config", path)
    assert (code, out) == (2, "")
    assert message in err and str(path) in err


def test_receive_needs_the_schema(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'motcua.db'}", STREAM)
    code, _, err = run_cli(capsys, "receive", "--config", path)
    assert (code, "run `motcua init` first" in err) == (2, True)


class Process:
    """`python -m monitor receive` in a process of its own; its stderr collected line by line."""

    def __init__(self, config: str):
        env = os.environ | {"PYTHONPATH": str(ROOT), USER_ENV: USERNAME, PASSWORD_ENV: PASSWORD}
        self.process = subprocess.Popen([sys.executable, "-m", "monitor", "receive", "--config", config],
                                        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found = threading.Event()
        self.url = None

        def read():
            for line in self.process.stderr:
                self.lines.append(line)
                if self.url is None and (match := re.search(r"receiving on (http://\S+)", line)):
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        assert found.wait(30) and self.url, "".join(self.lines)
        self.http = requests.Session()

    def log_in(self) -> str:
        return self.http.post(self.url + "/auth", json={"username": USERNAME, "password": PASSWORD},
                              timeout=30).json()["session"]

    def send(self, session: str, body: dict) -> dict:
        response = self.http.post(self.url + "/", data=json.dumps(body | {"session": session}).encode(), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self) -> int:
        return self.process.wait(timeout=30)


def stream_config(tmp_path, database_url: str) -> str:
    return write_config(tmp_path, database_url, STREAM)


def test_sigterm_while_idle_ends_the_receiver_with_exit_0(engine, database_url, tmp_path):
    receiver = Process(stream_config(tmp_path, database_url))
    session = receiver.log_in()
    assert receiver.send(session, sample("DongBoHoSoMC"))["error_code"] == 0
    receiver.process.send_signal(signal.SIGTERM)
    assert receiver.wait() == 0
    log = "".join(receiver.lines)
    assert f"{SOURCE}: DongBoHoSoMC, 2 records, 0 rejected," in log and "SIGTERM" in log
    # One line per batch, no record contents: neither names nor ID numbers nor the procedure's title.
    assert not any(text in log for text in ("Nguyễn Văn An", "082198004512", "Cấp phiếu lý lịch", PASSWORD))
    assert count(engine, Dossier) == 2


def test_kill_9_mid_stream_loses_no_answered_batch_and_a_resend_changes_nothing_else(engine, database_url, tmp_path):
    size = 40

    def batch(number: int) -> dict:
        return {"service": DOSSIERS, "madonvi": "000.00.31.H59", "data": [
            record(f"000.00.31.H59-260201-{number * size + k:05d}", TrangThaiHoSo=str(2 + (number + k) % 3),
                   DanhSachLePhi=[{"MaPhiLePhi": "LP01", "Gia": str(1000 * number + k)}]) for k in range(size)]}

    def codes(number: int) -> set[str]:
        return {item["MaHoSo"] for item in batch(number)["data"]}

    def stored_codes() -> set[str]:
        with engine.connect() as connection:
            return set(connection.scalars(select(Dossier.code)))

    config = stream_config(tmp_path, database_url)
    receiver = Process(config)
    session = receiver.log_in()
    answered, unanswered = [], []

    def push():
        for number in range(1000):
            try:
                answer = receiver.send(session, batch(number))
            except requests.RequestException:
                unanswered.append(number)
                return
            assert answer == {"error_code": 0, "message": "OK", "result": []}
            answered.append(number)

    sender = threading.Thread(target=push)
    sender.start()
    while len(answered) < 15:
        time.sleep(0.005)
    receiver.process.kill()
    sender.join(30)
    assert receiver.wait() == -signal.SIGKILL
    assert answered == list(range(len(answered))) and unanswered == [len(answered)]

    # Every answered batch whole, its fees too; the one in hand whole or not at all.
    in_store = stored_codes()
    assert set().union(*map(codes, answered)) <= in_store
    left = in_store - set().union(*map(codes, answered))
    assert left in (set(), codes(unanswered[0]))
    f = Fee.__table__
    with engine.connect() as connection:
        fees = set(connection.execute(select(f.c.dossier_code, f.c.amount)).all())
    assert fees == {(item["MaHoSo"], int(item["DanhSachLePhi"][0]["Gia"]))
                    for number in answered + ([unanswered[0]] if left else []) for item in batch(number)["data"]}
    before = store_content(engine)

    receiver = Process(config)
    session = receiver.log_in()
    for number in (unanswered[0], answered[-1]):
        assert receiver.send(session, batch(number)) == {"error_code": 0, "message": "OK", "result": []}
    receiver.process.send_signal(signal.SIGTERM)
    assert receiver.wait() == 0

    after = store_content(engine)
    assert stored_codes() == set().union(*map(codes, answered + unanswered))
    new = codes(unanswered[0])
    for table, rows in after.items():
        # Nothing changed or went away; what came is the re-sent unanswered batch's.
        assert set(before[table]) <= set(rows), table
        assert all(any(code in row for code in new) for row in set(rows) - set(before[table])), table

"""Fuzzing the one-stop connector (issue 10): hostile values in otherwise good pages, on both
stores. Whatever the values, the sync finishes, every record is stored or rejected with a
reason, the audit finishes, and no seeded name or ID number reaches an error text."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import sqlalchemy
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlmodel import SQLModel

from connectors.sync import format_summary, sync_sources
from sandbox.simulator import OneStopServer
from rules.audit import run_audit
from sync_support import NOW, PASSWORD, USERNAME, clock, onestop_source, small_province, write_settings
from test_edge_data import ID_NUMBER, NAME, credentials  # noqa: F401  (the fixture)

# NgayCapNhat is left alone: the server orders its pages by the true one, and a record
# claiming another would move the cursor past records never read (the crawl guard fails that).
FIELDS = ["MaTTHC", "MaDonViXuLy", "KenhThucHien", "TrangThaiHoSo", "NgayNopHoSo", "NgayTiepNhan",
          "NgayHenTra", "NgayTra", "NgayTao", "TrichYeuHoSo", "DanhSachLePhi", "DanhSachThanhToan",
          "DanhSachHoSoBoSung"]
HOSTILE = st.one_of(
    st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=0x9f), max_size=20),
    st.text(min_size=65, max_size=150), st.integers(), st.floats(), st.booleans(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["00010101080000", "19000101080000", "29990101080000", "99991231235959"]),
    st.lists(st.fixed_dictionaries({"SoTien": st.integers(min_value=-10**12, max_value=10**12),
                                    "TenPhiLePhi": st.text(max_size=10), "MaPhiLePhi": st.text(max_size=10)}),
             max_size=2))
POISON = st.tuples(st.sampled_from(FIELDS), HOSTILE, st.text(max_size=100))  # a field, its value, a code suffix


class FuzzServer(OneStopServer):
    def __init__(self, province, poisons):
        super().__init__(province, username=USERNAME, password=PASSWORD)
        self.poisons = poisons

    def answer(self, request):
        answer = super().answer(request)
        body = json.loads(answer.body)
        for record in body.get("data") or []:
            if (poison := self.poisons.get(record.get("MaHoSo"))) is not None:
                field, value, suffix = poison
                record.update({field: value, "ChuHoSo": NAME, "SoGiayToChuHoSo": ID_NUMBER,
                               "MaHoSo": record["MaHoSo"] + suffix})
        return replace(answer, body=json.dumps(body, ensure_ascii=False).encode())


def empty(engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


PROVINCE = small_province(dossiers=50)
CODES = sorted(d.code for d in PROVINCE.dossiers if d.in_onestop)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(poisons=st.lists(POISON, min_size=1, max_size=4))
def test_hostile_values_never_stop_the_sync_nor_leak(poisons, tmp_path, engine, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    empty(engine)
    caplog.clear()
    with FuzzServer(PROVINCE, dict(zip(CODES[3::7], poisons))) as server:
        config = write_settings(tmp_path, database_url, [onestop_source(server.url)])
        [outcome] = sync_sources(engine, config, clock)

    assert outcome.status == "ok", outcome.error
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("select count(*) from dossier")).scalar()
        reasons = connection.execute(sqlalchemy.text("select location, reason from rejected_input")).all()
    assert all(reason for _, reason in reasons)
    assert stored + len(reasons) == len(CODES)
    run_audit(engine, config, as_of=NOW, now=NOW)
    texts = "\n".join([caplog.text, format_summary([outcome]), *(f"{loc} {reason}" for loc, reason in reasons)])
    assert NAME not in texts and ID_NUMBER[:12] not in texts

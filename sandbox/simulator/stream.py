"""The simulated province's national sync stream (sources.md, section 4): the request bodies
its one-stop system pushes, `DongBoHoSoMC` (dossiers) and `CapNhatTienDoHoSoMC` (steps), in the
order a provincial system or its LGSP sends them.

What is sent. Only dossiers in the one-stop system. A dossier is pushed as it changes: a
version when it is entered (isUpdating "False"), a version at each later change (its receipt
for an online dossier, each step, each payment: isUpdating "True"), the last one being the
dossier as it stands at the province's `now`. Steps are pushed as they are taken (a step taken
before the dossier was typed in, when it is). The sender works in rounds (`round_minutes`,
default an hour): at the end of a round it sends, agency by agency, the dossiers entered in the
round, then those changed (each as it stands at its last change in the round), then the steps
taken, in batches of at most `batch_size` records, each batch with its agency's code as
`madonvi`. The communes' shared system leaves `madonvi` out and sends its communes' records in
the same batches, after the other agencies': their codes begin with the agency code (the part
before the first "-"), which is where a receiver then takes it from. With no fault,
a receiver that stores every record it is sent ends with `final_records()` and
`final_steps()`: the province's final state.

How the facts match the pull API's record of the same dossier (onestop_server.onestop_record):
- `MaHoSo`, `MaTTHC`, `ChuHoSo`, `SoGiayToChuHoSo`, the dates and `TrangThaiHoSo` are the same;
  `KenhThucHien` is the same except "" for some counter dossiers (sources.md: "" is the
  counter); `DonViXuLy` is the agency's name, its code being `madonvi` or the code's prefix;
- the entry time (`NgayTao`) is the time of the first status-2 step;
- `DanhSachHoSoBoSung` holds the same requests (`NgayBoSung` = `NgayYeuCauBoSung`,
  `NgayTiepNhanBoSung` = `NgayNhanBoSung`), and so do the status-5 steps (progress.py);
- `DanhSachLePhi` holds the same fees, `Gia` = `SoTien` as text; for procedures free by
  exemption ("Miễn lệ phí", "Miễn phí") the system lists a fee of "0" where the pull API lists
  none;
- `DuocThanhToanTrucTuyen` is "1" or "2" exactly when the dossier has a `truc-tuyen` payment
  made by the version's time; else "0", "" or missing;
- apology letters, payment transactions, `NgayTao` and `NgayCapNhat` are not sent (the stream
  has none of them).

Faults (faults.StreamFaults) change the bodies as a sloppy sender does; see there.
"""

import json
import random
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sandbox.simulator.dossier import Dossier, Progress, Step
from sandbox.simulator.faults import StreamFaults
from sandbox.simulator.onestop_server import decomposed, stamp
from sandbox.simulator.province import Province

DEFAULT_BATCH_SIZE = 500
DEFAULT_ROUND_MINUTES = 60
RESOLVED = frozenset({3, 7, 8, 9, 10})
OFFICER_NAME_WIDTH = 50  # what a sloppy sender's column keeps of NguoiXuLy
# Commune systems that send no `madonvi` (their dossier codes begin with the agency code).
OMIT_MADONVI = frozenset({"000.29.31.H59", "000.29.32.H59", "000.30.05.H59"})
DOSSIERS, STEPS = "DongBoHoSoMC", "CapNhatTienDoHoSoMC"


@dataclass(frozen=True)
class Delivery:
    """A request body and when the sender sends it (the end of its round). `key` names the
    batch for the seeded dice (the same batch sent again has the same key)."""

    at: datetime
    key: str
    body: dict[str, Any]


def stream_record(province: Province, dossier: Dossier, as_of: datetime | None = None) -> dict[str, Any]:
    """A dossier as `DongBoHoSoMC` sends it, as it stood at `as_of` (None: as it stands now),
    with no fault. Fields in the order of the sample."""
    progress = province.progress(dossier)

    def seen(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and (as_of is None or moment <= as_of) else None

    status = dossier.status if as_of is None else _status_at(dossier, progress, as_of)
    received = seen(dossier.received)
    procedure = province.procedure(dossier.procedure_code)
    style = zlib.crc32(dossier.code.encode())
    record: dict[str, Any] = {"MaHoSo": dossier.code, "MaTTHC": dossier.procedure_code}
    if procedure is not None:
        record["TenTTHC"] = procedure.name
    record |= {
        "KenhThucHien": "" if dossier.channel == 1 and style % 4 == 0 else str(dossier.channel),
        "ChuHoSo": dossier.applicant,
        "SoGiayToChuHoSo": dossier.applicant_id,
        "NgayNopHoSo": stamp(seen(dossier.submitted)),
        "NgayTiepNhan": stamp(received),
        "NgayHenTra": stamp(dossier.appointment if received else None),
        "NgayKetThucXuLy": stamp(seen(dossier.finished)),
        "NgayTra": stamp(seen(dossier.returned)),
        "NgayTuChoi": stamp(seen(dossier.refused)),
        "TrangThaiHoSo": str(status),
        "DonViXuLy": province.agency(dossier.agency).name,
    }
    if any(p.method == "truc-tuyen" and seen(p.at) for p in dossier.payments):
        record["DuocThanhToanTrucTuyen"] = progress.paid_online_via
    elif style % 3 != 2:  # else left out
        record["DuocThanhToanTrucTuyen"] = "0" if style % 3 == 0 else ""
    fees = []
    if received:
        fees = [{"MaPhiLePhi": f.code, "TenPhiLePhi": f.name, "HinhThucThu": "1", "Gia": str(f.amount),
                 "LoaiPhiLePhi": "2" if f.code.startswith("PH") else "1"} for f in dossier.fees]
        if not dossier.fees and procedure is not None and procedure.fee_text.startswith("Miễn"):
            fees = [{"MaPhiLePhi": "LP00", "TenPhiLePhi": procedure.fee_text, "HinhThucThu": "1",
                     "Gia": "0", "LoaiPhiLePhi": "1"}]
    record |= {
        "HoSoCoThanhPhanSoHoa": "1" if progress.digitised else "0",
        "DanhSachLePhi": fees,
        "DanhSachHoSoBoSung": [
            {"HoSoBoSungId": f"{dossier.code}-BS{number}", "NgayBoSung": stamp(request.requested),
             "NgayTiepNhanBoSung": stamp(seen(request.answered)),
             "NgayHenTraTruoc": stamp(dossier.appointment), "NgayHenTraMoi": "",
             "TrangThaiBoSung": "1" if seen(request.answered) else "0"}
            for number, request in enumerate(dossier.supplements, start=1) if seen(request.requested)],
        "DanhSachGiayToKetQua": [
            {"TenGiayTo": r.name, "MaGiayToKetQua": r.code, "DuongDanTepTinKetQua": r.url}
            for r in progress.results] if status in (9, 10) else [],
        "TaiLieuNop": [
            {"TepDinhKemId": f.file_id, "TenTepDinhKem": f.name, "MaThanhPhanHoSo": f.component,
             "DuocSoHoa": _flag(f.digitised), "DuocTaiSuDung": _flag(f.reused),
             "DuocLayTuKhoDMQG": _flag(f.from_national_db)} for f in progress.files],
    }
    return record


def stream_step(dossier: Dossier, step: Step) -> dict[str, Any]:
    """A processing step as `CapNhatTienDoHoSoMC` sends it, with no fault."""
    return {"MaHoSo": dossier.code, "NguoiXuLy": step.officer, "ChucDanh": step.title,
            "ThoiDiemXuLy": stamp(step.at), "PhongBanXuLy": step.department,
            "NoiDungXuLy": step.action, "TrangThai": str(step.status),
            "NgayBatDau": stamp(step.started), "NgayKetThucTheoQuyDinh": stamp(step.due)}


def final_records(province: Province) -> dict[str, dict[str, Any]]:
    """The last version of every dossier sent, by code: what a receiver ends with."""
    return {d.code: stream_record(province, d) for d in _sent(province)}


def final_steps(province: Province) -> list[dict[str, Any]]:
    """Every step sent, dossier by dossier, in time order."""
    return [stream_step(d, step) for d in _sent(province) for step in province.progress(d).steps]


def stream_bodies(province: Province, *, faults: StreamFaults = StreamFaults(),
                  batch_size: int = DEFAULT_BATCH_SIZE,
                  round_minutes: int = DEFAULT_ROUND_MINUTES) -> Iterator[dict[str, Any]]:
    """The request bodies in sending order, `session` left "" for the sender to fill in."""
    for delivery in stream_deliveries(province, faults=faults, batch_size=batch_size,
                                      round_minutes=round_minutes):
        yield delivery.body


def stream_deliveries(province: Province, *, faults: StreamFaults = StreamFaults(),
                      batch_size: int = DEFAULT_BATCH_SIZE,
                      round_minutes: int = DEFAULT_ROUND_MINUTES) -> Iterator[Delivery]:
    """The request bodies in sending order, with when and as which batch they are sent."""
    if batch_size < 1 or round_minutes < 1:
        raise ValueError("batch_size and round_minutes must be at least 1")
    return _Stream(province, faults, batch_size, round_minutes).deliveries()


def write_stream_files(province: Province, folder: Path, *, faults: StreamFaults = StreamFaults(),
                       batch_size: int = DEFAULT_BATCH_SIZE,
                       round_minutes: int = DEFAULT_ROUND_MINUTES) -> list[Path]:
    """Write the stream as an LGSP's message log keeps it: JSON Lines, one request body per
    line in sending order, one file per day (`dvcqg-YYYYMMDD.jsonl`, so that the order of the
    file names is the sending order), each day's bodies with that day's session. The sender's
    own faults (dropped_answer, expired_session) are no part of a log. Returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    handle = None
    day = None
    try:
        for delivery in stream_deliveries(province, faults=faults, batch_size=batch_size,
                                          round_minutes=round_minutes):
            if delivery.at.date() != day:
                if handle is not None:
                    handle.close()
                day = delivery.at.date()
                session = str(uuid.UUID(int=random.Random(f"{province.seed}|session|{day}").getrandbits(128),
                                        version=4))
                paths.append(folder / f"dvcqg-{day:%Y%m%d}.jsonl")
                handle = paths[-1].open("w", encoding="utf-8", newline="\n")
            body = {**delivery.body, "session": session}
            handle.write(json.dumps(body, ensure_ascii=False) + "\n")
    finally:
        if handle is not None:
            handle.close()
    return paths


# --- how the stream is put together -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Version:
    dossier: Dossier
    at: datetime
    final: bool  # the dossier as it stands now


class _Stream:
    def __init__(self, province: Province, faults: StreamFaults, batch_size: int, round_minutes: int):
        self.province, self.faults, self.batch_size = province, faults, batch_size
        self.round = timedelta(minutes=round_minutes)
        self.epoch = datetime.combine(province.start, time(0))
        # round -> group -> (versions, steps), a dossier's last version in a round only; a group
        # is an agency, or "" for the agencies that send no madonvi.
        self.rounds: dict[int, dict[str, tuple[dict[str, _Version], list[tuple[Dossier, int]]]]] = \
            defaultdict(lambda: defaultdict(lambda: ({}, [])))
        self.first_round: dict[str, int] = {}
        self.resolved_round: dict[str, int] = {}  # the first round a resolved version is sent
        for dossier in _sent(province):
            self._plan(dossier)

    def _round_of(self, moment: datetime) -> int:
        return int((moment - self.epoch) / self.round)

    def _plan(self, dossier: Dossier) -> None:
        progress = self.province.progress(dossier)
        created = dossier.created
        times = {created, *(max(step.at, created) for step in progress.steps)}
        times |= {t for t in (dossier.received, *(p.at for p in dossier.payments)) if t and t > created}
        last = max(max(times), dossier.updated)
        times.add(last)
        omits = dossier.agency in OMIT_MADONVI and dossier.code.split("-", 1)[0] == dossier.agency
        group = "" if omits else dossier.agency
        for moment in sorted(times):
            number = self._round_of(moment)
            self.rounds[number][group][0][dossier.code] = _Version(dossier, moment, moment == last)
            self.first_round.setdefault(dossier.code, number)
            if dossier.code not in self.resolved_round:
                status = dossier.status if moment == last else _status_at(dossier, progress, moment)
                if status in RESOLVED:
                    self.resolved_round[dossier.code] = number
        for index, step in enumerate(progress.steps):
            self.rounds[self._round_of(max(step.at, created))][group][1].append((dossier, index))

    def deliveries(self) -> Iterator[Delivery]:
        late: dict[int, list[Delivery]] = defaultdict(list)  # old batches re-sent at the end of a round
        groups = [a.code for a in self.province.agencies] + [""]
        for number in sorted(self.rounds):
            at = min(self.epoch + self.round * (number + 1), self.province.now)  # the round's end
            for group in groups:
                if group not in self.rounds[number]:
                    continue
                versions, steps = self.rounds[number][group]
                ordered = sorted(versions.values(), key=lambda v: (v.at, v.dossier.code))
                new = [v for v in ordered if self.first_round[v.dossier.code] == number]
                updated = [v for v in ordered if self.first_round[v.dossier.code] != number]
                dossier_bodies = [*self._dossier_bodies(number, group, "new", new),
                                  *self._dossier_bodies(number, group, "update", updated)]
                steps.sort(key=lambda item: (item[0].code, item[1]))
                step_bodies = self._step_bodies(number, group, steps)
                if self.faults.fires("steps_first", f"{number}|{group}"):
                    bodies = step_bodies + dossier_bodies
                else:
                    bodies = dossier_bodies + step_bodies
                for key, body in bodies:
                    delivery = Delivery(at, key, body)
                    yield delivery
                    if self.faults.fires("duplicate_batch", key):
                        yield Delivery(at, key, {**body})
                    if body["service"] == DOSSIERS and (resend := self._resend_round(number, key, body)):
                        late[resend].append(delivery)
            for delivery in late.pop(number, ()):
                yield Delivery(at, delivery.key, {**delivery.body})

    def _resend_round(self, number: int, key: str, body: dict[str, Any]) -> int | None:
        """The round to send this batch again in, out of order, if it is to be: after every
        dossier in it was sent resolved, when it holds only unresolved versions."""
        if not self.faults.out_of_order:
            return None
        codes = [record["MaHoSo"] for record in body["data"]]
        if any(record["TrangThaiHoSo"] in ("3", "7", "8", "9", "10") for record in body["data"]):
            return None
        rounds = [self.resolved_round.get(code) for code in codes]
        if any(r is None or r <= number for r in rounds):
            return None
        return max(rounds) if self.faults.fires("out_of_order", key) else None

    def _dossier_bodies(self, number: int, group: str, kind: str,
                        versions: list[_Version]) -> list[tuple[str, dict[str, Any]]]:
        bodies = []
        for start in range(0, len(versions), self.batch_size):
            key = f"{number}|{group}|{kind}|{start // self.batch_size}"
            updating = kind == "update"
            if self.faults.fires("wrong_is_updating", key):
                updating = not updating
            body = _head(group, DOSSIERS)
            body["isUpdating"] = str(updating)
            body["data"] = [self._record(v) for v in versions[start:start + self.batch_size]]
            bodies.append((key, body))
        return bodies

    def _step_bodies(self, number: int, group: str,
                     steps: list[tuple[Dossier, int]]) -> list[tuple[str, dict[str, Any]]]:
        bodies = []
        for start in range(0, len(steps), self.batch_size):
            key = f"{number}|{group}|steps|{start // self.batch_size}"
            body = _head(group, STEPS)
            body["data"] = [self._step(d, index) for d, index in steps[start:start + self.batch_size]]
            bodies.append((key, body))
        return bodies

    def _record(self, version: _Version) -> dict[str, Any]:
        dossier, faults = version.dossier, self.faults
        record = stream_record(self.province, dossier, None if version.final else version.at)
        if faults.fires("empty_supplement_list", dossier.code):
            record["DanhSachHoSoBoSung"] = []
        if record["TrangThaiHoSo"] in ("5", "6", "8") and faults.fires("status_rewritten_to_9", dossier.code):
            record["TrangThaiHoSo"] = "9"
        if faults.fires("nfd_names", dossier.code):
            record = decomposed(record)
        return record

    def _step(self, dossier: Dossier, index: int) -> dict[str, Any]:
        faults, key = self.faults, f"{dossier.code}|{index}"
        step = stream_step(dossier, self.province.progress(dossier).steps[index])
        if faults.fires("empty_departments", key):
            step["PhongBanXuLy"] = ""
        if faults.fires("empty_step_dates", key):
            step["NgayBatDau"] = step["NgayKetThucTheoQuyDinh"] = ""
        if faults.cut_officer_names:
            step["NguoiXuLy"] = step["NguoiXuLy"][:OFFICER_NAME_WIDTH]
        if faults.fires("nfd_names", key):
            step = decomposed(step)
        return step


def _head(group: str, service: str) -> dict[str, Any]:
    """The start of a body: a group of agencies that send no `madonvi` is named ""."""
    head: dict[str, Any] = {"session": ""}
    if group:
        head["madonvi"] = group
    head["service"] = service
    return head


def _sent(province: Province) -> list[Dossier]:
    """The dossiers the one-stop system pushes: those in it, by code."""
    return sorted((d for d in province.dossiers if d.in_onestop), key=lambda d: d.code)


def _status_at(dossier: Dossier, progress: Progress, moment: datetime) -> int:
    """The status the dossier had at `moment` (before its final state)."""
    if dossier.status in (3, 7, 8) and dossier.refused <= moment:
        return dossier.status
    if dossier.status == 10 and dossier.returned and dossier.returned <= moment:
        return 10
    if dossier.status in (9, 10) and dossier.finished and dossier.finished <= moment:
        return 9
    if dossier.received is None or dossier.received > moment:
        return 1
    status = 2
    for step in progress.steps:
        if step.at > moment:
            break
        if step.status in (2, 4, 5, 6):
            status = step.status
    return status


def _flag(value: bool) -> str:
    return "1" if value else "0"

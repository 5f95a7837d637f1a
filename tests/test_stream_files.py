"""The national sync stream read from captured request bodies by `motcua sync` (sources.md
section 4): JSON objects or JSON Lines, in file-name order, files already applied skipped."""
from __future__ import annotations

import json
from pathlib import Path

from connectors.sync import sync_sources
from sync_support import rejected_input, store_content, sync_runs, write_settings

SAMPLES = Path("/work/shared/spec/samples")


def stream_settings(tmp_path: Path, database_url: str):
    (tmp_path / "logs").mkdir(exist_ok=True)
    return write_settings(tmp_path, database_url, [
        {"name": "luong", "kind": "dvcqg_stream", "path": "logs/**/*.json*"}])


def body(name: str) -> dict:
    return json.loads((SAMPLES / f"dvcqg-{name}.json").read_text(encoding="utf-8"))


def dossier_status(engine) -> dict[str, int]:
    return {row[0]: row[9] for row in store_content(engine)["dossier"]}


def at(hour: int):
    from datetime import datetime
    return lambda: datetime(2026, 1, 20, hour, 0)


def test_bodies_from_json_and_json_lines_files_fill_the_store_as_the_receiver_would(tmp_path, engine, database_url):
    settings = stream_settings(tmp_path, database_url)
    (tmp_path / "logs" / "2026-01-20-a.json").write_text(json.dumps(body("DongBoHoSoMC")), encoding="utf-8")
    (tmp_path / "logs" / "2026-01-20-b.jsonl").write_text(
        json.dumps(body("CapNhatTienDoHoSoMC")) + "\n\n", encoding="utf-8")

    [outcome] = sync_sources(engine, settings, at(8))

    assert (outcome.status, outcome.counts.read, outcome.counts.rejected) == ("ok", 5, 0)
    assert dossier_status(engine) == {"000.00.31.H59-260105-0001": 10, "000.00.31.H59-260106-0002": 5}
    assert len(store_content(engine)["processing_step"]) == 3


def test_files_are_applied_in_name_order_and_lines_in_order(tmp_path, engine, database_url):
    settings = stream_settings(tmp_path, database_url)
    first, later = body("DongBoHoSoMC"), body("DongBoHoSoMC")
    first["data"] = [first["data"][1] | {"TrangThaiHoSo": "4"}]
    later["data"] = [later["data"][1] | {"TrangThaiHoSo": "6"}]
    (tmp_path / "logs" / "b.jsonl").write_text(json.dumps(later) + "\n", encoding="utf-8")
    (tmp_path / "logs" / "a.jsonl").write_text(json.dumps(first) + "\n", encoding="utf-8")

    sync_sources(engine, settings, at(8))

    assert dossier_status(engine) == {"000.00.31.H59-260106-0002": 6}


def test_a_file_already_applied_is_skipped_and_a_changed_one_applied_again(tmp_path, engine, database_url):
    settings = stream_settings(tmp_path, database_url)
    log = tmp_path / "logs" / "a.jsonl"
    log.write_text(json.dumps(body("DongBoHoSoMC")) + "\n", encoding="utf-8")
    sync_sources(engine, settings, at(8))

    [again] = sync_sources(engine, settings, at(9))
    assert again.counts.read == 0

    grown = body("DongBoHoSoMC")
    grown["data"] = [grown["data"][1] | {"TrangThaiHoSo": "9", "NgayKetThucXuLy": "20260112100000"}]
    log.write_text(log.read_text(encoding="utf-8") + json.dumps(grown) + "\n", encoding="utf-8")
    [changed] = sync_sources(engine, settings, at(10))
    assert changed.counts.read == 3
    assert dossier_status(engine)["000.00.31.H59-260106-0002"] == 9


def test_a_line_that_is_not_a_request_body_is_rejected_with_its_file_and_line(tmp_path, engine, database_url):
    settings = stream_settings(tmp_path, database_url)
    (tmp_path / "logs" / "a.jsonl").write_text(
        "{not json\n" + json.dumps({"service": "LayDanhSach", "data": []}) + "\n"
        + json.dumps(body("DongBoHoSoMC")) + "\n", encoding="utf-8")

    [outcome] = sync_sources(engine, settings, at(8))

    assert outcome.status == "ok" and len(dossier_status(engine)) == 2
    assert rejected_input(engine) == [
        ("luong", "a.jsonl:1", "not a JSON request body"),
        ("luong", "a.jsonl:2", "service is not one of DongBoHoSoMC, CapNhatTienDoHoSoMC")]


def test_a_rejected_record_names_its_file_line_and_code(tmp_path, engine, database_url):
    settings = stream_settings(tmp_path, database_url)
    bad = body("DongBoHoSoMC")
    bad["data"][0]["TrangThaiHoSo"] = "0"
    (tmp_path / "logs" / "a.jsonl").write_text(json.dumps(bad) + "\n", encoding="utf-8")

    sync_sources(engine, settings, at(8))

    assert rejected_input(engine) == [
        ("luong", "a.jsonl:1 DongBoHoSoMC MaHoSo 000.00.31.H59-260105-0001", "TrangThaiHoSo is not 1 to 10")]
    assert sync_runs(engine)[-1]["records_rejected"] == 1

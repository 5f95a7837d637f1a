"""`motcua audit`: options, exit codes, and the json, csv, xlsx and table outputs read back."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from audit_helpers import AGENCY, Store, at
from cli_helpers import run_cli, write_config
from monitor.models import Exemption
from rules import registry

OTHER = "000.00.16.H59"
FINDING_KEYS = {"rule", "subject", "agency", "procedure", "detail", "status"}
FIGURE_KEYS = ["agency", "received_total", "received_online", "received_offline", "carried_over", "resolved_total",
               "resolved_early", "resolved_on_time", "resolved_late", "in_progress_total", "in_progress_within",
               "in_progress_overdue", "on_time_rate", "entry_rate", "sync_rate", "online_payment_rate"]


@pytest.fixture
def config(engine, database_url, tmp_path) -> str:
    """A small province: a late dossier, an overdue one, a bad record, a missing one, and codes
    that a spreadsheet would take for formulas."""
    store = Store(engine)
    store.procedure()
    store.procedure("=cmd|' /C calc'!A0", fee_status="unknown", fee_text="@SUM(1+1)")
    store.dossier("000.00.31.H59-260302-0001", at(2), status=9, finished_at=at(10))
    store.dossier("000.00.16.H59-260302-0001", at(2), agency=OTHER, status=4)
    store.dossier("000.00.31.H59-260302-0002", at(2), status=10, finished_at=at(5), returned_at=at(5),
                  channel="2")
    store.dossier("000.00.31.H59-260316-0001", at(16), procedure="9.999")
    store.dossier("=HYPERLINK(\"http://x\")", at(16, 10), status=4, on_portal=False)
    store.book_row("-2+3", at(3))
    return write_config(tmp_path, database_url)


def audit_json(capsys, config: str, *options: str) -> dict:
    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json", *options)
    assert code == 0, err
    return json.loads(out)  # one object, and nothing else, on stdout


def test_json_output_follows_the_interface(config, capsys):
    output = audit_json(capsys, config, "--as-of", "2026-03-20")
    assert list(output) == ["as_of", "period", "findings", "stale", "figures", "skipped_rules"]
    assert (output["as_of"], output["period"], output["stale"], output["skipped_rules"]) == (
        "2026-03-20T23:59:59", None, [], [])
    findings = output["findings"]
    assert findings == sorted(findings, key=lambda f: (f["rule"], f["subject"]))
    for found in findings:
        assert FINDING_KEYS <= set(found) <= FINDING_KEYS | {"due_date", "reason", "days_late", "first_seen"}
        assert ("due_date" in found) == found["rule"].startswith("ontime.")
        assert ("reason" in found) == (found["rule"] == "entry.invalid")
        assert found["status"] in ("open", "exempted")
    late = next(f for f in findings if f["rule"] == "ontime.late")
    assert late == {"rule": "ontime.late", "subject": "000.00.31.H59-260302-0001", "agency": AGENCY,
                    "procedure": "1.000001", "due_date": "2026-03-09", "detail": late["detail"], "status": "open",
                    "days_late": 1}
    missing = next(f for f in findings if f["rule"] == "entry.missing")
    assert (missing["subject"], missing["procedure"]) == ("-2+3", None)
    assert next(f for f in findings if f["rule"] == "entry.invalid")["reason"] == "unknown_procedure"
    assert [f["agency"] for f in output["figures"]] == [OTHER, AGENCY, "*"]
    for figure in output["figures"]:
        assert list(figure) == FIGURE_KEYS
        assert all(isinstance(figure[k], int) for k in FIGURE_KEYS[1:12])
        assert all(figure[k] is None or isinstance(figure[k], float) for k in FIGURE_KEYS[12:])


def test_period_figures_are_as_of_the_end_of_to(config, capsys):
    output = audit_json(capsys, config, "--from", "2026-03-09", "--to", "2026-03-13")
    assert output["as_of"] == "2026-03-13T23:59:59"
    assert output["period"] == {"from": "2026-03-09", "to": "2026-03-13"}
    province = output["figures"][-1]
    assert (province["received_total"], province["carried_over"], province["resolved_total"]) == (0, 2, 1)
    # Findings are not limited to the period: the dossier overdue since the 9th is still a breach.
    assert "000.00.16.H59-260302-0001" in {f["subject"] for f in output["findings"] if f["rule"] == "ontime.overdue"}


def test_as_of_in_the_past_reads_the_store_as_it_was(config, capsys):
    output = audit_json(capsys, config, "--as-of", "2026-03-09T17:00")
    assert output["as_of"] == "2026-03-09T17:00:00"
    subjects = {f["subject"] for f in output["findings"]}
    assert "000.00.31.H59-260316-0001" not in subjects            # received later: not there yet
    assert not [f for f in output["findings"] if f["rule"] in ("ontime.late", "ontime.overdue")]
    province = output["figures"][-1]
    assert (province["received_total"], province["resolved_total"], province["in_progress_total"]) == (3, 1, 2)


def test_agency_and_rule_filters(config, capsys):
    output = audit_json(capsys, config, "--as-of", "2026-03-20", "--agency", OTHER)
    assert {f["agency"] for f in output["findings"]} == {OTHER}
    assert [f["agency"] for f in output["figures"]] == [OTHER]
    output = audit_json(capsys, config, "--as-of", "2026-03-20", "--rule", "ontime.overdue")
    assert {f["rule"] for f in output["findings"]} == {"ontime.overdue"}


@pytest.mark.parametrize("options, message", [
    (["--as-of", "2026-03-20", "--to", "2026-03-20"], "--as-of and --to"),
    (["--from", "2026-03-01"], "--from and --to"),
    (["--to", "2026-03-01"], "--from and --to"),
    (["--from", "2026-03-02", "--to", "2026-03-01"], "after"),
    (["--as-of", "yesterday"], "not a local date-time"),
    (["--as-of", "2026-03-20T17:00+07:00"], "not a local date-time"),
    (["--rule", "ontime.lateness"], "not a rule"),
    (["--format", "xlsx"], "needs --output"),
])
def test_usage_errors_exit_2(config, capsys, options, message):
    code, out, err = run_cli(capsys, "audit", "--config", config, *options)
    assert (code, out) == (2, "")
    assert message in err


def test_fail_on_breach(config, engine, capsys):
    code, _, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--rule", "ontime.late",
                         "--fail-on-breach")
    assert code == 1
    with engine.begin() as connection:
        connection.execute(Exemption.__table__.insert().values(
            rule="ontime.late", agency_code=AGENCY, reason="r", author="a", until=date(2026, 3, 20), created_at=at(1)))
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--rule", "ontime.late",
                           "--fail-on-breach", "--format", "json")
    assert code == 0
    assert {f["status"] for f in json.loads(out)["findings"]} == {"exempted"}
    assert run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--rule", "ontime.late")[0] == 0


def test_csv_holds_every_finding_with_formulas_neutralised(config, capsys):
    expected = audit_json(capsys, config, "--as-of", "2026-03-20")["findings"]
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--format", "csv")
    assert code == 0 and out.startswith("\ufeffrule,subject,agency,procedure,due_date,")  # a BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert [(r["rule"], r["subject"].removeprefix("'")) for r in rows] == [(f["rule"], f["subject"]) for f in expected]
    by_subject = {r["subject"]: r for r in rows}
    assert "'=HYPERLINK(\"http://x\")" in by_subject
    assert "'-2+3" in by_subject
    unknown_fee = next(r for r in rows if r["rule"] == "catalogue.unknown_fee")
    assert unknown_fee["subject"] == "'=cmd|' /C calc'!A0"
    late = next(r for r in rows if r["rule"] == "ontime.late")
    assert (late["due_date"], late["days_late"], late["status"]) == ("2026-03-09", "1", "open")
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())


def test_xlsx_has_the_statistics_form_and_the_findings(config, capsys, tmp_path):
    path = tmp_path / "audit.xlsx"
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--from", "2026-03-02", "--to", "2026-03-20",
                           "--format", "xlsx", "--output", str(path))
    assert (code, out) == (0, "")
    expected = audit_json(capsys, config, "--from", "2026-03-02", "--to", "2026-03-20")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Thống kê", "Vi phạm"]
    findings = list(workbook["Vi phạm"].iter_rows(values_only=True))
    assert findings[0][:4] == ("STT", "Quy tắc", "Mã hồ sơ", "Cơ quan")
    # Every finding, each once: a dossier's code in "Mã hồ sơ", a procedure's in "Thủ tục" (with its name).
    assert len(findings) == len(expected["findings"]) + 1
    for found in expected["findings"]:
        rule = registry.by_id(found["rule"])
        if rule.subject == "dossier":
            assert sum((row[1], (row[2] or "").removeprefix("'")) == (rule.title, found["subject"]) for row in findings) == 1
        else:
            assert sum(row[1] == rule.title and row[2] is None and found["subject"] in row[4] for row in findings) == 1
    cells = [c for row in workbook["Vi phạm"].iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" and not c.value.startswith(("=", "+", "-", "@")) for c in cells)
    form = list(workbook["Thống kê"].iter_rows(values_only=True))
    assert form[3][2] == "Số hồ sơ nhận giải quyết" and form[3][6] == "Số hồ sơ đã giải quyết"
    assert form[5][:4] == ("(1)", "(2)", "(3)", "(4)")
    province_row = next(row for row in form if row[1] == "Toàn tỉnh")
    figures = expected["figures"][-1]
    assert province_row[2:13] == (figures["received_total"] + figures["carried_over"], figures["received_online"],
                                  figures["received_offline"], figures["carried_over"], figures["resolved_total"],
                                  figures["resolved_early"], figures["resolved_on_time"], figures["resolved_late"],
                                  figures["in_progress_total"], figures["in_progress_within"],
                                  figures["in_progress_overdue"])
    assert province_row[2] == province_row[6] + province_row[10]


def test_table_for_people(config, capsys):
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--format", "table")
    assert code == 0
    assert "Nhận" in out and "Đã GQ" in out and "Đúng hạn" in out and "Mọi cột: --wide" in out
    assert "ontime.late — Hồ sơ giải quyết quá hạn (1)" in out and "000.00.31.H59-260302-0001" in out
    assert "None" not in out
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--format", "table", "--wide")
    assert code == 0
    assert "Tiếp nhận" in out and "Đang giải quyết" in out and "Tỷ lệ đúng hạn" in out


def test_output_to_a_file(config, capsys, tmp_path):
    path = tmp_path / "audit.json"
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--output", str(path))
    assert (code, out) == (0, "")
    assert json.loads(path.read_text(encoding="utf-8"))["as_of"] == "2026-03-20T23:59:59"


def test_an_empty_database_is_a_usage_error(database_url, tmp_path, capsys):
    code, _, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url))
    assert code == 2 and "motcua init" in err


def test_findings_come_in_code_point_order_on_every_store(engine, database_url, tmp_path, capsys):
    # A locale collation would put "a" before "B" and "Ê" next to "E"; the output is in code
    # point order, as Python compares, whatever collation the database was created with.
    store = Store(engine)
    store.procedure()
    codes = ["đ-1", "B-1", "a-1", "Z-1", "Ê-1", "D-2"]
    for code in codes:
        store.dossier(code, at(2), status=4, on_portal=False)
    config = write_config(tmp_path, database_url)
    findings = audit_json(capsys, config, "--as-of", "2026-03-20", "--rule", "entry.unsynced")["findings"]
    assert [f["subject"] for f in findings] == sorted(codes)


@pytest.mark.parametrize("agency, hint", [
    ("999.99.99.H59", "see `motcua audit` for the agencies in the store"),
    ("000.00.31.h59", f"did you mean {AGENCY}"),           # the filter is exact: a near miss is named
])
def test_an_unknown_agency_is_a_usage_error_with_a_hint(config, capsys, agency, hint):
    code, out, err = run_cli(capsys, "audit", "--config", config, "--agency", agency, "--format", "json")
    assert (code, out) == (2, "")
    assert f"no agency '{agency}' in the store" in err and hint in err


def test_an_agency_known_only_from_a_tracking_book_is_accepted(config, engine, capsys):
    Store(engine).book_row("HS-SO-1", at(3), agency="000.00.99.H59")
    assert audit_json(capsys, config, "--as-of", "2026-03-20", "--agency", "000.00.99.H59")["figures"]

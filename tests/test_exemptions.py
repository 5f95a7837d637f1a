"""Exemptions: always with a reason and an expiry; in force to the end of the expiry date; an
exempted finding is still shown, as exempted; `motcua exempt` add, list, lift."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session

from audit_helpers import AGENCY, Store, at, end_of_day, finding
from cli_helpers import run_cli, write_config
from monitor.models import Exemption
from rules import exemptions
from rules.exemptions import ExemptionError

UNTIL = date(2026, 3, 20)


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    store.dossier("000.00.31.H59-260302-0001", at(2), status=9, finished_at=at(10))   # late
    store.dossier("000.00.31.H59-260302-0002", at(2), status=9, finished_at=at(11))   # late
    store.dossier("000.00.16.H59-260302-0001", at(2), status=9, finished_at=at(10), agency="000.00.16.H59")
    return store


def exempt(engine, **fields) -> Exemption:
    values = {"rule": "ontime.late", "subject": None, "agency": None, "reason": "đã có văn bản giải trình",
              "until": UNTIL, "author": "chanh.vp", "now": at(1)} | fields
    with Session(engine, expire_on_commit=False) as session:
        exemption = exemptions.add(session, **values)
        session.commit()
        return exemption


def test_an_exempted_finding_is_shown_as_exempted_until_the_end_of_its_expiry_date(store, engine):
    exempt(engine, subject=" 000.00.31.h59-260302-0001")  # codes match as rules.md matches them
    inside = store.audit(end_of_day(20))
    assert finding(inside, "ontime.late", "000.00.31.H59-260302-0001").status == "exempted"
    assert finding(inside, "ontime.late", "000.00.31.H59-260302-0002").status == "open"
    assert finding(inside, "ontime.no_apology", "000.00.31.H59-260302-0001").status == "open"  # another rule
    after = store.audit(end_of_day(20) + timedelta(seconds=1))
    assert finding(after, "ontime.late", "000.00.31.H59-260302-0001").status == "open"


def test_an_agency_exemption_covers_the_rule_in_that_agency_only(store, engine):
    exempt(engine, agency=AGENCY)
    result = store.audit(end_of_day(20))
    statuses = {f.subject: f.status for f in result.findings if f.rule == "ontime.late"}
    assert statuses == {"000.00.31.H59-260302-0001": "exempted", "000.00.31.H59-260302-0002": "exempted",
                        "000.00.16.H59-260302-0001": "open"}
    assert len(result.open_findings) < len(result.findings)


def test_a_lifted_exemption_no_longer_applies(store, engine):
    exemption = exempt(engine, agency=AGENCY)
    with Session(engine) as session:
        exemptions.lift(session, exemption.id, at(5))
        session.commit()
    result = store.audit(end_of_day(20))
    assert {f.status for f in result.findings} == {"open"}
    with Session(engine) as session, pytest.raises(ExemptionError, match="already lifted"):
        exemptions.lift(session, exemption.id, at(6))


@pytest.mark.parametrize("fields, message", [
    ({"reason": "  "}, "needs a reason"),
    ({"until": None}, "needs an expiry"),
    ({"rule": "ontime.lateness"}, "unknown rule"),
    ({"subject": "X", "agency": AGENCY}, "exactly one"),
    ({"subject": None, "agency": None}, "exactly one"),
    ({"until": date(2026, 2, 28)}, "already past"),
])
def test_no_exemption_without_a_reason_an_expiry_a_known_rule_and_one_target(engine, fields, message):
    with pytest.raises(ExemptionError, match=message):
        exempt(engine, **({"subject": "X"} | fields))


# motcua exempt ------------------------------------------------------------------------------------

def test_cli_add_list_and_lift(store, database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    code, out, _ = run_cli(capsys, "exempt", "add", "--config", config, "--rule", "ontime.late",
                           "--subject", "000.00.31.H59-260302-0001", "--reason", "giải trình số 12",
                           "--until", "2099-12-31", "--by", "chanh.vp")
    assert code == 0 and "exemption 1" in out
    code, out, _ = run_cli(capsys, "exempt", "list", "--config", config)
    assert code == 0
    assert "ontime.late" in out and "000.00.31.H59-260302-0001" in out and "in force" in out
    assert "giải trình số 12" in out and "chanh.vp" in out and "2099-12-31" in out
    assert run_cli(capsys, "exempt", "lift", "--config", config, "1")[0] == 0
    assert "lifted" in run_cli(capsys, "exempt", "list", "--config", config)[1]


@pytest.mark.parametrize("arguments", [
    ["--rule", "ontime.late", "--subject", "X", "--until", "2099-12-31"],                       # no reason
    ["--rule", "ontime.late", "--subject", "X", "--reason", "r"],                               # no expiry
    ["--rule", "ontime.late", "--subject", "X", "--reason", "", "--until", "2099-12-31"],       # empty reason
    ["--rule", "no.such.rule", "--subject", "X", "--reason", "r", "--until", "2099-12-31"],
    ["--rule", "ontime.late", "--reason", "r", "--until", "2099-12-31"],                        # no target
    ["--rule", "ontime.late", "--subject", "X", "--reason", "r", "--until", "31-12-2099"],
    ["--rule", "ontime.late", "--subject", "X", "--reason", "r", "--until", "31/13/2099"],
])
def test_cli_add_refuses_bad_exemptions_as_usage_errors(engine, database_url, tmp_path, capsys, arguments):
    config = write_config(tmp_path, database_url)
    code, _, err = run_cli(capsys, "exempt", "add", "--config", config, *arguments)
    assert code == 2 and err
    assert run_cli(capsys, "exempt", "list", "--config", config)[1] == ""


def test_cli_lift_of_an_unknown_exemption_is_a_usage_error(engine, database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    code, _, err = run_cli(capsys, "exempt", "lift", "--config", config, "42")
    assert code == 2 and "no exemption 42" in err


def test_state_of_an_exemption(engine):
    exemption = exempt(engine, subject="X", force=True)
    assert exemptions.state(exemption, datetime(2026, 3, 20, 23, 59, 59)) == "in force"
    assert exemptions.state(exemption, datetime(2026, 3, 21)) == "expired"


def test_the_covering_exemption_gives_its_reason_and_expiry_for_the_reports(store, engine):
    exempt(engine, subject="000.00.31.H59-260302-0001", reason="chờ ý kiến Bộ")
    exempt(engine, agency="000.00.16.H59", reason="đang nâng cấp phần mềm", until=date(2026, 3, 25))
    with engine.connect() as connection:
        in_force = exemptions.Exemptions(connection, end_of_day(20))
    by_subject = in_force.covering("ontime.late", "000.00.31.h59-260302-0001 ", AGENCY)
    by_agency = in_force.covering("ontime.late", "000.00.16.H59-260302-0001", "000.00.16.H59")
    assert (by_subject.reason, by_subject.until) == ("chờ ý kiến Bộ", UNTIL)
    assert (by_agency.reason, by_agency.until) == ("đang nâng cấp phần mềm", date(2026, 3, 25))
    assert in_force.covering("ontime.no_apology", "000.00.31.H59-260302-0001", AGENCY) is None


@pytest.mark.parametrize("target, message", [
    (["--subject", "000.00.31.H59-260302-9999"], "no dossier or procedure '000.00.31.H59-260302-9999' in the store"),
    (["--agency", "999.99.99.H59"], "no agency '999.99.99.H59' in the store; see `motcua audit`"),
    (["--agency", "000.00.31.H95"], f"did you mean {AGENCY}"),
])
def test_cli_add_for_a_target_not_in_the_store_is_a_usage_error_unless_forced(store, database_url, tmp_path, capsys,
                                                                              target, message):
    config = write_config(tmp_path, database_url)
    options = ["--rule", "ontime.late", *target, "--reason", "r", "--until", "2099-12-31"]
    code, _, err = run_cli(capsys, "exempt", "add", "--config", config, *options)
    assert code == 2 and message in err and "--force" in err
    assert run_cli(capsys, "exempt", "list", "--config", config)[1] == ""
    code, out, _ = run_cli(capsys, "exempt", "add", "--config", config, *options, "--force")
    assert code == 0 and "exemption 1" in out


@pytest.mark.parametrize("target", [
    ["--subject", " 000.00.31.h59-260302-0002"],    # a dossier, matched as codes are
    ["--subject", "1.000001"],                      # a procedure
    ["--agency", "000.00.16.h59"],                  # an agency, matched as codes are
])
def test_cli_add_for_a_target_in_the_store(store, database_url, tmp_path, capsys, target):
    code, out, err = run_cli(capsys, "exempt", "add", "--config", write_config(tmp_path, database_url),
                             "--rule", "ontime.late", *target, "--reason", "r", "--until", "2099-12-31")
    assert code == 0, err

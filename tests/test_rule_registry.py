"""A rule is one class: one defined here, and nowhere else, is in the audit, its JSON, the
reports and the config's validation."""
from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from audit_helpers import AGENCY, Store, at
from cli_helpers import run_cli, write_config
from monitor.config import ConfigError, load_settings
from rules import registry
from rules.base import ONESTOP, Parameter, Rule, finding
from rules.due import IN_PROGRESS, audit_dossier as ad
from rules.sql import text_of

RULE = "test.unstamped"
TITLE = "Hồ sơ thử chưa đóng dấu"
ACTION = "Đóng dấu hồ sơ thử ngay."
RECIPIENT = f'\n[[recipients]]\nagency = "{AGENCY}"\nto = ["thu@example.org"]\n'


@pytest.fixture
def throwaway_rule():
    """A rule that the monitor does not have: every dossier in progress, with a parameter."""
    stamp_days = Parameter("stamp_days", int, 3)

    class Unstamped(Rule):
        id = RULE
        title = TITLE
        action = ACTION
        urgency = 5
        subject = "dossier"
        needs = frozenset({ONESTOP})
        parameters = (stamp_days,)
        shows_due_date = True

        def findings(self, context, parts):
            return select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.due_date,
                received=ad.c.received_on, detail=text_of(f"Chưa đóng dấu sau {context.value(stamp_days)} ngày"),
            )).where(ad.c.state.in_(IN_PROGRESS))

    with registry.added(Unstamped()):
        yield


@pytest.fixture
def store(engine):
    store = Store(engine)
    store.procedure()
    store.dossier("000.00.31.H59-260302-0001", at(2), status=4)  # in progress, whenever T is
    store.dossier("000.00.31.H59-260302-0002", at(2), status=10, finished_at=at(5), returned_at=at(5))
    return store


def test_the_throwaway_rule_finds_and_is_written_in_the_json_with_its_due_date(throwaway_rule, store, database_url,
                                                                                tmp_path, capsys):
    config = write_config(tmp_path, database_url, "[rules]\nstamp_days = 5\n")
    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json", "--as-of", "2026-03-20")
    assert code == 0, err
    found = [f for f in json.loads(out)["findings"] if f["rule"] == RULE]
    assert found == [{"rule": RULE, "subject": "000.00.31.H59-260302-0001", "agency": AGENCY,
                      "procedure": "1.000001", "due_date": "2026-03-09", "detail": "Chưa đóng dấu sau 5 ngày",
                      "status": "open"}]


def test_the_throwaway_rule_takes_its_parameters_default(throwaway_rule, store, database_url, tmp_path, capsys):
    code, out, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url),
                             "--format", "json", "--rule", RULE, "--as-of", "2026-03-20")
    assert code == 0, err
    assert [f["detail"] for f in json.loads(out)["findings"]] == ["Chưa đóng dấu sau 3 ngày"]


def test_the_config_accepts_the_throwaway_rules_parameter_and_no_other_key(throwaway_rule, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[rules]\nstamp_days = 2\n", encoding="utf-8")
    assert load_settings(path).rules == {"stamp_days": 2}
    path.write_text("[rules]\nstamp_days = -2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.stamp_days: must not be negative"):
        load_settings(path)
    path.write_text("[rules]\nstamp_dayz = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.stamp_dayz: unknown key"):
        load_settings(path)


def test_without_the_rule_its_parameter_is_an_unknown_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[rules]\nstamp_days = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.stamp_days: unknown key"):
        load_settings(path)


def test_the_reports_show_the_throwaway_rules_title_and_action(throwaway_rule, store, database_url, tmp_path,
                                                                capsys):
    config = write_config(tmp_path, database_url, RECIPIENT)
    output = tmp_path / "out"
    code, _, err = run_cli(capsys, "report", "--config", config, "--dry-run", "--output", str(output))
    assert code == 0, err
    [mail] = (output / "mail").glob("*.eml")
    message = message_from_bytes(mail.read_bytes(), policy=default)
    for part in ("plain", "html"):
        text = message.get_body(preferencelist=(part,)).get_content()
        assert TITLE in text and ACTION in text
    [page] = output.glob(f"*/don-vi-{AGENCY}.html")  # in the folder of the period reported
    page = page.read_text(encoding="utf-8")
    assert TITLE in page and ACTION in page


def test_a_rule_id_is_added_once():
    with pytest.raises(ValueError, match="exists already"):
        with registry.added(registry.by_id("ontime.late")):
            pass
    assert registry.rule_ids().count("ontime.late") == 1

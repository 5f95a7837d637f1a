"""config.toml → settings: the keys of interface.md, and an error naming key and file for each mistake."""
from datetime import date, time
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ConfigError, config_path, load_settings
from rules.registry import parameters

ROOT_CONFIG = Path(__file__).resolve().parents[1] / "config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(write(tmp_path, text))
    return str(raised.value)


def test_the_shipped_config_reads_every_key_of_the_interface():
    settings = load_settings(ROOT_CONFIG)
    assert settings.calendar.weekend == ("sat", "sun")
    assert settings.calendar.working_hours == ((time(7), time(11, 30)), (time(13, 30), time(17)))
    assert settings.rules == {"entry_grace_days": 1, "sync_grace_days": 1, "same_day_cutoff": time(15),
                              "apology_lead_days": 0, "monitor_from": date(2025, 7, 1)}
    assert [(s.name, s.kind, s.max_age_hours) for s in settings.sources] == [
        ("motcua", "onestop_api", 36), ("cong-dvc", "portal_html", 36), ("so-theo-doi", "tracking_book", 36)]
    assert settings.schedule.nightly == "0 2 * * *"
    assert settings.mail.port == 1025 and settings.mail.starttls is False
    assert settings.recipients[-1].agency == "*"


def test_defaults_apply_to_an_empty_file(tmp_path):
    settings = load_settings(write(tmp_path, ""))
    assert settings.rules == {}
    # What the rules read then: their parameters' defaults.
    assert {name: parameter.value(settings.rules) for name, parameter in parameters().items()} == {
        "entry_grace_days": 1, "sync_grace_days": 1, "same_day_cutoff": time(15), "apology_lead_days": 0,
        "monitor_from": None}
    assert settings.calendar.extra_days_off == ()
    assert settings.sources == ()


def test_paths_are_relative_to_the_config_file(tmp_path):
    settings = load_settings(write(tmp_path, """
[database]
url = "sqlite:///var/m.db"
[[sources]]
name = "so"
kind = "tracking_book"
path = "books/*.xlsx"
"""))
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/var/m.db"
    assert settings.sources[0].path == f"{tmp_path.resolve()}/books/*.xlsx"


def test_calendar_overrides_are_dates(tmp_path):
    settings = load_settings(write(tmp_path, """
[calendar]
extra_days_off = ["2026-01-02"]
extra_working_days = ["2026-02-07"]
"""))
    assert settings.calendar.extra_days_off == (date(2026, 1, 2),)
    assert settings.calendar.extra_working_days == (date(2026, 2, 7),)


@pytest.mark.parametrize("text, named", [
    ("[rules]\nentry_grace_dayz = 1\n", "rules.entry_grace_dayz: unknown key"),
    ("[databse]\nurl = 'x'\n", "databse: unknown key"),
    ("[[sources]]\nname='a'\nkind='portal_html'\nbase_url='http://x'\nmax_age_hour=3\n", "sources[0].max_age_hour: unknown key"),
])
def test_unknown_keys_are_errors(tmp_path, text, named):
    assert named in error_of(tmp_path, text)


@pytest.mark.parametrize("text, named", [
    ("[rules]\nentry_grace_days = '1'\n", "rules.entry_grace_days: must be int"),
    ("[rules]\nentry_grace_days = true\n", "rules.entry_grace_days: must be int"),
    ("[mail]\nstarttls = 'yes'\n", "mail.starttls: must be bool"),
    ("[mail]\nport = 25.5\n", "mail.port: must be int"),
    ("[calendar]\nweekend = 'sat'\n", "calendar.weekend: must be list"),
    ("[calendar]\nweekend = ['saturday']\n", "calendar.weekend: 'saturday' is not one of"),
    ("[[sources]]\nname='a'\nkind='portal_html'\nbase_url='http://x'\nmax_age_hours='36'\n",
     "sources[a].max_age_hours: must be int or float"),
])
def test_wrong_types_are_errors(tmp_path, text, named):
    assert named in error_of(tmp_path, text)


@pytest.mark.parametrize("text, named", [
    ("[calendar]\nextra_days_off = ['2026-02-30']\n", "calendar.extra_days_off: '2026-02-30' is not an ISO date"),
    ("[calendar]\nextra_working_days = ['07/02/2026']\n", "calendar.extra_working_days: '07/02/2026' is not an ISO date"),
    ("[rules]\nmonitor_from = 'soon'\n", "rules.monitor_from: 'soon' is not an ISO date"),
    ("[rules]\nsame_day_cutoff = '3pm'\n", "rules.same_day_cutoff: '3pm' is not a time"),
    ("[calendar]\nworking_hours = ['13:30-17:00', '07:00-11:30']\n", "calendar.working_hours: periods must be"),
])
def test_bad_dates_and_times_are_errors(tmp_path, text, named):
    assert named in error_of(tmp_path, text)


@pytest.mark.parametrize("cron", ["0 2 * *", "61 2 * * *", "every night"])
def test_a_bad_cron_string_is_an_error(tmp_path, cron):
    assert "schedule.nightly" in error_of(tmp_path, f"[schedule]\nnightly = '{cron}'\n")


def test_a_source_needs_the_keys_of_its_kind(tmp_path):
    assert "sources[m].password_env: is required" in error_of(tmp_path, """
[[sources]]
name = "m"
kind = "onestop_api"
base_url = "http://127.0.0.1:1/api"
username_env = "U"
""")
    assert "sources[x].kind: 'ftp' is not one of" in error_of(tmp_path, "[[sources]]\nname='x'\nkind='ftp'\n")


def test_two_sources_cannot_share_a_name(tmp_path):
    text = "[[sources]]\nname='p'\nkind='portal_html'\nbase_url='http://x'\n"
    assert "'p' is used by more than one source" in error_of(tmp_path, text * 2)


def test_an_env_variable_that_is_not_set_is_an_error_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("MOTCUA_TEST_UNSET", raising=False)
    path = write(tmp_path, """
[[sources]]
name = "m"
kind = "onestop_api"
base_url = "http://127.0.0.1:1/api"
username_env = "MOTCUA_TEST_UNSET"
password_env = "MOTCUA_TEST_UNSET"
""")
    settings = load_settings(path)
    with pytest.raises(ConfigError, match=r"config.toml: sources\[m\].username_env names .*MOTCUA_TEST_UNSET.* not set"):
        settings.secret("sources[m].username_env", settings.sources[0].username_env)
    monkeypatch.setenv("MOTCUA_TEST_UNSET", "canbo")
    assert settings.secret("sources[m].username_env", "MOTCUA_TEST_UNSET") == "canbo"


def test_every_error_names_the_file(tmp_path):
    assert str(tmp_path / "config.toml") in error_of(tmp_path, "[rules]\nbad = 1\n")
    assert "not valid TOML" in error_of(tmp_path, "[rules\n")


def test_config_option_then_environment_then_working_directory(monkeypatch):
    monkeypatch.setenv("MOTCUA_CONFIG", "/etc/motcua.toml")
    assert config_path("given.toml") == Path("given.toml")
    assert config_path(None) == Path("/etc/motcua.toml")
    monkeypatch.delenv("MOTCUA_CONFIG")
    assert config_path(None) == Path("config.toml")


def test_cli_exits_2_naming_key_and_file_on_bad_config(tmp_path, capsys):
    path = write(tmp_path, "[rules]\nsync_grace_days = -1\n")
    with pytest.raises(SystemExit) as exited:
        main(["init", "--config", str(path)])
    assert exited.value.code == 2
    assert f"{path}: rules.sync_grace_days: must not be negative" in capsys.readouterr().err


def test_cli_exits_2_when_the_config_file_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["init", "--config", str(tmp_path / "nowhere.toml")])
    assert exited.value.code == 2
    assert "config file not found" in capsys.readouterr().err


# --- [report] and the [mail] keys of the reports -------------------------------------------------

def test_report_keys_are_read_and_site_dir_is_relative_to_the_config(tmp_path):
    settings = load_settings(write(tmp_path, """
[mail]
from_name = "Văn phòng UBND tỉnh"
operator = "vanhanh@example.gov.vn"
[report]
site_url = "https://giamsat.example.gov.vn/bao-cao/"
site_dir = "site"
dossier_url = "https://motcua.example.gov.vn/ho-so?ma={code}"
contact = "Văn phòng UBND tỉnh, 0200 3812 345"
ranking_min_dossiers = 30
"""))
    assert settings.mail.from_name == "Văn phòng UBND tỉnh" and settings.mail.operator == "vanhanh@example.gov.vn"
    report = settings.report
    assert report.site_dir == str(tmp_path.resolve() / "site")
    assert (report.site_url, report.dossier_url, report.ranking_min_dossiers) == (
        "https://giamsat.example.gov.vn/bao-cao/", "https://motcua.example.gov.vn/ho-so?ma={code}", 30)


def test_report_defaults_link_nowhere_and_rank_from_twenty_dossiers(tmp_path):
    settings = load_settings(write(tmp_path, ""))
    assert settings.report.site_url == settings.report.dossier_url == settings.report.contact == ""
    assert settings.report.ranking_min_dossiers == 20
    assert settings.mail.from_name == "Hệ thống giám sát một cửa" and settings.mail.operator == ""


@pytest.mark.parametrize("text, message", [
    ('[report]\nsite_ulr = "https://x"', "report.site_ulr: unknown key"),
    ('[report]\nranking_min_dossiers = 0', "report.ranking_min_dossiers: must be at least 1"),
    ('[report]\nranking_min_dossiers = "20"', "report.ranking_min_dossiers: must be int, not str '20'"),
    ('[report]\ndossier_url = "https://motcua.example.gov.vn/ho-so"', "report.dossier_url: "
     "'https://motcua.example.gov.vn/ho-so' has no {code} for the dossier code"),
    ('[report]\ndossier_url = "https://m.example/{ma}"', "report.dossier_url: 'https://m.example/{ma}': the only "
     "placeholder it may hold is {code}"),
    ('[report]\ndossier_url = "motcua.example/{code}"', "report.dossier_url: 'motcua.example/{code}' is not an "
     "http:// or https:// address"),
    ('[report]\nsite_url = "https://giamsat.example/"', "report.site_url: needs report.site_dir"),
    ('[report]\nsite_url = "javascript:alert(1)"\nsite_dir = "s"', "report.site_url: 'javascript:alert(1)' is not"),
    ('[mail]\noperator = "vanhanh"', "mail.operator: 'vanhanh' is not a mail address"),
    ('[mail]\nfrom_name = 5', "mail.from_name: must be str"),
])
def test_report_and_mail_keys_are_checked_with_an_error_naming_the_key(tmp_path, text, message):
    assert message in error_of(tmp_path, text)

"""What leaves the monitor, on a store holding hostile text: a dossier code with a vertical tab and
an escape sequence, an agency name with a CR LF. The workbook, the mails, the terminal and the site
all come out; `--output` writes only where it may."""
from __future__ import annotations

import io
import re
from email import message_from_bytes
from email.policy import default

import pytest
from openpyxl import load_workbook

from audit_helpers import AGENCY, Store, at
from cli_helpers import run_cli, write_config
from sandbox.mailcatcher import MailCatcher
from monitor.models import Agency

TAB_CODE = "000.00.31.H59-260302-\x0b0001"
ESCAPE_CODE = "\x1b[31m000.00.31.H59-260302-0002"
AGENCY_NAME = "Sở Tư pháp\r\nBcc: ke-gian@example.com"
PROVINCE_TO = "vanphong.ubnd@example.gov.vn"
HEAD_TO = "giamdoc.stp@example.gov.vn"


@pytest.fixture
def hostile(engine):
    """Overdue dossiers (open findings now) whose codes hold control characters, in an agency
    whose name holds a CR LF."""
    store = Store(engine)
    store.add(Agency(code=AGENCY, name=AGENCY_NAME))
    store.procedure()
    store.dossier(TAB_CODE, at(2), status=4)
    store.dossier(ESCAPE_CODE, at(2), status=4, on_portal=False)
    return store


def config_with_mail(folder, database_url, port: int) -> str:
    return write_config(folder, database_url, f"""
[mail]
host = "127.0.0.1"
port = {port}
sender = "giamsat@example.gov.vn"

[[recipients]]
agency = "{AGENCY}"
to = ["{HEAD_TO}"]

[[recipients]]
agency = "*"
to = ["{PROVINCE_TO}"]
""")


def test_the_workbook_keeps_a_code_with_control_characters(hostile, database_url, tmp_path, capsys):
    path = tmp_path / "audit.xlsx"
    code, _, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url), "--format", "xlsx",
                           "--output", str(path))

    assert code == 0, err
    subjects = {row[2] for row in load_workbook(path)["Vi phạm"].iter_rows(min_row=2, values_only=True)}  # Mã hồ sơ
    # The forbidden characters are shown as their control pictures, the rest of the code kept.
    assert {"000.00.31.H59-260302-␋0001", "␛[31m000.00.31.H59-260302-0002"} <= subjects


def test_the_table_shows_control_characters_instead_of_obeying_them(hostile, database_url, tmp_path, capsys):
    code, out, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url), "--format", "table")

    assert code == 0, err
    assert "\x1b" not in out and "\x0b" not in out
    assert "␛[31m000.00.31.H59-260302-0002" in out and "000.00.31.H59-260302-␋0001" in out


def test_json_and_csv_keep_the_codes_exact(hostile, database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    _, out_json, _ = run_cli(capsys, "audit", "--config", config, "--format", "json")
    _, out_csv, _ = run_cli(capsys, "audit", "--config", config, "--format", "csv")

    assert "\\u001b[31m000.00.31.H59" in out_json and "\\u000b0001" in out_json
    assert ESCAPE_CODE in out_csv and TAB_CODE in out_csv


def assert_one_line_headers(raw: bytes) -> None:
    """The headers as sent: no bare CR or LF inside a value, no ESC, no header smuggled in."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line or b"\x1b" in line for line in lines)
    assert not any(line.lower().startswith(b"bcc") for line in lines)
    assert "Bcc" not in message_from_bytes(raw, policy=default)


def test_report_dry_run_and_site_come_out(hostile, database_url, tmp_path, capsys):
    with MailCatcher() as mailbox:
        config = config_with_mail(tmp_path, database_url, mailbox.port)
        code, out, err = run_cli(capsys, "report", "--dry-run", "--output", str(tmp_path / "out"), "--config", config)

    assert code == 0, err
    written = sorted((tmp_path / "out" / "mail").glob("*.eml"))
    assert len(written) == 2
    for path in written:
        assert_one_line_headers(path.read_bytes())
    head = next(m for m in (message_from_bytes(p.read_bytes(), policy=default) for p in written)
                if m["To"] == HEAD_TO)
    assert head["Subject"].startswith("[Giám sát một cửa] Sở Tư pháp Bcc: ke-gian@example.com: báo cáo ")
    [attachment] = head.iter_attachments()
    workbook = load_workbook(io.BytesIO(attachment.get_content()))
    assert "␛[31m000.00.31.H59-260302-0002" in {row[2] for row in workbook["Vi phạm"].iter_rows(values_only=True)}
    assert "\x1b" not in out


def test_report_send_delivers_the_mails(hostile, database_url, tmp_path, capsys):
    with MailCatcher() as mailbox:
        config = config_with_mail(tmp_path, database_url, mailbox.port)
        code, out, err = run_cli(capsys, "report", "--send", "--config", config)
        received = {mail.recipients[0]: mail for mail in mailbox.received}

    assert code == 0, err
    assert "2 sent" in out
    assert sorted(received) == sorted([HEAD_TO, PROVINCE_TO])
    for mail in received.values():
        assert_one_line_headers(mail.data)
    assert "Sở Tư pháp Bcc: ke-gian@example.com" in received[HEAD_TO].message["Subject"]


def test_a_display_name_with_a_comma_and_quotes_is_one_address(engine, database_url, tmp_path, capsys):
    Store(engine).add(Agency(code=AGENCY, name="Sở Tư pháp"))
    with MailCatcher() as mailbox:
        config = write_config(tmp_path, database_url, f"""
[mail]
port = {mailbox.port}
sender = '"Văn phòng \\"Một cửa\\", UBND tỉnh" <giamsat@example.gov.vn>'

[[recipients]]
agency = "{AGENCY}"
to = ['"Giám đốc, Sở Tư pháp" <{HEAD_TO}>']
""")
        code, _, err = run_cli(capsys, "report", "--dry-run", "--output", str(tmp_path / "out"), "--config", config)

    assert code == 0, err
    [path] = (tmp_path / "out" / "mail").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default)
    [sender] = message["From"].addresses
    [to] = message["To"].addresses
    assert (sender.display_name, sender.addr_spec) == ('Văn phòng "Một cửa", UBND tỉnh', "giamsat@example.gov.vn")
    assert (to.display_name, to.addr_spec) == ("Giám đốc, Sở Tư pháp", HEAD_TO)
    assert message["Message-ID"].endswith("@example.gov.vn>")


# --- the site's pages -----------------------------------------------------------------------------

def site_links(page) -> list[str]:
    return re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8"))


def test_agency_pages_never_replace_the_sites_own_nor_each_other(engine, database_url, tmp_path, capsys):
    store = Store(engine)
    store.procedure()
    # Codes that would land on the site's own pages, differ only by case, or only by unsafe characters.
    codes = ["index", "tong-hop", "000.00.16.H59", "000.00.16.h59", "a/b", "a:b", "../x"]
    for number, agency in enumerate(codes):
        store.dossier(f"HS-{number}", at(2), status=4, agency=agency, on_portal=False)

    code, _, err = run_cli(capsys, "report", "--output", str(tmp_path / "site"), "--config",
                           write_config(tmp_path, database_url))

    assert code == 0, err
    [site] = [page.parent for page in (tmp_path / "site").glob("*/tong-hop.html")]  # the period's folder
    index = site / "index.html"
    assert "· mã đơn vị " not in index.read_text(encoding="utf-8")  # the index, not an agency's page
    assert "Tổng hợp toàn tỉnh" in (site / "tong-hop.html").read_text(encoding="utf-8")
    pages = [link for link in site_links(index) if link.startswith("don-vi-")]
    assert len(pages) == len(codes)
    assert len({page.casefold() for page in pages}) == len(codes)   # distinct even where case is ignored
    for page, agency in zip(pages, sorted(codes)):
        assert (site / page).parent == site                            # no page outside the site
        assert f"HS-{codes.index(agency)}" in (site / page).read_text(encoding="utf-8")
    assert all((site / link).exists() for link in site_links(site / "tong-hop.html") if link.endswith(".html"))
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "site" / "x.html").exists()


# --- where --output may write ---------------------------------------------------------------------

def test_output_into_a_missing_folder_is_a_usage_error(hostile, database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    missing = tmp_path / "khong-co"

    code, out, err = run_cli(capsys, "audit", "--config", config, "--output", str(missing / "audit.json"))
    assert (code, out) == (2, "")
    assert f"the folder {missing} does not exist" in err and "Traceback" not in err

    code, _, err = run_cli(capsys, "report", "--config", config, "--output", str(missing / "site"))
    assert code == 2 and f"the folder {missing} does not exist" in err
    assert not missing.exists()


def test_output_never_overwrites_the_config_file(hostile, database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    before = (tmp_path / "config.toml").read_bytes()
    (tmp_path / "sub").mkdir()

    for target in (config, str(tmp_path / "sub" / ".." / "config.toml")):
        code, _, err = run_cli(capsys, "audit", "--config", config, "--output", target)
        assert code == 2 and "is the configuration file" in err
    assert (tmp_path / "config.toml").read_bytes() == before


def test_a_site_never_overwrites_a_config_inside_its_folder(hostile, database_url, tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    config = site / "index.html"   # a config file that happens to bear a page's name
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")

    code, _, err = run_cli(capsys, "report", "--config", str(config), "--output", str(site))

    assert code == 2 and f"{site / 'index.html'}: is the configuration file" in err
    assert config.read_text(encoding="utf-8") == f'[database]\nurl = "{database_url}"\n'


def test_output_never_overwrites_the_sqlite_database(hostile, database_url, tmp_path, capsys):
    if not database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database is not a file")
    config = write_config(tmp_path, database_url)
    database = database_url.removeprefix("sqlite:///")

    for target in (database, database + "-wal", database + "-shm"):
        code, _, err = run_cli(capsys, "audit", "--config", config, "--output", target)
        assert code == 2 and "is a file of the database" in err
    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json")
    assert code == 0 and ESCAPE_CODE.replace("\x1b", "\\u001b") in out   # the store is intact


def test_output_overwrites_a_report_file_the_user_named(hostile, database_url, tmp_path, capsys):
    path = tmp_path / "audit.json"
    path.write_text("cũ", encoding="utf-8")

    code, _, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url), "--output", str(path))

    assert code == 0, err
    assert path.read_text(encoding="utf-8").startswith('{"as_of":')

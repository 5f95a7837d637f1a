"""`motcua demo`: the whole pipeline on the simulated province, end to end, as `make demo` runs it."""
from __future__ import annotations

import io
import re
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import openpyxl

from sandbox.simulator.catalogue import AGENCIES
from nightly_support import motcua


def test_the_demo_runs_the_nightly_job_and_says_where_everything_is(tmp_path):
    done = motcua("demo", "--output", str(tmp_path), "--dossiers", "300")

    assert done.returncode == 0, done.stderr
    [folder] = tmp_path.iterdir()
    assert f"motcua demo in {folder}/" in done.stdout
    assert re.search(r"^nightly run 1: ok$", done.stdout, re.MULTILINE)
    assert re.search(r"^  \* province +[0-9,]+ +[0-9,]+ +[0-9,]+%", done.stdout, re.MULTILINE)  # the figures table
    assert "Open breaches per rule:" in done.stdout

    mails = sorted((folder / "mail").glob("*.eml"))
    assert len(mails) == len(AGENCIES) + 1  # every agency head, and the province office
    for path in mails:
        message = message_from_bytes(path.read_bytes(), policy=default)
        [attachment] = message.iter_attachments()
        assert openpyxl.load_workbook(io.BytesIO(attachment.get_content())).sheetnames == ["Thống kê", "Vi phạm"]

    site = Path(re.search(r"HTML site +(\S+)", done.stdout).group(1))
    workbook = Path(re.search(r"the province's: (\S+)", done.stdout).group(1))
    assert site == folder / "site" / "index.html" and site.exists()
    assert workbook.parent.parent == folder / "site" and workbook.exists()  # in the folder of its period


def test_the_demo_on_the_stream_receives_the_one_stop_system_with_motcua_receive(tmp_path):
    done = motcua("demo", "--output", str(tmp_path), "--dossiers", "300", "--stream")

    assert done.returncode == 0, done.stderr
    [folder] = tmp_path.iterdir()
    assert re.search(r"motcua receive on 127\.0\.0\.1:[0-9]+", done.stdout)
    pushed = re.search(r"pushed its stream to motcua receive: ([0-9.]+) batches, ([0-9.]+) records in [0-9]+ s, "
                       r"0 records refused", done.stdout)
    assert pushed and int(pushed.group(2).replace(".", "")) > 300  # dossiers and their steps
    assert re.search(r"^nightly run 1: ok$", done.stdout, re.MULTILINE)
    assert 'kind = "dvcqg_stream"' in (folder / "config.toml").read_text(encoding="utf-8")
    assert "receiving on http://127.0.0.1:" in (folder / "motcua.log").read_text(encoding="utf-8")

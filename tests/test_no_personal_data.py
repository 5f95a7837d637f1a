"""End to end (issue 10): applicants' full names and ID numbers, in poisoned one-stop records and
in good ones, reach no output of the monitor: not the store's error columns, the log, stdout or
stderr, a mail (bodies and workbook), the site, nor any audit format. A masked name is allowed."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine

from monitor.clock import now_local
from nightly_support import motcua, simulated_world
from rules.publish import mask_name
from sandbox.simulator import OneStopServer

NAME, ID_NUMBER = "Nguyễn Thị Bíchngọc Độcnhất", "079123456789012345678901234567890"  # poisoned records
GOOD_NAME, GOOD_ID = "Lê Thị Thanhthủy Riêngbiệt", "001188009977"                       # every other record
FORBIDDEN = (NAME, ID_NUMBER[:12], GOOD_NAME, GOOD_ID)


class SeedingServer(OneStopServer):
    """The simulated API with every applicant named, and four records poisoned."""

    def answer(self, request):
        answer = super().answer(request)
        body = json.loads(answer.body)
        if isinstance(body.get("data"), list) and body["data"] and "MaHoSo" in body["data"][0]:
            codes = sorted(d.code for d in self.province.dossiers if d.in_onestop)
            poisons = {codes[3]: {"MaHoSo": codes[3] + "-" + "9" * 90},      # overlong code
                       codes[9]: {"MaHoSo": codes[9][:5] + "\x0b" + codes[9][5:]},  # a control character in it
                       codes[15]: {"NgayTiepNhan": "00010101080000"},        # year 1
                       codes[21]: {"MaHoSo": codes[22].lower()}}             # the store refuses it (code_key)
            for record in body["data"]:
                poison = poisons.get(record["MaHoSo"])
                record.update(ChuHoSo=GOOD_NAME, SoGiayToChuHoSo=GOOD_ID)
                if poison is not None:
                    record.update(ChuHoSo=NAME, SoGiayToChuHoSo=ID_NUMBER, **poison)
        return replace(answer, body=json.dumps(body, ensure_ascii=False).encode())


def mail_texts(raw: bytes) -> list[str]:
    """A mail's decoded headers, text parts and attachments (a workbook unzipped, its XML)."""
    message = message_from_bytes(raw, policy=default)
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        if (part.get_filename() or "").endswith(".xlsx"):
            texts += xlsx_texts(part.get_content())
        else:
            texts.append(part.get_content())
    return texts


def xlsx_texts(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        return [workbook.read(name).decode("utf-8") for name in workbook.namelist()]


def folder_texts(folder: Path) -> list[str]:
    texts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        texts += (mail_texts(content) if path.suffix == ".eml" else xlsx_texts(content) if path.suffix == ".xlsx"
                  else [content.decode("utf-8")])
    return texts


def error_columns(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [str(value) for query in ("select error from sync_run", "select location from rejected_input",
                                             "select reason from rejected_input", "select last_error from outbox_message",
                                             "select stages from nightly_run")
                    for value in connection.execute(sqlalchemy.text(query)).scalars()]
    finally:
        engine.dispose()


def test_no_full_name_nor_id_number_in_any_output(tmp_path, monkeypatch, database_url):
    now = now_local().replace(microsecond=0)
    with simulated_world(tmp_path, monkeypatch, now, SeedingServer) as world:
        config = str(world.config(database_url))
        runs = {"init": motcua("init", "--config", config),
                "nightly": motcua("nightly", "--config", config, "--verbose"),
                "report": motcua("report", "--dry-run", "--output", str(tmp_path / "preview"), "--config", config,
                                 "--verbose")}
        for format in ("xlsx", "csv", "json", "table"):
            runs[format] = motcua("audit", "--format", format, "--output", str(tmp_path / f"audit.{format}"),
                                  "--config", config, "--verbose")
        mails = [mail.data for mail in world.mailbox.received]

    assert [(name, run.returncode) for name, run in runs.items()] == [(name, 0) for name in runs], \
        [run.stderr[-3000:] for run in runs.values()]
    stored = error_columns(database_url)
    assert sum("the store refused the record: IntegrityError" in text for text in stored) == 1
    assert sum("control character" in text or "impossible date" in text or "characters long" in text
               for text in stored) == 3
    assert len(mails) == 3

    outputs = {
        "store": stored,
        "stdout and stderr (the log)": [text for run in runs.values() for text in (run.stdout, run.stderr)],
        "mails": [text for raw in mails for text in mail_texts(raw)],
        "preview (mails and site)": folder_texts(tmp_path / "preview"),
        "audit outputs": xlsx_texts((tmp_path / "audit.xlsx").read_bytes())
                         + [(tmp_path / f"audit.{f}").read_text(encoding="utf-8") for f in ("csv", "json", "table")],
    }
    for where, texts in outputs.items():
        joined = "\n".join(texts)
        assert not [seeded for seeded in FORBIDDEN if seeded in joined], where
    # The search can see an applicant: the reports name them, masked.
    assert mask_name(GOOD_NAME) in "\n".join(outputs["mails"])

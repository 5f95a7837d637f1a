"""`motcua demo`: the whole pipeline on a simulated province, for a first look.

In a fresh folder: the simulated province's one-stop API and portal served on loopback, its
counters' tracking books written as files, a local SMTP server that keeps what it receives as
.eml files, and a config.toml pointing at all of them. Then the real commands run as child
processes, as an operator would run them (`motcua init`, `motcua nightly`, `motcua report
--output`), and the demo prints the figures, the breaches per rule and where everything is.

With `stream`, the one-stop system is not read through the pull API but received as the
national sync stream: `motcua receive` runs as a child process and the simulated province
pushes its dossiers and steps to it, as a provincial one-stop system pushes them to the
national portal (sources.md section 4); the nightly run then syncs the portal and the books.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click

from monitor.config import load_settings
from monitor.db import make_engine
from monitor.statuses import FindingStatus
from monitor.terminal import number, render_table
from sandbox.mailcatcher import MailCatcher
from sandbox.simulator import OneStopServer, PortalServer, generate_province, push_stream, write_tracking_books
from reports.render import percent
from rules import registry
from rules.audit import run_audit
from rules.figures import Figures

SEED = 2026
HISTORY_DAYS = 120
USERNAME_ENV, PASSWORD_ENV = "MOTCUA_ONESTOP_USER", "MOTCUA_ONESTOP_PASSWORD"
USERNAME, PASSWORD = "canbo", "matkhau"  # the simulated one-stop system's account
STREAM_USERNAME_ENV, STREAM_PASSWORD_ENV = "MOTCUA_STREAM_USER", "MOTCUA_STREAM_PASSWORD"
STREAM_USERNAME, STREAM_PASSWORD = "lgsp", "matkhau-luong"  # what the sender presents to motcua receive
RECEIVER_START_SECONDS = 30
SITE_PORT = 8000  # where the demo says to serve its site, for the mails' links


def run_demo(root: Path, clock: Callable[[], datetime], *, dossiers: int, verbose: bool = False,
             stream: bool = False) -> int:
    started = time.monotonic()  # only to say how long the demo took
    now = clock()
    folder = _fresh_folder(root, now)
    province = generate_province(seed=SEED, dossiers=dossiers, start=now.date() - timedelta(days=HISTORY_DAYS),
                                 now=now)
    books = write_tracking_books(province, folder / "so-theo-doi")
    click.echo(f"motcua demo in {folder}/\n"
               f"simulated province: {number(dossiers)} dossiers received since {province.start:%d/%m/%Y}, "
               f"{len(province.agencies)} agencies, {len(books)} tracking books")

    with OneStopServer(province, username=USERNAME, password=PASSWORD) as onestop, PortalServer(province) as portal, \
            MailCatcher(folder / "mail") as mailbox:
        listen = f"127.0.0.1:{_free_port()}" if stream else None
        config = _write_config(folder, onestop.url, portal.url, mailbox.port, [a.code for a in province.agencies],
                               listen)
        one_stop = f"motcua receive on {listen}" if stream else f"one-stop API {onestop.url}"
        click.echo(f"  {one_stop}, portal {portal.url}, mail server 127.0.0.1:{mailbox.port}\n")
        log = folder / "motcua.log"
        environment = {**os.environ, USERNAME_ENV: USERNAME, PASSWORD_ENV: PASSWORD,
                       STREAM_USERNAME_ENV: STREAM_USERNAME, STREAM_PASSWORD_ENV: STREAM_PASSWORD}
        _motcua(["init"], config, environment, log, verbose)
        if stream:
            click.echo(_pushed(province, config, environment, log, listen) + "\n")
        nightly = _motcua(["nightly"], config, environment, log, verbose)
        _motcua(["report", "--output", str(folder / "site")], config, environment, log, verbose)

    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    try:
        moment = clock()
        audit = run_audit(engine, settings, as_of=moment, now=moment)
    finally:
        engine.dispose()
    click.echo(nightly.stdout.rstrip() + "\n")
    click.echo(_figures_table(audit.figures) + "\n")
    click.echo(_rule_counts(audit.findings) + "\n")
    mails = sorted((folder / "mail").glob("*.eml"))
    [workbook] = (folder / "site").glob("*/*.xlsx")  # in the folder of the period reported
    click.echo("\n".join([
        f"Where everything is (in {folder}/):",
        f"  emails     mail/: {len(mails)} .eml files, one per recipient (open them in any mail client)",
        f"  XLSX       attached to every email; the province's: {workbook}",
        f"  HTML site  {folder / 'site' / 'index.html'} (the archive; each period in its own folder)",
        f"             the mails link to it at http://127.0.0.1:{SITE_PORT}/ once served: "
        f"python3 -m http.server {SITE_PORT} --directory {folder / 'site'}",
        f"  config     {config.name} (its database: motcua.db; the tracking books: so-theo-doi/)",
        f"  log        {log.name}",
        f"Done in {time.monotonic() - started:.0f} s.",
    ]))
    return nightly.returncode


def _fresh_folder(root: Path, now: datetime) -> Path:
    folder = root / f"{now:%Y%m%d-%H%M%S}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{now:%Y%m%d-%H%M%S}-{suffix}"
    folder.mkdir(parents=True)
    return folder.resolve()


def _pushed(province, config: Path, environment: dict, log: Path, listen: str) -> str:
    """Run `motcua receive`, push the province's stream to it as its one-stop system would, and
    stop it with SIGTERM, as a service manager does."""
    command = [sys.executable, "-m", "monitor", "receive", "--config", str(config)]
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write("$ motcua receive\n")
        log_file.flush()
        receiver = subprocess.Popen(command, env=environment, stdout=log_file, stderr=log_file)
        try:
            _wait_for(listen, receiver)
            started = time.monotonic()
            # Daily rounds: the demo pushes four months at once, not as they happened.
            pushed = push_stream(province, f"http://{listen}", STREAM_USERNAME, STREAM_PASSWORD,
                                 round_minutes=24 * 60)
            seconds = time.monotonic() - started
        finally:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(timeout=RECEIVER_START_SECONDS)
    return (f"The one-stop system pushed its stream to motcua receive: {number(pushed.batches)} batches, "
            f"{number(pushed.records)} records in {seconds:.0f} s, {number(len(pushed.rejected))} records refused")


def _wait_for(listen: str, receiver: subprocess.Popen) -> None:
    host, port = listen.rsplit(":", 1)
    deadline = time.monotonic() + RECEIVER_START_SECONDS
    while time.monotonic() < deadline:
        if receiver.poll() is not None:
            raise click.ClickException(f"`motcua receive` ended with exit code {receiver.returncode}; see motcua.log")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise click.ClickException(f"`motcua receive` did not listen on {listen} within {RECEIVER_START_SECONDS} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_config(folder: Path, onestop_url: str, portal_url: str, mail_port: int, agencies: list[str],
                  listen: str | None) -> Path:
    recipients = "".join(
        f'\n[[recipients]]\nagency = "{code}"\nto = ["lanhdao.{code.lower()}@example.gov.vn"]\n'
        for code in agencies)
    one_stop = f"""name = "luong-dvcqg"
kind = "dvcqg_stream"
listen = "{listen}"
username_env = "{STREAM_USERNAME_ENV}"
password_env = "{STREAM_PASSWORD_ENV}"
""" if listen else f"""name = "motcua"
kind = "onestop_api"
base_url = "{onestop_url}"
username_env = "{USERNAME_ENV}"
password_env = "{PASSWORD_ENV}"
"""
    text = f"""# Written by `motcua demo` for the simulated province it serves on loopback.
[database]
url = "sqlite:///motcua.db"

[[sources]]
{one_stop}
[[sources]]
name = "cong-dvc"
kind = "portal_html"
base_url = "{portal_url}"

[[sources]]
name = "so-theo-doi"
kind = "tracking_book"
path = "so-theo-doi/*"

[mail]
host = "127.0.0.1"
port = {mail_port}
sender = "giamsat@example.gov.vn"

# The nightly run writes the site into site/; the mails link to it where it is served:
#   python3 -m http.server {SITE_PORT} --directory site
[report]
site_dir = "site"
site_url = "http://127.0.0.1:{SITE_PORT}/"
contact = "Văn phòng UBND tỉnh, phòng Kiểm soát thủ tục hành chính"

[[recipients]]
agency = "*"
to = ["vanphong.ubnd@example.gov.vn"]
{recipients}"""
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _motcua(args: list[str], config: Path, environment: dict, log: Path, verbose: bool) -> subprocess.CompletedProcess:
    """Run one `motcua` command as a child process; its log lines go to the log file."""
    command = [sys.executable, "-m", "monitor", *args, "--config", str(config)] + (["--verbose"] if verbose else [])
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write(f"$ motcua {' '.join(args)}\n")
        log_file.flush()
        done = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=log_file, text=True)
        log_file.write(done.stdout)
    if done.returncode not in (0, 3):
        raise click.ClickException(f"`motcua {' '.join(args)}` failed with exit code {done.returncode}; see {log}")
    return done


def _figures_table(figures: list[Figures]) -> str:
    headings = ("agency", "received", "resolved", "on time", "entry", "sync", "online pay")
    rows = [(f.agency if f.agency != "*" else "* province", number(f.received_total),
             number(f.resolved_total), percent(f.on_time_rate), percent(f.entry_rate),
             percent(f.sync_rate), percent(f.online_payment_rate)) for f in figures]
    return "Figures, everything received so far:\n" + _indented(render_table(headings, rows, right=range(1, 7)))


def _rule_counts(findings: list) -> str:
    counts = Counter(f.rule for f in findings if f.status == FindingStatus.OPEN)
    rows = [(rule, number(n), registry.by_id(rule).title) for rule, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]
    rows.append(("total", number(sum(counts.values())), ""))
    return "Open breaches per rule:\n" + _indented(render_table(("rule", "open", "what it is"), rows, right=(1,)))


def _indented(lines: list[str]) -> str:
    return "\n".join("  " + line for line in lines)

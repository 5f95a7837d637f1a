"""The `motcua` command group. Thin: parse options, call one function, print, pick the exit code.

Exit codes (interface.md): 0 success; 1 breaches found (only with --fail-on-breach); 2 bad usage
or configuration; 3 a source failed; 4 an unexpected error (one line on stderr, the traceback
only with --verbose); 5 another run holds the nightly lock (`nightly`, `report --send`), so this one
did nothing; 6 mail was left undelivered (`nightly`, `report --send`: waiting for a retry, or given up on).
"""
from __future__ import annotations

import functools
import logging
import re
import sys
import traceback
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import click

from monitor.config import PERIODS, ConfigError, Settings, config_path, load_settings
from monitor.outputs import OutputError
from monitor.statuses import RunStatus

EXIT_BREACHES = 1
EXIT_USAGE = 2
EXIT_SOURCE_FAILED = 3
EXIT_UNEXPECTED = 4
EXIT_LOCKED = 5
EXIT_MAIL_UNDELIVERED = 6


@dataclass
class Invocation:
    """What every command knows: the config it was given and how talkative to be."""
    config: str | None
    verbose: bool

    @functools.cached_property
    def settings(self) -> Settings:
        return load_settings(config_path(self.config))

    @functools.cached_property
    def engine(self):
        from monitor.db import make_engine

        return make_engine(self.settings.database_url)


CONFIG_HELP = "config.toml to use (default: $MOTCUA_CONFIG, else ./config.toml)"
VERBOSE_HELP = "log more, and show tracebacks"


def common_options(function):
    """--config and --verbose, which interface.md lets come before or after the command name
    (`motcua --config c.toml audit` is `motcua audit --config c.toml`)."""
    function = click.option("--verbose", "-v", is_flag=True, default=None, help=VERBOSE_HELP)(function)
    return click.option("--config", "config", metavar="PATH", help=CONFIG_HELP)(function)


def _given(context: click.Context, config: str | None, verbose: bool | None) -> Invocation:
    """The options of the command and of the groups before it, together: a config given twice
    must be the same file."""
    configs, talkative = [config] if config else [], bool(verbose)
    parent = context.parent
    while parent is not None:
        if parent.params.get("config"):
            configs.append(parent.params["config"])
        talkative = talkative or bool(parent.params.get("verbose"))
        parent = parent.parent
    if len(set(configs)) > 1:
        raise click.UsageError(f"--config is given twice, as {configs[-1]} and {configs[0]}: give it once")
    return Invocation(config=configs[0] if configs else None, verbose=talkative)


def command(group: click.Group = None, **kwargs):
    """A subcommand of `motcua` that takes --config and --verbose, as interface.md requires."""
    def decorate(function):
        @common_options
        @functools.wraps(function)
        def wrapper(config, verbose, **options):
            run = _given(click.get_current_context(), config, verbose)
            _start_logging(run.verbose)
            return function(run, **options)
        return (group or cli).command(**kwargs)(wrapper)
    return decorate


def _start_logging(verbose: bool) -> None:
    """Log lines on stderr, stamped in local time with its offset (2026-03-31 02:00:04.120+07:00),
    like every other time the monitor shows, whatever the machine's own time zone."""
    from monitor.clock import LocalTimeFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LocalTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # Alembic narrates every step at INFO; `init` says in one line what it did.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed

    try:
        return installed("motcua-monitor")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(context: click.Context, _, value: bool) -> None:
    if value and not context.resilient_parsing:
        click.echo(f"motcua {version()}")
        context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="print the version and exit")
def cli(config: str | None, verbose: bool | None) -> None:
    """motcua: compliance monitor for one-stop handling of administrative procedures."""


@command()
def init(run: Invocation) -> None:
    """Create the database schema, or upgrade an older one (harmless to run twice)."""
    from monitor.db import init_schema

    click.echo(init_schema(run.engine))


@command()
@click.option("--source", "source_name", metavar="NAME", help="sync only the [[sources]] entry with this name")
def sync(run: Invocation, source_name: str | None) -> int:
    """Pull every configured source (or one) into the database, incrementally."""
    from connectors.sync import format_summary, progress_for, sync_sources
    from monitor.clock import now_local

    if source_name:
        run.settings.source(source_name)  # an unknown name is a configuration error
    _require_schema(run)
    outcomes = sync_sources(run.engine, run.settings, now_local, only=source_name, progress=progress_for())
    click.echo(format_summary(outcomes))
    return EXIT_SOURCE_FAILED if any(o.status == RunStatus.FAILED for o in outcomes) else 0


DAY_FORMS = "2026-12-31 or 31/12/2026"
VN_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
VN_MOMENT = re.compile(r"(\d{1,2}/\d{1,2}/\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_day(text: str) -> date | None:
    """A date as an ISO date (2026-12-31) or as people write it here (31/12/2026); None otherwise."""
    text = text.strip()
    vietnamese = VN_DAY.fullmatch(text)
    try:
        if vietnamese:
            return date(int(vietnamese[3]), int(vietnamese[2]), int(vietnamese[1]))
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


class Day(click.ParamType):
    """A command-line date: 2026-12-31 or 31/12/2026. Anything else is a usage error naming the option."""
    name = "date"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        parsed = parse_day(str(value))
        if parsed is None:
            self.fail(f"{value!r} is not a date: write {DAY_FORMS}", param, ctx)
        return parsed


DAY = Day()


def _moment(text: str | None) -> datetime | None:
    """T of interface.md: `2026-03-31T17:00` (seconds optional), or `2026-03-31`: the end of that
    day; or the same as people write it here: `31/03/2026 17:00`, `31/03/2026`."""
    if text is None:
        return None
    text = text.strip()
    moment = None
    day = parse_day(text)
    vietnamese = VN_MOMENT.fullmatch(text)
    try:
        if day is not None:
            return datetime.combine(day, time(23, 59, 59))
        if vietnamese:
            moment = datetime.combine(parse_day(vietnamese[1]), time(int(vietnamese[2]), int(vietnamese[3]),
                                                                     int(vietnamese[4] or 0)))
        elif not VN_DAY.match(text):
            moment = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        moment = None
    if moment is None or moment.tzinfo is not None:  # every stored time is local, without a zone
        raise click.BadParameter(f"{text!r} is not a local date-time such as 2026-03-31T17:00 or "
                                 f"31/03/2026 17:00, nor a date ({DAY_FORMS})", param_hint="--as-of")
    return moment.replace(microsecond=0)


@command()
@click.option("--as-of", "as_of", metavar="T", help="audit the store as of T (default: now); a date means its end")
@click.option("--from", "date_from", metavar="D", type=DAY, help="first day of the figures' period")
@click.option("--to", "date_to", metavar="D", type=DAY, help="last day of the period; the audit is as of its end")
@click.option("--agency", metavar="CODE", help="only this agency's findings and figures")
@click.option("--rule", "rule_id", metavar="ID", help="only this rule's findings")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv", "xlsx"]),
              help="default: table on a terminal, json otherwise")
@click.option("--output", metavar="PATH", type=click.Path(dir_okay=False), help="write here instead of stdout")
@click.option("--fail-on-breach", is_flag=True, help="exit 1 when any finding is open (not exempted)")
@click.option("--wide", is_flag=True, help="table: every column, however wide (default: fit 80 columns)")
@click.option("--all", "every_finding", is_flag=True,
              help="table on a terminal: list every finding (through a pager) instead of the counts")
@click.option("--index-detail", is_flag=True,
              help="with --from/--to: list the dossiers that cost the national index points, each with why "
                   "(csv: those dossiers instead of the findings)")
def audit(run: Invocation, as_of: str | None, date_from: date | None, date_to: date | None,
          agency: str | None, rule_id: str | None, output_format: str | None, output: str | None,
          fail_on_breach: bool, wide: bool, every_finding: bool, index_detail: bool) -> int:
    """Evaluate the rules on what is in the database; print findings, figures and, for a period,
    the national index."""
    from monitor.clock import now_local
    from reports.audit_output import write_csv, write_json
    from rules.audit import run_audit
    from rules import registry

    if as_of is not None and date_to is not None:
        raise click.UsageError("--as-of and --to exclude each other: a period's figures are as of the end of --to")
    if (date_from is None) != (date_to is None):
        raise click.UsageError("--from and --to go together")
    if date_from is not None and date_from > date_to:
        raise click.UsageError("--from is after --to")
    if index_detail and date_to is None:
        raise click.UsageError("--index-detail needs a period (--from and --to): the index is computed per period")
    if rule_id is not None and rule_id not in registry.rule_ids():
        raise click.BadParameter(f"{rule_id!r} is not a rule; the rules are: {', '.join(registry.rule_ids())}",
                                 param_hint="--rule")
    output_format = output_format or ("table" if sys.stdout.isatty() and output is None else "json")
    if output_format == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output PATH")
    if output is not None:
        from monitor.outputs import output_file, protected_files

        output_file(Path(output), protected_files(run.settings))
    _require_schema(run)
    if agency is not None:
        _require_agency(run, agency)
    now = now_local()
    period = (date_from, date_to) if date_to is not None else None
    moment = _moment(as_of) or (datetime.combine(period[1], time(23, 59, 59)) if period else now)
    result = run_audit(run.engine, run.settings, as_of=moment, now=now, period=period, agency=agency, rule=rule_id,
                       index_detail=index_detail)
    for stale in result.stale:
        _say(f"warning: source {stale['source']} is stale ({stale['reason']}); skipped: "
             f"{', '.join(stale['skipped_rules'])}", err=True)
    if output_format == "xlsx":
        from reports.workbook import write_workbook

        write_workbook(result, output, agency_names=_agency_names(run.engine),
                       names=_finding_names(run.engine, result.findings))
    elif output_format == "table":
        _audit_table(run, result, output, wide=wide, every_finding=every_finding)
    else:
        write = {"json": write_json, "csv": write_csv}[output_format]
        if output is None:
            write(result, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8", newline="") as file:
                write(result, file)
    return EXIT_BREACHES if fail_on_breach and result.open_findings else 0


def _audit_table(run: Invocation, result, output: str | None, *, wide: bool, every_finding: bool) -> None:
    """The table for people. Into a file or a pipe: all of it (scripts read it), 80 columns wide.
    On a terminal: as wide as the terminal; when every finding would not fit on the screen, the
    counts per rule and agency and how to see the rest, or with --all every finding in a pager."""
    from monitor.terminal import is_terminal, terminal_size
    from reports.audit_output import table_lines

    names = _agency_names(run.engine)
    terminal = output is None and is_terminal(sys.stdout)
    columns, rows = terminal_size(sys.stdout if terminal else None)

    def lines(all_of_it: bool) -> list[str]:
        return table_lines(result, agency_names=names, width=columns, wide=wide, every_finding=all_of_it)

    if not terminal:
        text = "\n".join(lines(True)) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            Path(output).write_text(text, encoding="utf-8")
        return
    if every_finding:
        _paged("\n".join(lines(True)))
        return
    # Every finding when they fit on the screen; a province's thousands are never drawn just to be counted.
    shown = lines(True) if len(result.findings) <= rows else None
    if shown is None or len(shown) > rows - 1:
        shown = lines(False)
    click.echo("\n".join(shown))


def _paged(text: str) -> None:
    """Long text on a terminal, through rich's pager (the system's: $PAGER, else `less`)."""
    from rich.console import Console

    console = Console(file=sys.stdout, color_system=None, highlight=False, emoji=False, markup=False)
    with console.pager():
        console.out(text, highlight=False)


def _require_agency(run: Invocation, agency: str) -> None:
    from rules.targets import agency_codes, agency_hint, agency_is_known

    with run.engine.connect() as connection:
        if not agency_is_known(connection, agency):
            hint = agency_hint(agency, agency_codes(connection))
            raise click.BadParameter(f"no agency {agency!r} in the store; {hint}", param_hint="--agency")


def _agency_names(engine) -> dict[str, str]:
    from sqlalchemy import select

    from monitor.models import Agency

    with engine.connect() as connection:
        return dict(connection.execute(select(Agency.code, Agency.name)).all())


def _finding_names(engine, findings):
    """Procedure names and masked applicants of the findings, for the workbook."""
    from reports.workbook import FindingNames
    from rules.publish import finding_names

    with engine.connect() as connection:
        procedures, applicants = finding_names(connection, findings)
    return FindingNames(procedures=procedures, applicants=applicants)


@cli.group("exempt")
@common_options
def exempt_group(config: str | None, verbose: bool | None) -> None:
    """Add, list and lift exemptions (always with a reason and an expiry)."""


@command(group=exempt_group, name="add")
@click.option("--rule", "rule_id", metavar="ID", required=True, help="the rule the exemption is for")
@click.option("--subject", metavar="CODE", help="a dossier or procedure code ...")
@click.option("--agency", metavar="CODE", help="... or a whole agency")
@click.option("--reason", metavar="TEXT", required=True, help="why (required)")
@click.option("--until", metavar="DATE", required=True, type=DAY,
              help="in force to the end of this day, 2026-12-31 or 31/12/2026 (required)")
@click.option("--by", "author", metavar="NAME", help="who decided (default: the user running the command)")
@click.option("--force", is_flag=True, help="allow a subject or agency that is not in the store yet")
def exempt_add(run: Invocation, rule_id: str, subject: str | None, agency: str | None, reason: str,
               until: date, author: str | None, force: bool) -> None:
    """Exempt the findings of a rule for one subject or one agency, until a date."""
    import getpass

    from monitor.clock import now_local
    from monitor.db import session_scope
    from rules.exemptions import ExemptionError, add

    try:
        with session_scope(run.engine) as session:
            exemption = add(session, rule=rule_id, subject=subject, agency=agency, reason=reason,
                            until=until, author=author or getpass.getuser(), now=now_local(),
                            force=force)
    except ExemptionError as exc:
        raise click.UsageError(str(exc)) from None
    _say(f"exemption {exemption.id}: {exemption.rule} for "
         f"{exemption.subject or 'agency ' + exemption.agency_code}, until {exemption.until.isoformat()}")


@command(group=exempt_group, name="list")
def exempt_list(run: Invocation) -> None:
    """Every exemption, with its state now."""
    from monitor.clock import now_local
    from monitor.db import session_scope
    from monitor.terminal import render_table
    from rules.exemptions import listing, state

    from monitor.terminal import UNLIMITED, is_terminal, terminal_size

    now = now_local()
    names = _agency_names(run.engine)
    with session_scope(run.engine) as session:
        rows = [(e.id, e.rule, e.subject if e.subject else _agency_shown(e.agency_code, names), e.until.isoformat(),
                 state(e, now), e.author, e.reason) for e in listing(session)]
    if not rows:
        click.echo("no exemptions yet (motcua exempt add ...)", err=True)
        return
    # On a terminal, as wide as it is, the reasons wrapped; elsewhere one line per exemption.
    width = terminal_size(sys.stdout)[0] if is_terminal(sys.stdout) else UNLIMITED
    click.echo("\n".join(render_table(("id", "rule", "subject", "until", "state", "by", "reason"), rows,
                                       right=(0,), wrap=(6,), cut=(5,), width=width)))


def _agency_shown(code: str, names: dict[str, str]) -> str:
    return f"agency {code} ({names[code]})" if code in names else f"agency {code}"


@command(group=exempt_group, name="lift")
@click.argument("exemption_id", metavar="ID", type=int)
def exempt_lift(run: Invocation, exemption_id: int) -> None:
    """Withdraw an exemption (it stays listed, as lifted)."""
    from monitor.clock import now_local
    from monitor.db import session_scope
    from rules.exemptions import ExemptionError, lift

    try:
        with session_scope(run.engine) as session:
            lift(session, exemption_id, now_local())
    except ExemptionError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"exemption {exemption_id} lifted")


@command()
@click.option("--period", "period_kind", type=click.Choice(PERIODS),
              help="the period for every recipient (default: each recipient's own, day unless set)")
@click.option("--send", is_flag=True, help="queue the reports in the outbox and mail them (each message once)")
@click.option("--dry-run", is_flag=True, help="write the mails as .eml files under --output (default "
                                              "./report-output) and send nothing")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="also write the reports as a static site into DIR")
def report(run: Invocation, period_kind: str | None, send: bool, dry_run: bool, output: Path | None) -> int:
    """Render the breach reports per agency head and the province summary; --send mails them."""
    from monitor.clock import now_local
    from monitor.pipeline import run_report

    _require_schema(run)
    outcome = run_report(run.engine, run.settings, now_local, period_kind=period_kind, send=send,
                         dry_run=dry_run, output=output)
    for stale in outcome.audit.stale:
        _say(f"warning: source {stale['source']} is stale ({stale['reason']}); "
             f"skipped: {', '.join(stale['skipped_rules'])}", err=True)
    if outcome.locked:
        who = f" ({outcome.holder.holder}, since {outcome.holder.acquired_at})" if outcome.holder else ""
        click.echo(f"another run holds the nightly lock{who}: nothing sent", err=True)
        return EXIT_LOCKED
    for item in outcome.rendered:
        _say(f"{', '.join(item.due.recipient.to)}: {item.message['Subject']}")
    if outcome.rendered:
        click.echo("(nothing sent: --send mails them, --dry-run writes them as .eml files)")
    if dry_run:
        click.echo(f"wrote {len(outcome.eml)} messages, sent nothing:")
        for path in outcome.eml:
            click.echo(f"  {path}")
    if outcome.queued is not None:
        click.echo(f"queued {len(outcome.queued.queued)} messages ({len(outcome.queued.already)} were queued before); "
                   f"outbox: {outcome.delivery.summary()}")
    if outcome.site is not None:
        click.echo(f"site: {outcome.site.index} ({outcome.site.pages} pages); workbook: {outcome.site.workbook}")
    return EXIT_MAIL_UNDELIVERED if outcome.delivery and outcome.delivery.left_undelivered else 0


@command()
def nightly(run: Invocation) -> int:
    """One full scheduled run: sync, audit, report and send (exit 3 when a source failed, 6 when mail
    was left undelivered)."""
    from monitor.clock import now_local
    from monitor.pipeline import run_nightly

    _require_schema(run)
    outcome = run_nightly(run.engine, run.settings, now_local)
    click.echo(outcome.summary(), err=outcome.status == RunStatus.LOCKED)
    if outcome.status == RunStatus.LOCKED:
        return EXIT_LOCKED
    if any(stage.status == RunStatus.FAILED for stage in outcome.stages):
        return EXIT_UNEXPECTED
    if outcome.failed_sources:
        return EXIT_SOURCE_FAILED
    return EXIT_MAIL_UNDELIVERED if outcome.delivery and outcome.delivery.left_undelivered else 0


@command()
@click.option("--source", "source_name", metavar="NAME", help="receive only the dvcqg_stream source with this name")
def receive(run: Invocation, source_name: str | None) -> None:
    """Receive the national sync stream of every dvcqg_stream source (or one), each on its own
    `listen` address, until SIGTERM or Ctrl-C."""
    from sqlalchemy.exc import SQLAlchemyError

    from connectors.receiver import receivers_for
    from connectors.stream_loader import store_unreachable
    from monitor.clock import now_local
    from monitor.db import schema_ready

    # uvicorn narrates each server's start and stop; the receiver says what matters in its own lines.
    logging.getLogger("uvicorn").setLevel(logging.DEBUG if run.verbose else logging.WARNING)
    receivers = receivers_for(run.settings, run.engine, now_local, only=source_name)
    try:
        ready = schema_ready(run.engine)
    except SQLAlchemyError as exc:
        if not store_unreachable(exc):
            raise
        # A store down at start is like one down later: each batch is answered 503 until it is back.
        logging.getLogger("monitor.cli").warning("the store is unreachable (%s): batches are answered HTTP 503 "
                                                 "until it is back", type(exc).__name__)
        ready = True
    if not ready:
        raise click.UsageError("the database has no schema yet: run `motcua init` first")
    receivers.run()


@command()
def scheduler(run: Invocation) -> None:
    """Run `nightly` on the [schedule] of config.toml until stopped (SIGTERM or Ctrl-C)."""
    from monitor.clock import now_local
    from monitor.scheduler import run_scheduler

    _require_schema(run)
    run_scheduler(run.settings, str(config_path(run.config).resolve()), now_local)


@command()
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, metavar="DIR", help="each demo writes into a new folder under DIR")
@click.option("--dossiers", type=click.IntRange(min=100), default=3000, show_default=True,
              help="how many dossiers the simulated province holds")
@click.option("--stream", is_flag=True,
              help="receive the one-stop system's national sync stream (motcua receive) instead of reading its API")
def demo(run: Invocation, output: Path, dossiers: int, stream: bool) -> int:
    """The whole pipeline on a simulated province: sources on loopback, mail caught locally."""
    from monitor.clock import now_local
    try:
        from sandbox.demo import run_demo
    except ImportError as exc:  # the sandbox and its SMTP server are not part of the installed monitor
        raise click.UsageError(f"the demo needs the sandbox and its extra ({exc}): "
                               "pip install 'motcua-monitor[demo]'") from None

    return run_demo(output, now_local, dossiers=dossiers, verbose=run.verbose, stream=stream)


def _say(text: str, err: bool = False) -> None:
    """A line with text from the store, for a terminal: its control characters shown, never obeyed."""
    from monitor.terminal import terminal_text

    click.echo(terminal_text(text), err=err)


def _require_schema(run: Invocation) -> None:
    from monitor.db import schema_ready

    if not schema_ready(run.engine):
        raise click.UsageError("the database has no schema yet: run `motcua init` first")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = cli.main(args=args, prog_name="motcua", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except (ConfigError, OutputError) as exc:
        click.echo(f"error: {exc}", err=True)
        code = EXIT_USAGE
    except Exception as exc:  # noqa: BLE001  the last line of defence: one line, then the exit code
        # An exception's text can quote a record (a name, an ID number): only its class is shown;
        # the traceback, for whoever debugs, only under --verbose.
        if "-v" in args or "--verbose" in args:
            traceback.print_exc()
        click.echo(f"error: an unexpected {type(exc).__name__} (run with --verbose for the details)", err=True)
        code = EXIT_UNEXPECTED
    sys.exit(code or 0)

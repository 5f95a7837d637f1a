"""The `motcua` command group. Thin: parse options, call one function, print, pick the exit code.

Exit codes (interface.md): 0 success; 1 breaches found (only with --fail-on-breach); 2 bad usage
or configuration; 3 a source failed; 4 an unexpected error (one line on stderr, the traceback
only with --verbose).
"""
from __future__ import annotations

import functools
import logging
import sys
import traceback
from dataclasses import dataclass

import click

from monitor.config import ConfigError, Settings, config_path, load_settings

EXIT_BREACHES = 1
EXIT_USAGE = 2
EXIT_SOURCE_FAILED = 3
EXIT_UNEXPECTED = 4


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


def command(group: click.Group = None, **kwargs):
    """A subcommand of `motcua` that takes --config and --verbose, as interface.md requires."""
    def decorate(function):
        @click.option("--config", "config", metavar="PATH", envvar="MOTCUA_CONFIG",
                      help="config.toml to use (default: $MOTCUA_CONFIG, else ./config.toml)")
        @click.option("--verbose", "-v", is_flag=True, help="log more, and show tracebacks")
        @functools.wraps(function)
        def wrapper(config, verbose, **options):
            run = Invocation(config=config, verbose=verbose)
            logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
            # Alembic narrates every step at INFO; `init` says in one line what it did.
            logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
            return function(run, **options)
        return (group or cli).command(**kwargs)(wrapper)
    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
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
    from connectors.sync import FAILED, format_summary, progress_for, sync_sources
    from monitor.clock import now_local

    if source_name:
        run.settings.source(source_name)  # an unknown name is a configuration error
    _require_schema(run)
    outcomes = sync_sources(run.engine, run.settings, now_local, only=source_name, progress=progress_for())
    click.echo(format_summary(outcomes))
    return EXIT_SOURCE_FAILED if any(o.status == FAILED for o in outcomes) else 0


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
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        code = EXIT_USAGE
    except Exception as exc:  # noqa: BLE001  the last line of defence: one line, then the exit code
        if "-v" in args or "--verbose" in args:
            traceback.print_exc()
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        code = EXIT_UNEXPECTED
    sys.exit(code or 0)

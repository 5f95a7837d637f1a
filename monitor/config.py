"""config.toml → typed, frozen settings.

Every error names the key and the file: a typo must never silently turn a check off, so unknown
keys are errors too. Paths are relative to the config file. Secrets never live in the file: a
key ending in `_env` names the environment variable that holds the secret, and `secret()` reads
it when it is needed.
"""
from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, time
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import monitor.kinds  # noqa: F401  registers the source kinds
from monitor.sources import KINDS, SourceSettings
from monitor.urls import shown

DEFAULT_CONFIG = "config.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("day", "week", "month", "quarter")


# The TOML types each annotation of the settings accepts (annotations are strings here).
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "str | None": str, "int": int, "bool": bool, "float": (int, float),
}


class ConfigError(Exception):
    """Bad configuration; the message names the file and the key. The CLI exits with code 2."""


@dataclass(frozen=True)
class CalendarSettings:
    weekend: tuple[str, ...] = ("sat", "sun")
    working_hours: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
    extra_days_off: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class ScheduleSettings:
    nightly: str = "0 2 * * *"
    timezone: str = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "giamsat@localhost"
    username_env: str = ""
    password_env: str = ""
    starttls: bool = False
    ssl: bool = False                    # implicit TLS (SMTP over TLS, port 465 by default)
    allow_plaintext_login: bool = False  # log in over a plain connection all the same
    timeout_seconds: float = 30
    max_attempts: int = 24               # then the message is reported undeliverable (about a day)
    retry_after_minutes: int = 15        # first retry delay, doubled on every failure
    from_name: str = "Hệ thống giám sát một cửa"  # the display name of `From`
    operator: str = ""                   # gets the sources' technical errors; empty: the province recipients


@dataclass(frozen=True)
class ReportSettings:
    """[report]: what the mails and the site link to, and how the province ranks its agencies."""
    site_url: str = ""                   # where site_dir is served; empty: no links to the site
    site_dir: str = ""                   # the nightly run writes the site here (relative to the config)
    dossier_url: str = ""                # a dossier in the one-stop system, with {code}; empty: no link
    contact: str = ""                    # who to ask about a report, printed at the foot of every mail
    ranking_min_dossiers: int = 20       # agencies with fewer dossiers due are listed, not ranked


@dataclass(frozen=True)
class Recipient:
    agency: str                          # an agency code, or "*" for the province summary
    to: tuple[str, ...]
    period: str = "day"


@dataclass(frozen=True)
class Settings:
    path: Path
    database_url: str
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    # The values config [rules] gives, by key; a rule reads one left out as its parameter's
    # default (rules.base.Parameter).
    rules: Mapping[str, Any] = field(default_factory=dict)
    sources: tuple[SourceSettings, ...] = ()
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    recipients: tuple[Recipient, ...] = ()
    report: ReportSettings = field(default_factory=ReportSettings)
    # What config [index] gives, by indicator: {"max": N, "full_at": R}, either key left out for
    # its default (rules.index).
    index: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"{self.path}: no [[sources]] entry is named {name!r}")

    def secret(self, key: str, env_name: str | None) -> str | None:
        """The value of the environment variable that `key` (a `*_env` key) names."""
        if not env_name:
            return None
        value = os.environ.get(env_name)
        if value is None:
            raise ConfigError(f"{self.path}: {key} names the environment variable {env_name}, which is not set")
        return value


def mailbox_address(text: str) -> str:
    """The address of `addr@example` or `Name <addr@example>`; empty when there is none."""
    address = parseaddr(text)[1]
    return address if "@" in address else ""


def config_path(option: str | None) -> Path:
    """`--config`, else $MOTCUA_CONFIG, else ./config.toml."""
    return Path(option or os.environ.get("MOTCUA_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path | str) -> Settings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (give --config or set MOTCUA_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path).settings(raw)


class _Reader:
    """Checks each key's type and turns the TOML tables into settings, naming the key on error."""

    def __init__(self, path: Path):
        self.path = path
        self.base = path.resolve().parent

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}")

    def table(self, raw: dict, key: str, known: tuple[str, ...]) -> dict:
        if not isinstance(raw, dict):
            raise self.fail(key, "must be a table")
        for name in raw:
            if name not in known:
                raise self.fail(f"{key}.{name}" if key else name, "unknown key")
        return raw

    def typed(self, raw: dict, key: str, name: str, kind: type | tuple, default: Any = None) -> Any:
        if name not in raw:
            return default
        value = raw[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; a `true` where a number belongs is still a mistake.
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(f"{key}.{name}", f"must be {names}, not {type(value).__name__} {value!r}")
        return value

    def date(self, value: Any, key: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(key, f"{value!r} is not an ISO date (YYYY-MM-DD)") from None

    def time(self, value: Any, key: str) -> time:
        try:
            hours, minutes = str(value).split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            raise self.fail(key, f"{value!r} is not a time HH:MM") from None

    def strings(self, raw: dict, key: str, name: str) -> tuple[str, ...] | None:
        values = self.typed(raw, key, name, list)
        if values is None:
            return None
        if not all(isinstance(v, str) for v in values):
            raise self.fail(f"{key}.{name}", "must be a list of strings")
        return tuple(values)

    def settings(self, raw: dict) -> Settings:
        self.table(raw, "", ("database", "calendar", "rules", "sources", "schedule", "mail", "recipients", "report", "index"))
        database = self.table(raw.get("database", {}), "database", ("url",))
        url = self.typed(database, "database", "url", str, "sqlite:///var/motcua.db")
        sources = self.typed(raw, "", "sources", list, [])
        recipients = self.typed(raw, "", "recipients", list, [])
        settings = Settings(
            path=self.path,
            database_url=self.database_url(url),
            calendar=self.calendar(raw.get("calendar", {})),
            rules=self.rules(raw.get("rules", {})),
            sources=tuple(self.source(s, i) for i, s in enumerate(sources)),
            schedule=self.schedule(raw.get("schedule", {})),
            mail=self.mail(raw.get("mail", {})),
            recipients=tuple(self.recipient(r, i) for i, r in enumerate(recipients)),
            report=self.report(raw.get("report", {})),
            index=self.index(raw.get("index", {})),
        )
        names = [s.name for s in settings.sources]
        for name in names:
            if names.count(name) > 1:
                raise self.fail("sources.name", f"{name!r} is used by more than one source")
        return settings

    def database_url(self, url: str) -> str:
        # A relative SQLite path is relative to the config file, like every other path.
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:" and not url.startswith("sqlite:////"):
            target = self.base / url[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(target)
        if not url.startswith(("sqlite", "postgresql")):
            raise self.fail("database.url", f"{shown(url)!r}: only sqlite:/// and postgresql+psycopg:// are supported")
        try:
            make_url(url)
        except (ArgumentError, ValueError):
            raise self.fail("database.url", f"{shown(url)!r} is not a database URL") from None
        return url

    def calendar(self, raw: dict) -> CalendarSettings:
        key = "calendar"
        self.table(raw, key, ("weekend", "working_hours", "extra_days_off", "extra_working_days"))
        defaults = CalendarSettings()
        weekend = self.strings(raw, key, "weekend")
        if weekend is not None:
            for day in weekend:
                if day not in WEEKDAYS:
                    raise self.fail(f"{key}.weekend", f"{day!r} is not one of {', '.join(WEEKDAYS)}")
        hours = self.strings(raw, key, "working_hours")
        periods = defaults.working_hours
        if hours is not None:
            periods = tuple(self.period(text, f"{key}.working_hours") for text in hours)
            ends = [t for p in periods for t in p]
            if not periods or ends != sorted(ends) or len(set(ends)) != len(ends):
                raise self.fail(f"{key}.working_hours", "periods must be non-empty, ordered and not overlap")
        return CalendarSettings(
            weekend=weekend if weekend is not None else defaults.weekend,
            working_hours=periods,
            extra_days_off=tuple(self.date(d, f"{key}.extra_days_off")
                                 for d in self.typed(raw, key, "extra_days_off", list, [])),
            extra_working_days=tuple(self.date(d, f"{key}.extra_working_days")
                                     for d in self.typed(raw, key, "extra_working_days", list, [])),
        )

    def period(self, text: str, key: str) -> tuple[time, time]:
        try:
            start, end = text.split("-")
        except ValueError:
            raise self.fail(key, f"{text!r} is not a period HH:MM-HH:MM") from None
        return self.time(start.strip(), key), self.time(end.strip(), key)

    def rules(self, raw: dict) -> dict[str, Any]:
        # The keys are the parameters the rules declare. Imported here, not above: the rules
        # read the settings' types of this module.
        from rules.registry import parameters

        key = "rules"
        known = parameters()
        self.table(raw, key, tuple(known))
        return {name: self.parameter(raw, key, name, known[name].kind) for name in raw}

    def index(self, raw: dict) -> dict[str, dict[str, float]]:
        """[index]: per indicator of the national index, `{ max = N, full_at = R }` (each optional).
        The keys are the indicators rules.index declares, asked of the rules' registry here, as
        [rules] asks it for the parameters."""
        from rules.registry import index_indicators

        key = "index"
        self.table(raw, key, index_indicators())
        given: dict[str, dict[str, float]] = {}
        for name, setting in raw.items():
            where = f"{key}.{name}"
            self.table(setting, where, ("max", "full_at"))
            values = {part: self.typed(setting, where, part, (int, float)) for part in setting}
            if "max" in values and not (math.isfinite(values["max"]) and values["max"] > 0):
                raise self.fail(f"{where}.max", f"must be a positive number, not {values['max']!r}")
            if "full_at" in values and not (0 < values["full_at"] <= 1):
                raise self.fail(f"{where}.full_at", f"must be a rate in (0, 1], not {values['full_at']!r}")
            given[name] = values
        return given

    def parameter(self, raw: dict, key: str, name: str, kind: type) -> Any:
        """A value of [rules] of the kind its parameter takes."""
        if kind is int:
            count = self.typed(raw, key, name, int)
            if count < 0:
                raise self.fail(f"{key}.{name}", "must not be negative")
            return count
        if kind is time:
            return self.time(raw[name], f"{key}.{name}")
        if kind is date:
            return self.date(raw[name], f"{key}.{name}") if raw[name] else None
        raise TypeError(f"a parameter of kind {kind.__name__} cannot be read from config [rules]")

    def source(self, raw: dict, index: int) -> SourceSettings:
        """A `[[sources]]` entry, read into the settings class its `kind` names (monitor.kinds)."""
        key = f"sources[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(key, "must be a table")
        name = self.typed(raw, key, "name", str)
        kind = self.typed(raw, key, "kind", str)
        if not name:
            raise self.fail(f"{key}.name", "is required")
        settings_class = KINDS.get(kind)
        if settings_class is None:
            raise self.fail(f"sources[{name}].kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        keys = {spec.name: spec for spec in fields(settings_class)}
        for given in raw:
            if given != "kind" and given not in keys:
                raise self.fail(f"{key}.{given}", f"unknown key for a {kind} source")
        key = f"sources[{name}]"
        for needed, spec in keys.items():
            if spec.default is MISSING and not raw.get(needed):
                raise self.fail(f"{key}.{needed}", f"is required for a {kind} source")
        values: dict[str, Any] = {"name": name}
        for field_name in raw.keys() - {"name", "kind"}:
            kinds = _FIELD_TYPES[keys[field_name].type]
            values[field_name] = self.typed(raw, key, field_name, kinds)
            if kinds != str and values[field_name] <= 0:
                raise self.fail(f"{key}.{field_name}", "must be positive")
        return settings_class(**values).with_paths_under(self.base)

    def schedule(self, raw: dict) -> ScheduleSettings:
        from apscheduler.triggers.cron import CronTrigger

        self.table(raw, "schedule", ("nightly", "timezone"))
        settings = ScheduleSettings(
            nightly=self.typed(raw, "schedule", "nightly", str, ScheduleSettings.nightly),
            timezone=self.typed(raw, "schedule", "timezone", str, ScheduleSettings.timezone),
        )
        try:
            CronTrigger.from_crontab(settings.nightly, timezone=settings.timezone)
        except (ValueError, KeyError) as exc:
            raise self.fail("schedule.nightly", f"{settings.nightly!r} is not a valid cron expression: {exc}") from None
        return settings

    def mail(self, raw: dict) -> MailSettings:
        key = "mail"
        self.table(raw, key, tuple(MailSettings.__dataclass_fields__))
        values = {name: self.typed(raw, key, name, _FIELD_TYPES[spec.type])
                  for name, spec in MailSettings.__dataclass_fields__.items() if name in raw}
        mail = MailSettings(**values)
        if mail.ssl and mail.starttls:
            raise self.fail(f"{key}.starttls", "and mail.ssl exclude each other: ssl is TLS from the start "
                                               "(port 465), starttls upgrades a plain connection (port 587)")
        if mail.ssl and "port" not in raw:
            mail = replace(mail, port=465)
        if mail.username_env and not (mail.ssl or mail.starttls or mail.allow_plaintext_login):
            raise self.fail(f"{key}.username_env", "a login over a plain connection would send the password in "
                                                   "clear: set mail.ssl = true (port 465) or mail.starttls = true, "
                                                   "or mail.allow_plaintext_login = true to allow it")
        if mail.operator and not mailbox_address(mail.operator):
            raise self.fail(f"{key}.operator", f"{mail.operator!r} is not a mail address")
        if "\n" in mail.from_name or "\r" in mail.from_name:
            raise self.fail(f"{key}.from_name", "must be one line")
        return mail

    def report(self, raw: dict) -> ReportSettings:
        key = "report"
        self.table(raw, key, tuple(ReportSettings.__dataclass_fields__))
        values = {name: self.typed(raw, key, name, _FIELD_TYPES[spec.type])
                  for name, spec in ReportSettings.__dataclass_fields__.items() if name in raw}
        report = ReportSettings(**values)
        if report.ranking_min_dossiers < 1:
            raise self.fail(f"{key}.ranking_min_dossiers", "must be at least 1")
        for name in ("site_url", "dossier_url"):
            url = getattr(report, name)
            if url and urlsplit(url).scheme not in ("http", "https") or url and not urlsplit(url).netloc:
                raise self.fail(f"{key}.{name}", f"{url!r} is not an http:// or https:// address")
        if report.dossier_url:
            try:
                filled = report.dossier_url.format(code="X")
            except (KeyError, IndexError, ValueError):
                raise self.fail(f"{key}.dossier_url", f"{report.dossier_url!r}: the only placeholder it may hold "
                                                      "is {code} (write {{ and }} for braces)") from None
            if filled == report.dossier_url:
                raise self.fail(f"{key}.dossier_url", f"{report.dossier_url!r} has no {{code}} for the dossier code")
        if report.site_url and not report.site_dir:
            raise self.fail(f"{key}.site_url", "needs report.site_dir: the folder the nightly run writes the site "
                                                "into, which a web server serves at site_url (else every link is dead)")
        if report.site_dir:
            report = replace(report, site_dir=str(self.base / report.site_dir))
        return report

    def recipient(self, raw: dict, index: int) -> Recipient:
        key = f"recipients[{index}]"
        self.table(raw, key, ("agency", "to", "period"))
        agency = self.typed(raw, key, "agency", str)
        to = self.strings(raw, key, "to")
        if not agency:
            raise self.fail(f"{key}.agency", "is required (an agency code, or \"*\" for the province)")
        if not to:
            raise self.fail(f"{key}.to", "needs at least one address")
        period = self.typed(raw, key, "period", str, "day")
        if period not in PERIODS:
            raise self.fail(f"{key}.period", f"{period!r} is not one of {', '.join(PERIODS)}")
        return Recipient(agency=agency, to=to, period=period)

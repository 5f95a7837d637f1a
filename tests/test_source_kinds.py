"""A source kind is one module: a kind defined here, and nowhere else, is read from the config,
synced, judged stale and named in the reports (monitor.sources, monitor.kinds)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlmodel import Session, select

from connectors.base import Batch, Connector, Rows
from connectors.sync import sync_sources
from monitor.config import ConfigError, load_settings
from monitor.models import Agency
from monitor.sources import KINDS, SourceSettings, source_kind
from reports.content import StaleNotice
from rules.audit import run_audit
from rules.stale import stale_sources

NOW = datetime(2026, 3, 20, 12, 0)


@dataclass(frozen=True, kw_only=True)
class FeedSettings(SourceSettings):
    """A throwaway kind: a feed that lists one agency."""
    kind: ClassVar[str] = "agency_feed"
    label: ClassVar[str] = "danh bạ cơ quan"
    connector: ClassVar[str] = f"{__name__}:FeedConnector"

    agency_code: str
    agency_name: str = "Sở Thử nghiệm"

    @property
    def provides(self) -> frozenset[str]:
        return frozenset({f"feed:{self.name}"})


class FeedConnector(Connector):
    source: FeedSettings

    def batches(self) -> Iterator[Batch]:
        yield Batch(records=Rows(Agency, ("code",), [{"code": self.source.agency_code,
                                                      "name": self.source.agency_name}]))


@pytest.fixture
def feed_kind():
    """The kind registered as its module would register it, for this test only."""
    source_kind(FeedSettings)
    yield
    del KINDS[FeedSettings.kind]


def write_config(folder: Path, database_url: str, source: str) -> Path:
    path = folder / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n\n[[sources]]\n{source}', encoding="utf-8")
    return path


def test_a_kind_declared_in_one_place_is_read_synced_judged_and_named(feed_kind, tmp_path, engine, database_url):
    settings = load_settings(write_config(tmp_path, database_url,
                                          'name = "danh-ba"\nkind = "agency_feed"\nagency_code = "T.01"\n'
                                          "max_age_hours = 2\n"))
    feed = settings.sources[0]
    assert feed == FeedSettings(name="danh-ba", agency_code="T.01", max_age_hours=2)

    with engine.connect() as connection:
        (never,) = stale_sources(connection, settings.sources, NOW)
    assert (never.kind, never.reason, never.unavailable) == (
        "agency_feed", "never synced successfully", frozenset({"feed:danh-ba"}))

    (outcome,) = sync_sources(engine, settings, lambda: NOW)
    assert (outcome.kind, outcome.status, outcome.error, outcome.counts.read) == ("agency_feed", "ok", None, 1)
    with Session(engine) as session:
        assert [(a.code, a.name) for a in session.exec(select(Agency))] == [("T.01", "Sở Thử nghiệm")]

    with engine.connect() as connection:
        assert stale_sources(connection, settings.sources, NOW + timedelta(hours=1)) == []
        (old,) = stale_sources(connection, settings.sources, NOW + timedelta(hours=3))
    assert (old.reason, old.unavailable) == ("the last successful sync is older than 2 hours",
                                             frozenset({"feed:danh-ba"}))

    later = NOW + timedelta(hours=3)
    audited = run_audit(engine, settings, as_of=later, now=later)
    assert [(s["source"], s["kind"], s["skipped_rules"]) for s in audited.stale] == [("danh-ba", "agency_feed", [])]
    notice = StaleNotice(source="danh-ba", kind="agency_feed", last_success=NOW, reason=None, skipped_rules=())
    assert notice.sentence == ("Chưa cập nhật được dữ liệu từ danh bạ cơ quan «danh-ba» vì dữ liệu từ danh bạ cơ quan "
                               "«danh-ba» chưa được cập nhật; số liệu dưới đây tính đến 20/03/2026 12:00.")


@pytest.mark.parametrize("source, named", [
    ('name = "d"\nkind = "agency_feed"\n', "sources[d].agency_code: is required for a agency_feed source"),
    ('name = "d"\nkind = "agency_feed"\nagency_code = 1\n', "sources[d].agency_code: must be str"),
    ('name = "d"\nkind = "agency_feed"\nagency_code = "T"\nbase_url = "http://x"\n',
     "sources[0].base_url: unknown key for a agency_feed source"),
])
def test_the_config_checks_a_kind_s_own_keys(feed_kind, tmp_path, source, named):
    with pytest.raises(ConfigError) as raised:
        load_settings(write_config(tmp_path, "sqlite:///m.db", source))
    assert f"{tmp_path / 'config.toml'}: {named}" in str(raised.value)


def test_a_key_of_another_kind_is_an_error(tmp_path):
    # One flat bag of keys took a portal's `path` silently; each kind now knows only its own keys.
    with pytest.raises(ConfigError, match=r"sources\[0\]\.path: unknown key for a portal_html source"):
        load_settings(write_config(tmp_path, "sqlite:///m.db",
                                   'name = "p"\nkind = "portal_html"\nbase_url = "http://x"\npath = "a/*"\n'))


def test_the_shipped_kinds_are_registered_with_their_labels():
    assert {kind: settings.label for kind, settings in KINDS.items()} == {
        "onestop_api": "hệ thống một cửa điện tử", "portal_html": "Cổng dịch vụ công",
        "tracking_book": "sổ theo dõi hồ sơ", "dvcqg_stream": "luồng đồng bộ hồ sơ (DVCQG)"}

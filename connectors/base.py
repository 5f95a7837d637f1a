"""What a connector hands the loader, and the few things every connector shares.

A connector knows one kind of source: its paging, its log-in and its markup. It yields
`Batch`es of plain records (dicts named after the table's columns) and never touches the store;
`connectors.loader` writes each batch in one transaction. A connector that cannot read all of
its source raises `SourceError` once it has yielded what it could read: a partial read is kept,
but the sync of that source has failed.
"""
from __future__ import annotations

import re
from pathlib import Path
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import SQLModel

from connectors.parsing import normalize_text
from monitor.config import Settings
from monitor.sources import SourceSettings


class SourceError(Exception):
    """A source could not be read in full; the message says where and why (never a secret)."""


@dataclass(frozen=True)
class Rows:
    """Rows of one table and the natural key they are upserted on."""
    table: type[SQLModel]
    key: tuple[str, ...]
    rows: list[dict]


@dataclass(frozen=True)
class Rejection:
    """Input a connector could not take: where it was, why, and the raw text as it came."""
    location: str
    reason: str
    raw: str | None = None


@dataclass(frozen=True)
class Prune:
    """Delete the rows of `table` that match `where` but whose `column` holds none of `keep`
    (the rows of tracking-book files that are gone from the folder)."""
    table: type[SQLModel]
    where: dict[str, object]
    column: str
    keep: frozenset[str]


@dataclass(frozen=True)
class HeldKey:
    """Records whose `column` value the store already holds for another source (the table's
    `source` column) are rejected, never merged nor overwritten: a dossier code is unique across
    the one-stop sources (sources.md section 4). `label` and `shown` name a rejected record:
    `MaHoSo <its code>`."""
    column: str
    label: str
    shown: str


@dataclass
class Batch:
    """Records read together, loaded in one transaction with the cursor that covers them.

    `records` are what the source holds (counted as read, inserted, updated); with a key of
    several columns, they share the values of all but its last (a book row's source).
    `children` are their child rows; the first key column names the parent, and every parent
    in `records` has its children replaced by these (a parent with none left loses them all).
    `replaces` makes
    the batch replace every record of its table that matches these column values (a re-read
    file replaces the rows it gave before). `bookkeeping` is the connector's own state (which
    files it read), saved with the records so that a run killed in between redoes both, and
    `prunes` removes what the source no longer holds, records and bookkeeping alike. `held`
    makes the loader reject the records another source holds (HeldKey).
    """
    records: Rows
    children: list[Rows] = field(default_factory=list)
    replaces: dict[str, object] | None = None
    bookkeeping: list[Rows] = field(default_factory=list)
    prunes: list[Prune] = field(default_factory=list)
    cursor: str | None = None
    rejected: list[Rejection] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)    # for the sync summary, e.g. labels a page lacked
    expected: int | None = None                         # records this run expects in all, for progress
    position: tuple[int, int] | None = None             # (files read, files in all), for a source read by files
    held: HeldKey | None = None


@dataclass
class SyncStart:
    """What a connector is built from besides its source's settings: the store (the cursor, the
    files already read), the config (its secrets), and when the run started. A secret the
    connector reads is added to `secrets`, which are blanked out of the run's error."""
    engine: Engine
    settings: Settings
    started_at: datetime
    secrets: list[str] = field(default_factory=list)


class Connector(ABC):
    """Reads one configured source. `synced_at` stamps every row of this run. `loader` is the
    class that writes its batches (None: the shared connectors.loader.Loader)."""

    loader: ClassVar[type | None] = None

    def __init__(self, source: SourceSettings, synced_at: datetime):
        self.source = source
        self.synced_at = synced_at

    @classmethod
    def for_run(cls, source: SourceSettings, start: SyncStart) -> Connector:
        """The connector of one run of `source`; a kind that keeps state in the store reads it here."""
        return cls(source, start.started_at)

    @abstractmethod
    def batches(self) -> Iterator[Batch]:
        """The source's records, batch by batch; raises SourceError when it could not read all."""


_BRACKETED = re.compile(r"\(\s*([^()]*?)\s*\)\s*$")


def agency_code_in(text: str | None) -> str | None:
    """The agency code of `Sở Tư pháp (000.00.31.H59)`, or of a cell holding the code alone."""
    text = normalize_text(text or "")
    if not text:
        return None
    if match := _BRACKETED.search(text):
        return match.group(1) or None
    # A name without a bracketed code (it contains spaces) names no code.
    return None if " " in text else text


WILDCARDS = frozenset("*?[")


def glob_root(pattern: str) -> Path:
    """The folder a glob starts from: its parts before the first one with a wildcard (for a
    pattern without one, the file's folder). Files are known by their path relative to it."""
    parts = Path(pattern).parts
    plain = next((i for i, part in enumerate(parts) if WILDCARDS & set(part)), len(parts) - 1)
    return Path(*parts[:plain])

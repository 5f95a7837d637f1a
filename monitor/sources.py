"""What a source kind declares, and the registry the kinds fill.

A source kind (the one-stop system, the portal, the tracking books) is one module of
`monitor/kinds/`: a frozen dataclass of its `[[sources]]` keys that subclasses `SourceSettings`
and is registered with `@source_kind`. Besides its keys it declares its kind name, its
Vietnamese label for the reports, the inputs of the rules it provides, what its staleness takes
away, and where its connector is. Every layer reads those declarations on the settings it is
given, so no layer switches on a kind's name.

The connector is named by reference ("module:Class") and loaded by the sync alone: this module
and the kinds sit at the ground, which every layer imports, and must not load the connectors.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

# The inputs the rules read. A source provides some of them; a stale source takes those away,
# and a rule, or a part of one, that needs an unavailable input is skipped (rules.base).
#
# A province may run several one-stop systems (sources.md section 4): each one-stop source provides
# ONESTOP and its own dossiers. ONESTOP is the one-stop data as a whole, which a rule needs when it
# must know that a code is absent from every one-stop system (entry.missing): any stale one-stop
# source takes it away. The rules that judge the dossiers themselves need only the dossiers of the
# dossier's own source (rules.registry gives them one part per one-stop source).
ONESTOP = "onestop"            # the one-stop systems' dossiers, all of them: presence
CATALOGUE = "catalogue"        # the portal's procedure catalogue
PORTAL_LIST = "portal_list"    # the portal's list of synchronised dossiers
# A fact of a dossier that not every one-stop source carries (a kind lists those its dossiers lack).
APOLOGY_LETTERS = "apology_letters"   # DanhSachVanBanXinLoi: the stream has none
PROCESSING_STEPS = "processing_steps"  # CapNhatTienDoHoSoMC: only the stream carries them

# How rules.stale judges a source (a kind's `freshness`).
SYNCS = "syncs"        # by its syncs: each a read of all of it, the latest not failed and recent enough
BATCHES = "batches"    # by the batches it pushes (a stream has no complete read): the last one recent enough


def book(source: str) -> str:
    """The input "tracking book `source`"."""
    return f"book:{source}"


def dossiers_of(source: str) -> str:
    """The input "the dossiers one-stop source `source` brought"."""
    return f"dossiers:{source}"


def fact_of(fact: str, source: str) -> str:
    """The input "`fact` of the dossiers of one-stop source `source`" (e.g. its apology letters)."""
    return f"{fact}:{source}"


@dataclass(frozen=True, kw_only=True)
class SourceSettings(ABC):
    """The keys every source takes. A field without a default is a required key."""
    kind: ClassVar[str]               # the `kind` key that selects this class
    label: ClassVar[str]              # what the reports call such a source, in Vietnamese
    connector: ClassVar[str]          # "module:Class" of its connector (connectors.base.Connector)
    freshness: ClassVar[str] = SYNCS  # how its staleness is judged: SYNCS or BATCHES
    # Facts (APOLOGY_LETTERS, ...) that the dossiers of a one-stop kind never carry: the rules that
    # read them skip its dossiers, and say so (rules.registry).
    dossiers_lack: ClassVar[frozenset[str]] = frozenset()

    name: str
    max_age_hours: float = 36

    @property
    @abstractmethod
    def provides(self) -> frozenset[str]:
        """The inputs of the rules this source feeds."""

    def unavailable(self, *, ever_synced: bool) -> frozenset[str]:
        """The inputs this source's staleness takes away: all it provides, unless a kind knows better."""
        return self.provides

    @property
    def read_by_sync(self) -> bool:
        """Whether `motcua sync` reads anything of it: then a failed sync makes it stale, whatever
        its `freshness` (a stream's file glob)."""
        return True

    def with_paths_under(self, folder: Path) -> SourceSettings:
        """These settings with their paths made absolute against the config file's folder."""
        return self


@dataclass(frozen=True, kw_only=True)
class HttpSourceSettings(SourceSettings):
    """The keys of a source read over HTTP (connectors.http)."""
    base_url: str
    timeout_seconds: float = 30          # connect and read time-out of every request
    max_retries: int = 5                 # per request, with exponential backoff and jitter
    backoff_seconds: float = 1           # first retry delay, doubled on every retry (plus jitter)
    max_retry_seconds: float = 300       # a request's retries give up after this much time in all
    max_pages: int = 10_000              # a crawl longer than this is an error, not a loop
    max_answer_mb: float = 50            # a larger answer or page is an error


KINDS: dict[str, type[SourceSettings]] = {}


def source_kind(settings: type[SourceSettings]) -> type[SourceSettings]:
    """Class decorator: registers a source kind under its `kind` name."""
    if settings.kind in KINDS:
        raise ValueError(f"two source kinds are named {settings.kind!r}")
    KINDS[settings.kind] = settings
    return settings


def kind_label(kind: str) -> str:
    """The Vietnamese name of a kind, or the kind itself when no module declares it."""
    return KINDS[kind].label if kind in KINDS else kind

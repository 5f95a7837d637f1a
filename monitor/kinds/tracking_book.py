"""The counters' tracking books: .xlsx and .csv files matching a glob, one source per folder."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from monitor.sources import SourceSettings, book, source_kind


@source_kind
@dataclass(frozen=True, kw_only=True)
class TrackingBookSettings(SourceSettings):
    kind: ClassVar[str] = "tracking_book"
    label: ClassVar[str] = "sổ theo dõi hồ sơ"
    connector: ClassVar[str] = "connectors.tracking_book:TrackingBookConnector"

    path: str                            # a glob, made absolute against the config file
    max_file_mb: float = 50              # a larger file fails, named, and is not read

    @property
    def provides(self) -> frozenset[str]:
        return frozenset({book(self.name)})

    def with_paths_under(self, folder: Path) -> TrackingBookSettings:
        return replace(self, path=str(folder / self.path))

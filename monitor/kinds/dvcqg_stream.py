"""The national sync stream (`DongBoHoSoMC`, `CapNhatTienDoHoSoMC`) that every provincial one-stop
system already pushes to the national portal, taken as a second destination by `motcua receive`,
or read from captured request bodies by `motcua sync` (sources.md, section 4).

Its dossiers are one-stop dossiers like those of the pull API, and its staleness takes away the
same (ONESTOP and its own dossiers). But a stream has no complete read: it is stale when no batch
has been accepted for `max_age_hours` (the sender stopped), when it never had one, or when the
last read of its file glob failed. And its dossiers carry no apology letters."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from monitor.sources import APOLOGY_LETTERS, BATCHES, ONESTOP, SourceSettings, dossiers_of, source_kind


@source_kind
@dataclass(frozen=True, kw_only=True)
class StreamSettings(SourceSettings):
    kind: ClassVar[str] = "dvcqg_stream"
    label: ClassVar[str] = "luồng đồng bộ hồ sơ (DVCQG)"
    connector: ClassVar[str] = "connectors.stream_files:StreamFileConnector"
    freshness: ClassVar[str] = BATCHES
    dossiers_lack: ClassVar[frozenset[str]] = frozenset({APOLOGY_LETTERS})

    listen: str = "127.0.0.1:8090"       # host:port of `motcua receive`
    username_env: str = ""               # the environment variables holding the credentials the
    password_env: str = ""               # sender must present (required by `motcua receive`)
    path: str | None = None              # a glob of captured request bodies, read by `motcua sync`
    max_body_mb: float = 20              # a larger request body is refused (HTTP 413)
    session_minutes: float = 60          # a session expires this long after its log-in

    @property
    def provides(self) -> frozenset[str]:
        return frozenset({ONESTOP, dossiers_of(self.name)})

    @property
    def read_by_sync(self) -> bool:
        return self.path is not None

    def with_paths_under(self, folder: Path) -> StreamSettings:
        return replace(self, path=str(folder / self.path)) if self.path else self

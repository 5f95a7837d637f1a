"""The electronic one-stop system: every dossier's statuses and dates (sources.md, section 1)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from monitor.sources import ONESTOP, PROCESSING_STEPS, HttpSourceSettings, dossiers_of, source_kind


@source_kind
@dataclass(frozen=True, kw_only=True)
class OneStopSettings(HttpSourceSettings):
    kind: ClassVar[str] = "onestop_api"
    label: ClassVar[str] = "hệ thống một cửa điện tử"
    connector: ClassVar[str] = "connectors.onestop:OneStopConnector"
    # The pull API has no processing steps (process.step_late judges the stream's dossiers only).
    dossiers_lack: ClassVar[frozenset[str]] = frozenset({PROCESSING_STEPS})

    username_env: str                    # the environment variables holding the credentials
    password_env: str
    page_size: int = 500                 # SoBanGhi
    overlap_minutes: int = 10            # re-read window for late commits

    @property
    def provides(self) -> frozenset[str]:
        return frozenset({ONESTOP, dossiers_of(self.name)})

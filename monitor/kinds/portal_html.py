"""The public-service portal: its procedure catalogue and its list of synchronised dossiers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from monitor.sources import CATALOGUE, PORTAL_LIST, HttpSourceSettings, source_kind


@source_kind
@dataclass(frozen=True, kw_only=True)
class PortalSettings(HttpSourceSettings):
    kind: ClassVar[str] = "portal_html"
    label: ClassVar[str] = "Cổng dịch vụ công"
    connector: ClassVar[str] = "connectors.portal:PortalConnector"

    @property
    def provides(self) -> frozenset[str]:
        return frozenset({CATALOGUE, PORTAL_LIST})

    def unavailable(self, *, ever_synced: bool) -> frozenset[str]:
        # The catalogue from the last good sync still serves; the dossier list is only as fresh as the sync.
        return frozenset({PORTAL_LIST}) if ever_synced else self.provides

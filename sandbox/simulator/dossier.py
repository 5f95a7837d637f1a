"""A dossier of the simulated province, as the province's systems know it.

The fields follow the national sync schema (sources.md, section 1); the three flags say which
of the sources the dossier is in, since a dossier can be received on paper and never typed in,
typed in and never synchronised, and so on.
"""

from dataclasses import dataclass
from datetime import datetime

from sandbox.simulator.catalogue import Fee


@dataclass(frozen=True, slots=True)
class Supplement:
    requested: datetime
    answered: datetime | None  # None while the applicant has not answered


@dataclass(frozen=True, slots=True)
class Apology:
    issued: datetime
    new_appointment: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    transaction: str
    amount: int
    method: str  # "truc-tuyen" | "truc-tiep" | "chuyen-khoan"
    at: datetime


@dataclass(slots=True)
class Dossier:
    code: str
    procedure_code: str  # as recorded: may carry the province suffix, may be unknown
    agency: str
    channel: int  # 1 at the counter, 2 online, 3 by post
    applicant: str
    applicant_id: str
    summary: str
    submitted: datetime | None  # online dossiers only
    received: datetime | None  # None while status is 1
    appointment: datetime | None
    finished: datetime | None
    returned: datetime | None
    refused: datetime | None
    status: int  # 1..10
    created: datetime  # entered into the one-stop system (for a dossier never entered: its arrival)
    updated: datetime
    supplements: tuple[Supplement, ...] = ()
    apologies: tuple[Apology, ...] = ()
    fees: tuple[Fee, ...] = ()
    payments: tuple[Payment, ...] = ()
    in_onestop: bool = True  # entered into the one-stop system
    on_portal: bool = True  # on the portal's dossier list
    in_book: bool = False  # written in the counter's tracking book

    @property
    def listed_at(self) -> datetime:
        """The portal's `Ngày nộp`: submission of an online dossier, receipt of the others."""
        return self.submitted if self.channel == 2 else self.received

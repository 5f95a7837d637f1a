"""Whether an agency or a subject that a command names is in the store, and the hint when it is not.

An agency is known when any source names it: the one-stop system's agency list, its dossiers,
the catalogue, the portal's list or a tracking book. A subject is known when it is a dossier code
of any source or a procedure code, matched as rules.md matches codes (trimmed, NFC, upper case).
A typo then gets an error and a hint, never an empty answer that looks like a clean agency.
"""
from __future__ import annotations

import difflib

from sqlalchemy import Connection, exists, select, union

from monitor.codes import code_key
from monitor.models import Agency, BookRow, Dossier, PortalDossier, Procedure

AGENCY_COLUMNS = (Agency.code, Dossier.agency_code, Procedure.agency_code, PortalDossier.agency_code,
                  BookRow.agency_code)
SUBJECT_KEYS = (Dossier.code_key, PortalDossier.code_key, BookRow.code_key)
HINTS = 3


def agency_is_known(connection: Connection, code: str) -> bool:
    """Whether the agency `code`, exactly as written, is in the store (each lookup an index's)."""
    return any(connection.scalar(select(exists().where(column == code))) for column in AGENCY_COLUMNS)


def agency_codes(connection: Connection) -> list[str]:
    """Every agency code the store holds, sorted."""
    codes = union(*(select(column.label("code")).where(column.is_not(None)) for column in AGENCY_COLUMNS))
    return sorted(connection.scalars(codes))


def subject_is_known(connection: Connection, subject: str) -> bool:
    key = code_key(subject)
    if any(connection.scalar(select(exists().where(column == key))) for column in SUBJECT_KEYS):
        return True
    # Procedure codes are not stored in matching form; the catalogue is a few thousand rows.
    return any(code_key(code) == key for code in connection.scalars(select(Procedure.code)))


def agency_hint(code: str, known: list[str]) -> str:
    """The closest known codes, or where to find the list."""
    close = difflib.get_close_matches(code, known, n=HINTS)
    if close:
        return f"did you mean {', '.join(close)}?"
    return "see `motcua audit` for the agencies in the store"

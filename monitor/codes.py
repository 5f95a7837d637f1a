"""How codes from different sources are matched (rules.md): trimmed, Unicode NFC, upper case.

It lives here, below both layers, because connectors fill the `code_key` columns with it and
rules match exemptions with it.
"""
import unicodedata


def code_key(code: str) -> str:
    """The key that matches a dossier or procedure code across sources.

    Only the surrounding whitespace is trimmed, as the hand-typed tracking-book sample needs
    (``" 000.00.16.h59-250904-0002"``): codes never contain spaces, so a space inside one makes a
    wrong code, which the monitor reports rather than quietly repairs.
    """
    return unicodedata.normalize("NFC", code).strip().upper()

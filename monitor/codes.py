"""How codes and labels from different sources are matched.

It lives here, below the layers, because connectors fill the `code_key` columns and read labels
with it, and rules match exemptions and catalogue texts with it.
"""
import unicodedata


def code_key(code: str) -> str:
    """The key that matches a dossier or procedure code across sources.

    Only the surrounding whitespace is trimmed, as the hand-typed tracking-book sample needs
    (``" 000.00.16.h59-250904-0002"``): codes never contain spaces, so a space inside one makes a
    wrong code, which the monitor reports rather than quietly repairs.
    """
    return unicodedata.normalize("NFC", code).strip().upper()


def folded(text: str) -> str:
    """A label or phrase as it is compared: NFC, case-folded, whitespace runs made one space, trimmed.

    So "Trực  Tuyến" matches "trực tuyến" whichever way its accents were encoded. (Case folding
    can undo NFC, hence the second normalisation.)
    """
    return " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold()).split())

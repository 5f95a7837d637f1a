"""URLs as the monitor shows them: in every message, log line and error, without their password.

A database URL (`postgresql+psycopg://user:password@host/db`) or a source's base URL may carry
a password; sqlalchemy's URL parser reads both kinds and renders them with `***` in its place.
"""
from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# user:password@ in a string too broken to parse as a URL
_USERINFO = re.compile(r"(:/*[^/:@]*:)[^/@]*@")


def shown(url: str) -> str:
    """`url` with its password, if any, replaced by `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _USERINFO.sub(r"\1***@", url)

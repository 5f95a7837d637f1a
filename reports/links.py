"""Where a report's lines point: the pages of the site, and a dossier in the one-stop system.

The site keeps one folder per report period (`2026-03-30/`, `2026-W13/`, `2026-03/`, `2026-Q1/`)
under an archive index, with a page per agency, per rule and per procedure. Inside the site every
link is relative; a mail links to the same pages under `[report] site_url` when it is set, and to
no page otherwise. `[report] dossier_url` (a template with `{code}`) makes a dossier code a link
to the dossier in the one-stop system.

Page names are fixed here, so that the mails, the site and the tests agree: an agency's page is
`don-vi-` and a stem of its code that no other code gives (reports/safe_text.py), a rule's
`quy-tac-` and its id, a procedure's `thu-tuc-` and a stem of its code. No fixed page begins with
one of those prefixes, so no code can name a page that replaces another.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from reports.safe_text import distinct_file_stem

INDEX = "index.html"                  # a period's index: its agencies
ARCHIVE = "index.html"                # the site's root: every period kept
PROVINCE_PAGE = "tong-hop.html"
RULES_PAGE = "quy-tac.html"
PROCEDURES_PAGE = "thu-tuc.html"
RULE_ID = re.compile(r"[a-z][a-z0-9_.]{0,60}")
AGENCY_PAGE_PREFIX = "don-vi-"
RULE_PAGE_PREFIX = "quy-tac-"
PROCEDURE_PAGE_PREFIX = "thu-tuc-"


def agency_page(code: str) -> str:
    """The file name of an agency's page: never a fixed page's, never another agency's."""
    return f"{AGENCY_PAGE_PREFIX}{distinct_file_stem(code)}.html"


def rule_page(rule: str) -> str:
    # Rule ids are the monitor's own (`ontime.overdue`): kept as they are, readable.
    stem = rule if RULE_ID.fullmatch(rule) and ".." not in rule else distinct_file_stem(rule)
    return f"{RULE_PAGE_PREFIX}{stem}.html"


def procedure_page(code: str) -> str:
    return f"{PROCEDURE_PAGE_PREFIX}{distinct_file_stem(code)}.html"


@dataclass(frozen=True)
class Links:
    """The links of one rendering: `base` is what a page name is joined to ("" inside the site,
    `site_url/<period>/` in a mail, None when there is no site to link to)."""
    base: str | None = None
    archive: str | None = None        # the site's archive index
    dossier_url: str = ""             # with {code}
    contact: str = ""

    @classmethod
    def for_mail(cls, site_url: str, period_label: str, dossier_url: str = "", contact: str = "") -> Links:
        if not site_url:
            return cls(None, None, dossier_url, contact)
        root = site_url if site_url.endswith("/") else site_url + "/"
        return cls(f"{root}{period_label}/", f"{root}{ARCHIVE}", dossier_url, contact)

    @classmethod
    def for_site(cls, dossier_url: str = "", contact: str = "") -> Links:
        """Inside a period's folder of the site: every page is beside this one."""
        return cls("", f"../{ARCHIVE}", dossier_url, contact)

    @property
    def site(self) -> bool:
        return self.base is not None

    def page(self, name: str) -> str | None:
        return None if self.base is None else self.base + name

    def agency(self, code: str | None) -> str | None:
        return self.page(agency_page(code)) if code else None

    def rule(self, rule: str) -> str | None:
        return self.page(rule_page(rule))

    def procedure(self, code: str | None) -> str | None:
        return self.page(procedure_page(code)) if code else None

    def index(self) -> str | None:
        return self.page(INDEX)

    def province(self) -> str | None:
        return self.page(PROVINCE_PAGE)

    def dossier(self, code: str) -> str | None:
        """The dossier in the one-stop system; its code is quoted whole (a `/` or `&` in a code
        stays inside the one parameter)."""
        if not self.dossier_url:
            return None
        return self.dossier_url.format(code=quote(code, safe=""))

    def subject(self, breach) -> str | None:
        """A breach's subject: the dossier in the one-stop system, or the procedure's page."""
        if breach.about_procedure:
            return self.procedure(breach.subject)
        return self.dossier(breach.subject)

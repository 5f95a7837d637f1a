"""The reports as a small static site: an archive with one folder per report period.

    index.html                      the archive: every period written into this folder, newest first
    2026-03-30/index.html           the period's agencies (sortable, filterable)
    2026-03-30/tong-hop.html        the province summary
    2026-03-30/don-vi-<code>.html   an agency's report, every breach listed
    2026-03-30/quy-tac.html         the rules with their breaches; quy-tac-<rule>.html one rule's breaches
    2026-03-30/thu-tuc.html         the procedures that cause breaches; thu-tuc-<code>.html one's breaches
    2026-03-30/vi-pham-toan-tinh-2026-03-30.xlsx

Plain HTML with inline styles; the tables of the site's own pages sort and filter with a small
inline script (no remote resource, nothing but the files): it opens from the disk or from any web
server. Every link inside the site is relative and names a page the site has (reports/links.py).

"New" and "resolved" on an agency's page mean what they mean in the agency's mail: since the last
report about it before this period (`since`), so that `motcua report` and the page it wrote agree.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.outputs import OutputFolder
from reports.content import PROVINCE, Breach, ReportBuilder
from reports.links import (ARCHIVE, INDEX, PROCEDURES_PAGE, PROVINCE_PAGE, RULES_PAGE, Links, agency_page,
                           procedure_page, rule_page)
from reports.periods import ReportPeriod
from reports.render import render
from rules import registry

MANIFEST = "bao-cao.json"   # in each period's folder: what the archive index lists


@dataclass(frozen=True)
class Site:
    index: Path          # the archive's index
    workbook: Path
    pages: int           # pages of this period, its index included
    period_index: Path | None = None
    new: int = 0         # the province page's counts, as it shows them
    open: int = 0


@dataclass(frozen=True)
class ProcedureLine:
    code: str
    name: str | None
    agency: str | None
    agency_name: str
    open: int
    by_rule: list[tuple[str, str, int]]   # (rule, title, open)


def write_site(folder: OutputFolder, builder: ReportBuilder, period: ReportPeriod, *,
               since: Callable[[str], datetime | None] = lambda agency: None,
               dossier_url: str = "", contact: str = "") -> Site:
    """Write the period's pages into `folder/<period label>/` and the archive index into `folder`.
    `since(agency)` is when the last report about the agency ("*": the province) was made before
    this period's."""
    links = Links.for_site(dossier_url, contact)
    target = folder.subfolder(period.label)
    agencies = [builder.agency_report(code, period, since(code), links) for code in builder.agencies(period)]
    # Anyone may read the site, agency heads too: the technical errors stay in the operator's mail.
    province = builder.province_report(period, since(PROVINCE), links)
    breaches = builder.open_breaches()
    pages = 0

    def write(name: str, template: str, **context) -> Path:
        nonlocal pages
        pages += 1
        return target.write(name, render(template, links=links, period=period, generated_at=builder.now, **context))

    for report in agencies:
        write(agency_page(report.agency_code), "site/agency.html.j2", report=report, limit=None)
    write(PROVINCE_PAGE, "site/province.html.j2", report=province)

    by_rule: dict[str, list[Breach]] = defaultdict(list)
    for b in breaches:
        by_rule[b.rule].append(b)
    for line in province.rules:
        write(rule_page(line.rule), "site/rule.html.j2", line=line, rule=registry.by_id(line.rule),
              breaches=sorted(by_rule[line.rule], key=_urgent_first), names=builder.agency_name)
    write(RULES_PAGE, "site/rules.html.j2", rules=province.rules)

    procedures = _procedures(breaches, builder)
    by_procedure: dict[str, list[Breach]] = defaultdict(list)
    for b in breaches:
        if _procedure_of(b):
            by_procedure[_procedure_of(b)].append(b)
    for line in procedures:
        write(procedure_page(line.code), "site/procedure.html.j2", line=line,
              breaches=sorted(by_procedure[line.code], key=_urgent_first), names=builder.agency_name)
    write(PROCEDURES_PAGE, "site/procedures.html.j2", procedures=procedures)

    workbook = target.write(f"vi-pham-toan-tinh-{period.label}.xlsx", builder.workbook(period))
    period_index = write(INDEX, "site/index.html.j2", province=province, agencies=agencies, workbook=workbook.name)
    target.write(MANIFEST, json.dumps({"label": period.label, "kind": period.kind, "title": period.title,
                                       "start": period.start.isoformat(), "end": period.end.isoformat(),
                                       "generated_at": builder.now.isoformat(timespec="seconds"),
                                       "open": province.open_count, "new": province.new_count},
                                      ensure_ascii=False, indent=1))
    archive = folder.write(ARCHIVE, render("site/archive.html.j2", periods=_archived(folder.path),
                                           generated_at=builder.now))
    return Site(index=archive, workbook=workbook, pages=pages, period_index=period_index,
                new=province.new_count, open=province.open_count)


def _procedure_of(b: Breach) -> str | None:
    return b.subject if b.about_procedure else b.procedure_code


def _procedures(breaches: list[Breach], builder: ReportBuilder) -> list[ProcedureLine]:
    """The procedures that cause breaches, the most breaches first."""
    counts: dict[str, Counter] = defaultdict(Counter)
    names: dict[str, str | None] = {}
    agencies: dict[str, Counter] = defaultdict(Counter)
    for b in breaches:
        code = _procedure_of(b)
        if not code:
            continue
        counts[code][b.rule] += 1
        names[code] = names.get(code) or b.procedure_name
        agencies[code][b.agency] += 1
    lines = []
    for code, by_rule in counts.items():
        agency = agencies[code].most_common(1)[0][0]
        lines.append(ProcedureLine(
            code=code, name=names[code], agency=agency, agency_name=builder.agency_name(agency),
            open=sum(by_rule.values()),
            by_rule=[(rule, registry.by_id(rule).title, n) for rule, n in by_rule.most_common()]))
    return sorted(lines, key=lambda line: (-line.open, line.code))


def _urgent_first(b: Breach):
    return registry.by_id(b.rule).urgency, -(b.days_late or 0), b.due_date.toordinal() if b.due_date else 0, b.subject


def _archived(root: Path) -> list[dict]:
    """The periods written into the site's folder, newest first, each from its manifest."""
    periods = []
    for manifest in root.glob(f"*/{MANIFEST}"):
        try:
            entry = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(entry, dict) or entry.get("label") != manifest.parent.name:
            continue
        if not (manifest.parent / INDEX).exists():
            continue
        periods.append(entry)
    return sorted(periods, key=lambda e: (str(e.get("end")), str(e.get("kind"))), reverse=True)

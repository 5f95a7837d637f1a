"""Every rule, in one place, and which of them (and of their parts) run when inputs are missing."""
from __future__ import annotations

from rules import catalogue, entry, ontime, payment, service
from rules.base import Rule

RULES: tuple[Rule, ...] = (
    entry.Missing(),
    entry.Late(),
    entry.Unsynced(),
    entry.Invalid(),
    ontime.Late(),
    ontime.Overdue(),
    ontime.DueDatePadded(),
    ontime.NoApology(),
    payment.NotEnabled(),
    payment.Offline(),
    service.NotFullOnline(),
    catalogue.UnknownTimeLimit(),
    catalogue.UnknownFee(),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)


def runnable(unavailable: frozenset[str], book_sources: tuple[str, ...]) -> tuple[dict[str, frozenset[str]], list[str]]:
    """The rules that run, each with the parts of it that run, and the names of what is skipped:
    a rule id when the whole rule is, `rule:part` when only a part is (rules.md)."""
    running: dict[str, frozenset[str]] = {}
    skipped: list[str] = []
    for rule in RULES:
        if rule.needs & unavailable:
            skipped.append(rule.id)
            continue
        parts = rule.parts(book_sources)
        skipped += [f"{rule.id}:{part}" for part, needs in sorted(parts.items()) if needs & unavailable]
        running[rule.id] = frozenset(part for part, needs in parts.items() if not needs & unavailable)
    return running, skipped

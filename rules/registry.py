"""Every rule, in one place, and which of them (and of their parts) run when inputs are missing.

The rules are the `Rule` classes defined in the family modules of FAMILIES: a rule added to a
family is found here, and nothing else names it. A new family module is added to FAMILIES, at
its place in rules.md's table (the order in which the rules run and are listed).

A test can add a rule of its own for a while: `with registry.added(MyRule()):`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from rules import catalogue, due, entry, ontime, payment, process, service, supplement
from rules.base import MONITOR_FROM, Parameter, Rule, dossiers_of, fact_of

FAMILIES: tuple[ModuleType, ...] = (entry, ontime, payment, service, catalogue, supplement, process)

# The keys of config [rules] that the audit itself reads, besides the rules' own parameters.
AUDIT_PARAMETERS: tuple[Parameter, ...] = (due.SAME_DAY_CUTOFF, MONITOR_FROM)


def _defined_in(module: ModuleType) -> list[Rule]:
    """The rules a family module defines, in the order it defines them."""
    return [value() for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__
            and hasattr(value, "id")]


_rules: dict[str, Rule] = {rule.id: rule for family in FAMILIES for rule in _defined_in(family)}


def rules() -> tuple[Rule, ...]:
    return tuple(_rules.values())


def rule_ids() -> tuple[str, ...]:
    return tuple(_rules)


def by_id(rule_id: str) -> Rule:
    """The rule with this id; a KeyError for an id that is not a rule's."""
    return _rules[rule_id]


def parameters() -> dict[str, Parameter]:
    """Every key of config [rules]: the audit's and the rules' parameters, by name."""
    return {p.name: p for p in (*AUDIT_PARAMETERS, *(p for r in _rules.values() for p in r.parameters))}


def index_indicators() -> tuple[str, ...]:
    """Every key of config [index]: the indicators of the national index (rules.index, imported
    here rather than above: it reads the figures, which read this registry)."""
    from rules.index import INDICATOR_IDS

    return INDICATOR_IDS


@contextmanager
def added(extra: Rule) -> Iterator[Rule]:
    """`extra` is a rule like the others until the block ends (for tests: a rule defined inside one)."""
    if extra.id in _rules:
        raise ValueError(f"a rule {extra.id!r} exists already")
    _rules[extra.id] = extra
    try:
        yield extra
    finally:
        del _rules[extra.id]


def runnable(unavailable: frozenset[str], book_sources: tuple[str, ...],
             dossier_sources: tuple[str, ...] = (), lacking: frozenset[str] = frozenset(),
             ) -> tuple[dict[str, frozenset[str]], list[str]]:
    """The rules that run, each with the parts of it that run, and the names of what is skipped:
    a rule id when the whole rule is, `rule:part` when only a part is (rules.md).

    `dossier_sources` are the one-stop sources: a `per_source` rule has a part for each, named
    after it. Such a rule is skipped whole when the dossiers of every one of them are unavailable
    (every one-stop source is stale), as a rule needing ONESTOP was when there was one.
    `lacking` are the facts the sources' dossiers never carry (`fact_of` inputs; the audit puts
    them in `unavailable` too): a rule about such a fact (`only_with_facts`) has no part for a
    source that lacks it, and counts only the other sources for "every one is stale"."""
    running: dict[str, frozenset[str]] = {}
    skipped: list[str] = []
    for rule in _rules.values():
        sources = tuple(s for s in dossier_sources
                        if not any(fact_of(fact, s) in lacking | unavailable for fact in rule.only_with_facts))
        every_source_stale = bool(sources) and all(dossiers_of(s) in unavailable for s in sources)
        if rule.needs & unavailable or (rule.per_source and every_source_stale):
            skipped.append(rule.id)
            continue
        parts = rule.parts(book_sources)
        if rule.per_source:
            parts |= {source: frozenset({dossiers_of(source), *(fact_of(fact, source) for fact in rule.dossier_facts)})
                      for source in sources}
        skipped += [f"{rule.id}:{part}" for part, needs in sorted(parts.items()) if needs & unavailable]
        running[rule.id] = frozenset(part for part, needs in parts.items() if not needs & unavailable)
    return running, skipped


def left_out_sources(rule_id: str, running: dict[str, frozenset[str]], dossier_sources: tuple[str, ...]) -> frozenset[str]:
    """The one-stop sources whose dossiers a `per_source` rule that runs does not judge."""
    if rule_id not in running or not by_id(rule_id).per_source:
        return frozenset()
    return frozenset(dossier_sources) - running[rule_id]


def skipped_title(name: str) -> str:
    """What a skipped rule (or part, `entry.missing:portal`) is, in words: its title, and the part."""
    rule_id, _, part = name.partition(":")
    rule = by_id(rule_id)
    return f"{rule.title} ({rule.part_title(part)})" if part else rule.title

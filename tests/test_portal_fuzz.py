"""Fuzzing the portal connector (issue 10): hostile text in otherwise good pages (escaped as a
real portal escapes it), on both stores. Whatever a cell holds, the sync finishes, every dossier
row and every procedure is stored or rejected with a reason, and the audit finishes."""
from __future__ import annotations

from dataclasses import replace
from html import escape

import sqlalchemy
from hypothesis import HealthCheck, given, settings, strategies as st

from connectors.sync import sync_sources
from rules.audit import run_audit
from sandbox.simulator import PortalServer
from sync_support import NOW, clock, portal_source, small_province, write_settings
from test_edge_fuzz import empty

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9f), max_size=20),   # control characters, C1 too
    st.text(min_size=81, max_size=300),                                   # longer than any code column
    st.sampled_from(["01/01/0001 08:00", "31/02/2026 08:00", "02/03/2999 08:00", "9" * 40 + " ngày làm việc",
                     "-5 ngày", "1e309 giờ", "<b>", "Không"]),
)
# What a poison replaces: a dossier row's code (the hostile text is appended to it, so codes stay
# distinct), its submission time, or a procedure's time limit, fee or agency.
TARGETS = ("code", "submitted", "time_limit", "fee", "agency")
POISON = st.tuples(st.integers(min_value=0, max_value=200), st.sampled_from(TARGETS), HOSTILE)

PROVINCE = small_province(dossiers=60)


class FuzzPortal(PortalServer):
    def __init__(self, province, poisons):
        super().__init__(province, page_size=25)
        dossiers = sorted(province.dossiers, key=lambda d: d.code)
        procedures = sorted(province.procedures, key=lambda p: p.code)
        self.swaps: list[tuple[str, str]] = []
        for index, target, value in poisons:
            dossier, procedure = dossiers[index % len(dossiers)], procedures[index % len(procedures)]
            if target == "code":
                self.swaps.append((f"<span>{escape(dossier.code)}</span>",
                                   f"<span>{escape(dossier.code + value)}</span>"))
            elif target == "submitted":
                self.swaps.append((f"{dossier.listed_at:%d/%m/%Y %H:%M}</td><td>", f"{escape(value)}</td><td>"))
            else:
                written = {"time_limit": procedure.time_limit_text, "fee": procedure.fee_text,
                           "agency": None}[target]
                if written:
                    self.swaps.append((f'<span class="v">{escape(written)}</span>',
                                       f'<span class="v">{escape(value)}</span>'))
                else:
                    self.swaps.append((f"({escape(procedure.agency)})</span>", f"({escape(value)})</span>"))

    def answer(self, request):
        answer = super().answer(request)
        body = answer.body.decode()
        for before, after in self.swaps:
            body = body.replace(before, after)
        return replace(answer, body=body.encode())


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(sqlalchemy.text(query)).scalar() for query in (
            "select count(*) from portal_dossier", "select count(*) from procedure",
            "select count(*) from rejected_input"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(poisons=st.lists(POISON, min_size=1, max_size=5))
def test_hostile_text_never_stops_the_sync_of_the_portal(poisons, tmp_path, engine, database_url):
    empty(engine)
    with FuzzPortal(PROVINCE, []) as clean:
        config = write_settings(tmp_path, database_url, [portal_source(clean.url)])
        [outcome] = sync_sources(engine, config, clock)
    assert outcome.status == "ok", outcome.error
    listed_dossiers, procedures, _ = counts(engine)
    empty(engine)

    with FuzzPortal(PROVINCE, poisons) as server:
        config = write_settings(tmp_path, database_url, [portal_source(server.url)])
        [outcome] = sync_sources(engine, config, clock)

    assert outcome.status == "ok", outcome.error
    stored_dossiers, stored_procedures, rejected = counts(engine)
    assert stored_dossiers + stored_procedures + rejected == listed_dossiers + procedures
    with engine.connect() as connection:
        assert all(connection.execute(sqlalchemy.text("select reason from rejected_input")).scalars())
    run_audit(engine, config, as_of=NOW, now=NOW)

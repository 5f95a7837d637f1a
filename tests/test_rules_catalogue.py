"""catalogue.*: procedures whose time limit or fee the monitor cannot read."""
from __future__ import annotations

from audit_helpers import Store, end_of_day, finding, subjects


def test_unknown_time_limit_outside_the_grammar(engine):
    store = Store(engine)
    store.procedure("1.000001", kind="unknown", amount=None, time_limit_text="Theo quy định")
    store.procedure("1.000002", kind=None, amount=None)  # the page lacked the label: skipped
    store.procedure("1.000003", kind="working_days", amount=5)
    result = store.audit(end_of_day(20))
    assert subjects(result, "catalogue.unknown_time_limit") == {"1.000001"}
    assert "Theo quy định" in finding(result, "catalogue.unknown_time_limit", "1.000001").detail


def test_unknown_fee_names_no_amount(engine):
    store = Store(engine)
    store.procedure("1.000001", fee_status="unknown", fee_text="Theo Thông tư 85/2019/TT-BTC")
    store.procedure("1.000002", fee_status=None)  # the page lacked the label: skipped
    store.procedure("1.000003", fee_status="free")
    store.procedure("1.000004", fee_status="fee_bearing")
    result = store.audit(end_of_day(20))
    assert subjects(result, "catalogue.unknown_fee") == {"1.000001"}
    found = finding(result, "catalogue.unknown_fee", "1.000001")
    assert (found.agency, found.procedure) == ("000.00.31.H59", "1.000001")

"""payment.*: one test per clause of rules.md, each with a case that just breaches and one that
just does not."""
from __future__ import annotations

import pytest

from audit_helpers import AGENCY, Store, at, end_of_day, finding, province, subjects

FEE = "1.000002"


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    store.procedure(FEE, fee_status="fee_bearing", online_payment=True)
    return store


def test_not_enabled_for_a_fee_bearing_procedure_without_online_payment(store):
    store.procedure("1.000003", fee_status="fee_bearing", online_payment=False, agency="000.00.16.H59")
    store.procedure("1.000004", fee_status="free", online_payment=False)
    result = store.audit(end_of_day(20))
    assert subjects(result, "payment.not_enabled") == {"1.000003"}
    found = finding(result, "payment.not_enabled", "1.000003")
    assert (found.agency, found.procedure, found.due_date) == ("000.00.16.H59", "1.000003", None)


def test_not_enabled_skips_procedures_whose_fee_or_payment_label_is_unknown(store):
    store.procedure("1.000005", fee_status="unknown", online_payment=False)
    store.procedure("1.000006", fee_status=None, online_payment=False)          # page without the fee label
    store.procedure("1.000007", fee_status="fee_bearing", online_payment=None)  # page without the payment label
    assert subjects(store.audit(end_of_day(20)), "payment.not_enabled") == set()


def test_offline_payment_of_an_online_dossier_for_a_fee_bearing_procedure(store):
    store.dossier("F-1", at(2), channel="2", procedure=FEE, payments=(("truc-tiep", at(3)),))
    store.dossier("F-2", at(2), channel="2", procedure=FEE,
                  payments=(("chuyen-khoan", at(3)), ("truc-tuyen", at(4))))
    store.dossier("F-3", at(2), channel="2", procedure=FEE)                     # nothing paid yet
    store.dossier("F-4", at(2), channel="1", procedure=FEE, payments=(("truc-tiep", at(3)),))
    store.dossier("F-5", at(2), channel="2", payments=(("truc-tiep", at(3)),))  # a free procedure
    result = store.audit(end_of_day(20))
    assert subjects(result, "payment.offline") == {"F-1"}
    assert finding(result, "payment.offline", "F-1").agency == AGENCY


def test_offline_a_bank_transfer_is_not_an_online_payment(store):
    # Only `truc-tuyen` (the online payment platform) is online; `chuyen-khoan` is a bank transfer.
    store.dossier("F-1", at(2), channel="2", procedure=FEE, payments=(("chuyen-khoan", at(3)),))
    store.dossier("F-2", at(2), channel="2", procedure=FEE, payments=(("truc-tuyen", at(3)),))
    result = store.audit(end_of_day(20))
    assert subjects(result, "payment.offline") == {"F-1"}
    assert province(result)["online_payment_rate"] == 1 / 2


def test_offline_counts_only_payments_made_by_t(store):
    store.dossier("F-1", at(2), channel="2", procedure=FEE,
                  payments=(("truc-tiep", at(3)), ("truc-tuyen", at(10))))
    store.dossier("F-2", at(2), channel="2", procedure=FEE, payments=(("truc-tiep", at(10)),))
    assert subjects(store.audit(end_of_day(5)), "payment.offline") == {"F-1"}
    assert subjects(store.audit(end_of_day(10)), "payment.offline") == {"F-2"}


def test_offline_skips_procedures_with_an_unknown_fee(store):
    store.procedure("1.000005", fee_status="unknown")
    store.dossier("F-1", at(2), channel="2", procedure="1.000005", payments=(("truc-tiep", at(3)),))
    store.dossier("F-2", at(2), channel="2", procedure="9.999999", payments=(("truc-tiep", at(3)),))
    assert subjects(store.audit(end_of_day(20)), "payment.offline") == set()

"""service.not_full_online: eligible for full online service but offered only in part."""
from __future__ import annotations

import unicodedata

from audit_helpers import Store, end_of_day, finding, subjects


def test_not_full_online_when_eligible_and_offered_in_part_or_as_information(engine):
    store = Store(engine)
    store.procedure("1.000001", full_online_eligible=True, service_level="Một phần")
    store.procedure("1.000002", full_online_eligible=True, service_level="Cung cấp thông tin")
    store.procedure("1.000003", full_online_eligible=True, service_level="Toàn trình")
    store.procedure("1.000004", full_online_eligible=False, service_level="Một phần")
    result = store.audit(end_of_day(20))
    assert subjects(result, "service.not_full_online") == {"1.000001", "1.000002"}
    assert "Một phần" in finding(result, "service.not_full_online", "1.000001").detail


def test_not_full_online_compares_the_level_as_catalogue_texts_are_compared(engine):
    store = Store(engine)
    store.procedure("1.000001", full_online_eligible=True,
                    service_level=unicodedata.normalize("NFD", " MỘT  PHẦN "))
    assert subjects(store.audit(end_of_day(20)), "service.not_full_online") == {"1.000001"}


def test_not_full_online_skips_unknown_labels(engine):
    store = Store(engine)
    store.procedure("1.000001", full_online_eligible=None, service_level="Một phần")
    store.procedure("1.000002", full_online_eligible=True, service_level=None)
    assert subjects(store.audit(end_of_day(20)), "service.not_full_online") == set()

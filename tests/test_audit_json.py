"""The JSON writer of `motcua audit` builds each finding's text directly, for speed; it must say
exactly what the standard encoder says of `AuditFinding.to_json()`."""
from __future__ import annotations

import io
import json
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from reports.audit_output import finding_json, write_json
from rules.audit import AuditFinding, AuditResult

# Codes and texts come from the sources: quotes, backslashes, control characters, Vietnamese.
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
optional_texts = st.none() | texts
findings = st.builds(
    AuditFinding,
    rule=st.sampled_from(["entry.missing", "entry.invalid", "ontime.late", "ontime.overdue", "payment.offline"]),
    subject=texts, agency=optional_texts, procedure=optional_texts,
    due_date=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    detail=texts, status=st.sampled_from(["open", "exempted"]), reason=optional_texts,
    days_late=st.none() | st.integers(min_value=-400, max_value=4000),
    first_seen=st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)


@given(findings)
def test_a_finding_is_written_as_the_standard_encoder_writes_it(finding):
    assert finding_json(finding) == json.dumps(finding.to_json(), ensure_ascii=False, separators=(",", ":"))


@given(st.lists(findings, max_size=5))
def test_the_whole_output_reads_back_as_to_json(found):
    result = AuditResult(as_of=datetime(2026, 2, 20, 17, 0), period=None, findings=found, stale=[], figures=[],
                         skipped_rules=set())
    out = io.StringIO()
    write_json(result, out)
    assert json.loads(out.getvalue()) == result.to_json()

"""The one JSON encoder of a finding builds its text directly, for speed; it must say exactly what
the standard encoder says of the same object (`AuditFinding.to_json()` reads it back)."""
from __future__ import annotations

import io
import json
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from reports.audit_output import write_json
from rules.audit import AuditFinding, AuditResult, finding_json

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


def interface_object(f: AuditFinding) -> dict:
    """A finding's object as interface.md describes it, built key by key: the reference."""
    out = {"rule": f.rule, "subject": f.subject, "agency": f.agency, "procedure": f.procedure}
    if f.rule.startswith("ontime."):  # due_date only for the ontime rules
        out["due_date"] = f.due_date.isoformat() if f.due_date else None
    out["detail"] = f.detail
    out["status"] = f.status
    if f.reason is not None:
        out["reason"] = f.reason
    if f.days_late is not None:
        out["days_late"] = f.days_late
    if f.first_seen is not None:
        out["first_seen"] = f.first_seen.isoformat(timespec="seconds")
    return out


@given(findings)
def test_a_finding_is_written_as_the_standard_encoder_writes_it(finding):
    assert finding_json(finding) == json.dumps(interface_object(finding), ensure_ascii=False, separators=(",", ":"))
    assert finding.to_json() == interface_object(finding)


@given(st.lists(findings, max_size=5))
def test_the_whole_output_reads_back_as_to_json(found):
    result = AuditResult(as_of=datetime(2026, 2, 20, 17, 0), period=None, findings=found, stale=[], figures=[],
                         skipped_rules=set())
    out = io.StringIO()
    write_json(result, out)
    assert json.loads(out.getvalue()) == result.to_json()

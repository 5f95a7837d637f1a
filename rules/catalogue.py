"""catalogue.*: procedures whose time limit or fee the monitor cannot read, and says so."""
from __future__ import annotations

from sqlalchemy import Select

from monitor.time_limits import TimeLimitKind
from monitor.models import Procedure
from rules.base import CATALOGUE, AuditContext, Rule, procedure_findings
from rules.sql import text_of

UNKNOWN_FEE = "unknown"


class UnknownTimeLimit(Rule):
    """The time limit text is not in the grammar, so no due date can be computed from it.
    (A detail page without the label leaves the kind None: that is not this breach.)"""
    id = "catalogue.unknown_time_limit"
    title = "Thời hạn giải quyết của thủ tục không rõ ràng"
    action = "Chuẩn hóa thời hạn giải quyết trong Cơ sở dữ liệu thủ tục hành chính."
    urgency = 120
    subject = "procedure"
    needs = frozenset({CATALOGUE})

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        p = Procedure.__table__
        return procedure_findings(
            self.id, text_of("Thời hạn giải quyết không xác định được: «", p.c.time_limit_text, "»"),
        ).where(p.c.time_limit_kind == TimeLimitKind.UNKNOWN.value)


class UnknownFee(Rule):
    """The fee text names no amount and is not one of the free phrasings."""
    id = "catalogue.unknown_fee"
    title = "Phí, lệ phí của thủ tục không ghi rõ mức thu"
    action = "Ghi rõ mức phí, lệ phí trong Cơ sở dữ liệu thủ tục hành chính."
    urgency = 130
    subject = "procedure"
    needs = frozenset({CATALOGUE})

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        p = Procedure.__table__
        return procedure_findings(
            self.id, text_of("Phí, lệ phí không xác định được: «", p.c.fee_text, "»"),
        ).where(p.c.fee_status == UNKNOWN_FEE)

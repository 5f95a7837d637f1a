"""service.*: full online service for every procedure eligible for it."""
from __future__ import annotations

from sqlalchemy import Select, select

from monitor.codes import folded
from monitor.models import Procedure
from rules.base import CATALOGUE, AuditContext, Rule, procedure_findings
from rules.sql import text_of

PARTIAL_LEVELS = ("một phần", "cung cấp thông tin")


class NotFullOnline(Rule):
    """Eligible for full online service (`Toàn trình`) but offered only `Một phần` or
    `Cung cấp thông tin`."""
    id = "service.not_full_online"
    title = "Thủ tục đủ điều kiện nhưng chưa cung cấp dịch vụ công trực tuyến toàn trình"
    action = "Cung cấp dịch vụ công trực tuyến toàn trình cho thủ tục."
    urgency = 110
    subject = "procedure"
    needs = frozenset({CATALOGUE})

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        p = Procedure.__table__
        # The levels are compared folded, which SQLite cannot do; the catalogue is small.
        eligible = context.connection.execute(
            select(p.c.code, p.c.service_level).where(p.c.full_online_eligible.is_(True),
                                                       p.c.service_level.is_not(None)))
        partial = [row.code for row in eligible if folded(row.service_level) in PARTIAL_LEVELS]
        return procedure_findings(
            self.id, text_of("Đủ điều kiện cung cấp toàn trình nhưng chỉ cung cấp: ", p.c.service_level),
        ).where(p.c.code.in_(partial))

"""supplement.*: an agency may ask for a supplement once (rules.md "More rules (second round)")."""
from __future__ import annotations

from sqlalchemy import Select, func, select

from monitor.models import SupplementRequest
from rules.base import AuditContext, Rule, finding
from rules.due import audit_dossier as ad
from rules.sql import moment_text, text_of


class Repeated(Rule):
    """More than one supplement request made by T (requested_at <= T): the recorded requests of a
    pull-API dossier, and of a stream dossier those its loader derived (the list's entries with a
    NgayBoSung, else each status-5 step: sources.md section 4). A request dated before the
    receipt counts, as it does for the clock; answered or not does not matter. Every dossier
    received by T is judged, whatever its state (a status 9 or 10 without dates too: the
    requests were made all the same)."""
    id = "supplement.repeated"
    title = "Yêu cầu bổ sung hồ sơ quá một lần"
    action = ("Quy định một cửa chỉ cho phép yêu cầu bổ sung hồ sơ một lần, hướng dẫn đầy đủ ngay từ lần đầu: "
              "làm rõ lý do và trách nhiệm của lần yêu cầu sau; Chỉ số phục vụ tính hồ sơ này là trễ hạn.")
    urgency = 55
    subject = "dossier"
    needs = frozenset()
    per_source = True

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        s = SupplementRequest.__table__
        in_order = dict(partition_by=s.c.dossier_code, order_by=(s.c.requested_at, s.c.seq))
        made = (
            select(s.c.dossier_code.label("code"), s.c.requested_at,
                   func.row_number().over(**in_order).label("n"),
                   func.lag(s.c.requested_at).over(**in_order).label("first_at"),
                   func.count().over(partition_by=s.c.dossier_code).label("total"))
            .where(s.c.requested_at <= context.as_of)
            .subquery("requests_made")
        )
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure,
                received=ad.c.received_on,
                detail=text_of("Đã yêu cầu bổ sung ", made.c.total, " lần: lần đầu ", moment_text(made.c.first_at),
                               ", lần thứ hai ", moment_text(made.c.requested_at))))
            .select_from(made.join(ad, ad.c.code == made.c.code))
            .where(made.c.n == 2)   # the second request, one row per dossier that has one
        )

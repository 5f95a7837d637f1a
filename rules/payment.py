"""payment.*: online payment offered, and used, for fee-bearing procedures."""
from __future__ import annotations

from sqlalchemy import Select, select

from monitor.models import Procedure
from monitor.statuses import Channel, FeeStatus
from rules.base import CATALOGUE, AuditContext, Rule, finding, procedure_findings
from rules.due import PAID_OFFLINE, audit_dossier as ad
from rules.sql import moment_text, text_of



class NotEnabled(Rule):
    """A fee-bearing procedure for which the portal does not offer online payment."""
    id = "payment.not_enabled"
    title = "Thủ tục có phí, lệ phí chưa cho phép thanh toán trực tuyến"
    action = "Cấu hình thanh toán trực tuyến cho thủ tục trên Cổng dịch vụ công."
    urgency = 100
    subject = "procedure"
    needs = frozenset({CATALOGUE})

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        p = Procedure.__table__
        # An unknown fee, or a page without the payment label (None), is no breach: skipped.
        return procedure_findings(
            self.id, text_of("Thủ tục có thu phí, lệ phí nhưng chưa cung cấp thanh toán trực tuyến"),
        ).where(p.c.fee_status == FeeStatus.FEE_BEARING, p.c.online_payment.is_(False))


class Offline(Rule):
    """Submitted online for a fee-bearing procedure, paid by T, and never through the online
    payment platform. For a stream dossier (no transactions): not paid online
    (DuocThanhToanTrucTuyen not 1 or 2) and resolved with status 9 or 10 by T (rules.due)."""
    id = "payment.offline"
    title = "Hồ sơ nộp trực tuyến nhưng không thanh toán trực tuyến"
    action = "Hướng dẫn người nộp thanh toán qua nền tảng thanh toán trực tuyến."
    urgency = 90
    subject = "dossier"
    needs = frozenset({CATALOGUE})
    per_source = True
    shows_fee = True
    figures_needing_it = ("online_payment_rate",)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        return select(*finding(
            self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure,
            received=ad.c.received_on,
            detail=text_of("Nộp trực tuyến (nhận ", moment_text(ad.c.received_at),
                           "), thủ tục có thu phí, lệ phí nhưng không thanh toán trực tuyến"),
        )).where(ad.c.channel == Channel.ONLINE, ad.c.payment == PAID_OFFLINE)  # payment: fee-bearing dossiers only

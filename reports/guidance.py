"""What each rule means to an agency head, and what to do about a breach of it (in Vietnamese).

The rule ids are those of rules.md; a report shows the title of a breach and one short
instruction, so that whoever reads it knows the next step without opening the rules.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleGuidance:
    title: str
    action: str
    about_procedure: bool = False  # the subject is a procedure code, not a dossier code


# In the order reports list breaches: what needs doing today first.
RULES: dict[str, RuleGuidance] = {
    "ontime.overdue": RuleGuidance(
        "Hồ sơ đang giải quyết đã quá hạn",
        "Khẩn trương giải quyết; gửi văn bản xin lỗi và hẹn lại ngày trả kết quả."),
    "ontime.no_apology": RuleGuidance(
        "Hồ sơ quá hạn chưa có văn bản xin lỗi",
        "Ban hành văn bản xin lỗi tổ chức, cá nhân và hẹn lại thời gian trả kết quả."),
    "entry.missing": RuleGuidance(
        "Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử",
        "Cập nhật ngay hồ sơ vào hệ thống một cửa điện tử với đúng ngày, giờ tiếp nhận."),
    "entry.unsynced": RuleGuidance(
        "Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công",
        "Kiểm tra kết nối đồng bộ và đồng bộ lại hồ sơ lên Cổng dịch vụ công."),
    "entry.late": RuleGuidance(
        "Hồ sơ tiếp nhận trực tiếp nhưng nhập vào hệ thống muộn",
        "Nhập hồ sơ vào hệ thống ngay khi tiếp nhận; rà soát quy trình tại Bộ phận Một cửa."),
    "ontime.late": RuleGuidance(
        "Hồ sơ giải quyết quá hạn",
        "Làm rõ nguyên nhân chậm và trách nhiệm của bộ phận, cá nhân liên quan."),
    "ontime.due_date_padded": RuleGuidance(
        "Ngày hẹn trả dài hơn thời hạn giải quyết theo quy định",
        "Điều chỉnh ngày hẹn trả theo đúng thời hạn giải quyết của thủ tục."),
    "entry.invalid": RuleGuidance(
        "Dữ liệu hồ sơ trên hệ thống không hợp lệ",
        "Sửa dữ liệu hồ sơ trên hệ thống (mã thủ tục, ngày kết thúc xử lý, ngày trả kết quả)."),
    "payment.offline": RuleGuidance(
        "Hồ sơ nộp trực tuyến nhưng không thanh toán trực tuyến",
        "Hướng dẫn người nộp thanh toán qua nền tảng thanh toán trực tuyến."),
    "payment.not_enabled": RuleGuidance(
        "Thủ tục có phí, lệ phí chưa cho phép thanh toán trực tuyến",
        "Cấu hình thanh toán trực tuyến cho thủ tục trên Cổng dịch vụ công.", about_procedure=True),
    "service.not_full_online": RuleGuidance(
        "Thủ tục đủ điều kiện nhưng chưa cung cấp dịch vụ công trực tuyến toàn trình",
        "Cung cấp dịch vụ công trực tuyến toàn trình cho thủ tục.", about_procedure=True),
    "catalogue.unknown_time_limit": RuleGuidance(
        "Thời hạn giải quyết của thủ tục không rõ ràng",
        "Chuẩn hóa thời hạn giải quyết trong Cơ sở dữ liệu thủ tục hành chính.", about_procedure=True),
    "catalogue.unknown_fee": RuleGuidance(
        "Phí, lệ phí của thủ tục không ghi rõ mức thu",
        "Ghi rõ mức phí, lệ phí trong Cơ sở dữ liệu thủ tục hành chính.", about_procedure=True),
}


def urgency(rule: str) -> int:
    """A rule's place in the order reports list breaches (rules without guidance last)."""
    return list(RULES).index(rule) if rule in RULES else len(RULES)


def guidance(rule: str) -> RuleGuidance:
    """The guidance of a rule; a rule added later without guidance still shows its id."""
    return RULES.get(rule, RuleGuidance(rule, "Xem chi tiết và xử lý theo quy định."))

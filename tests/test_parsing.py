"""sources.md's text formats: codes, date-times, the time limit grammar and the fee text."""
import unicodedata
from datetime import datetime
from decimal import Decimal

import pytest

from connectors.parsing import (
    normalize_text,
    parse_fee,
    parse_onestop_datetime,
    parse_time_limit,
    parse_vn_datetime,
    parse_yes_no,
    strip_province_suffix,
)
from monitor.codes import code_key, folded
from monitor.statuses import FeeStatus
from monitor.time_limits import TimeLimit, TimeLimitKind


def nfd(text):
    return unicodedata.normalize("NFD", text)


# --- codes ------------------------------------------------------------------------------

def test_normalize_text_is_nfc_and_trimmed():
    assert normalize_text(nfd("  Sở Y tế \n")) == unicodedata.normalize("NFC", "Sở Y tế")


def test_codes_match_after_trimming_spaces_nfc_and_upper_casing():
    # The tracking-book sample: " 000.00.16.h59-250904-0002" was typed by hand.
    assert code_key(" 000.00.16.h59-250904-0002") == code_key("000.00.16.H59-250904-0002")
    assert code_key("000.00.16.H59-250904-0002\t") == "000.00.16.H59-250904-0002"


def test_codes_keep_inner_spaces():
    assert code_key("000.29.31.H59 -250905-0031") != code_key("000.29.31.H59-250905-0031")


def test_procedure_code_without_the_province_suffix():
    assert strip_province_suffix("2.000908.000.00.00.H59") == "2.000908"
    assert strip_province_suffix("1.001234.000.00.00.H59") == "1.001234"
    assert strip_province_suffix("1.002467") == "1.002467"


# --- date-times -------------------------------------------------------------------------

def test_onestop_datetime():
    assert parse_onestop_datetime("20250903080512") == datetime(2025, 9, 3, 8, 5, 12)


def test_onestop_empty_datetime_is_none():
    assert parse_onestop_datetime("") is None


@pytest.mark.parametrize("text", ["2025090308051", "2025-09-03 08:05", "20250931080512", " 20250903080512", "x"])
def test_onestop_datetime_anything_else_is_refused_without_quoting_the_text(text):
    with pytest.raises(ValueError) as error:
        parse_onestop_datetime(text)
    assert str(error.value) == "not a yyyyMMddHHmmss date-time"


def test_vn_datetime_with_minutes():
    assert parse_vn_datetime("05/09/2025 15:45") == (datetime(2025, 9, 5, 15, 45), True)


def test_vn_datetime_with_seconds():
    assert parse_vn_datetime("05/09/2025 15:45:30") == (datetime(2025, 9, 5, 15, 45, 30), True)


def test_vn_date_without_a_time_is_the_start_of_the_day():
    assert parse_vn_datetime(" 05/09/2025 ") == (datetime(2025, 9, 5), False)


@pytest.mark.parametrize("text", ["31/09/2025 08:05", "31/09/2025", "05/09/2025 25:00", "2025-09-05", "", "05/09/25"])
def test_vn_datetime_impossible_or_malformed_is_refused_without_quoting_the_text(text):
    # The text of a cell may be anything, an applicant's name included: the message never quotes it.
    with pytest.raises(ValueError) as error:
        parse_vn_datetime(text)
    assert str(error.value).startswith(("impossible date: ", "not a dd/mm/yyyy [HH:MM] date"))
    assert not text or text not in str(error.value)


# --- time limit grammar -----------------------------------------------------------------

def limit(kind, amount=None):
    return TimeLimit(kind, None if amount is None else Decimal(amount))


UNKNOWN = limit(TimeLimitKind.UNKNOWN)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10 ngày làm việc", limit(TimeLimitKind.WORKING_DAYS, 10)),
        ("1 ngày làm việc", limit(TimeLimitKind.WORKING_DAYS, 1)),
        ("45 NGÀY LÀM VIỆC", limit(TimeLimitKind.WORKING_DAYS, 45)),
        ("05 ngày làm việc", limit(TimeLimitKind.WORKING_DAYS, 5)),
        ("  20 ngày làm việc.", limit(TimeLimitKind.WORKING_DAYS, 20)),
    ],
)
def test_n_ngay_lam_viec_is_n_working_days(text, expected):
    assert parse_time_limit(text) == expected


@pytest.mark.parametrize(
    "text, hours",
    [("0,5 ngày làm việc", 4), ("1,5 ngày làm việc", 12), ("2,25 ngày làm việc", 18)],
)
def test_fractional_n_ngay_lam_viec_is_n_times_8_working_hours(text, hours):
    assert parse_time_limit(text) == limit(TimeLimitKind.WORKING_HOURS, hours)


@pytest.mark.parametrize(
    "text, days",
    [("15 ngày", 15), ("030 ngày", 30), ("15 Ngày kể từ ngày nhận hồ sơ", 15), ("7 ngày, kể cả ngày nghỉ", 7)],
)
def test_n_ngay_is_n_calendar_days(text, days):
    assert parse_time_limit(text) == limit(TimeLimitKind.CALENDAR_DAYS, days)


def test_fractional_n_ngay_is_unknown():
    assert parse_time_limit("1,5 ngày") == UNKNOWN


@pytest.mark.parametrize(
    "text, hours",
    [("4 giờ làm việc", 4), ("08 giờ", 8), ("24 GIỜ", 24), ("1,5 giờ làm việc", Decimal("1.5"))],
)
def test_n_gio_lam_viec_or_n_gio_is_n_working_hours(text, hours):
    assert parse_time_limit(text) == limit(TimeLimitKind.WORKING_HOURS, hours)


@pytest.mark.parametrize("text", ["Trong ngày", "Ngay trong ngày", "TRONG NGÀY", "  trong ngày làm việc"])
def test_trong_ngay_and_ngay_trong_ngay_are_the_same_day(text):
    assert parse_time_limit(text) == limit(TimeLimitKind.SAME_DAY)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ", limit(TimeLimitKind.WORKING_DAYS, 10)),
        ("05 ngày làm việc; trường hợp phải xác minh: 10 ngày làm việc", limit(TimeLimitKind.WORKING_DAYS, 5)),
        ("3 giờ; trường hợp khác: 2 ngày làm việc", limit(TimeLimitKind.WORKING_HOURS, 3)),
    ],
)
def test_what_follows_the_phrase_is_commentary(text, expected):
    assert parse_time_limit(text) == expected


def test_the_phrase_is_compared_after_nfc():
    assert parse_time_limit(nfd("10 ngày làm việc")) == limit(TimeLimitKind.WORKING_DAYS, 10)
    assert parse_time_limit(nfd("15 ngày")) == limit(TimeLimitKind.CALENDAR_DAYS, 15)
    assert parse_time_limit(nfd("Ngay trong ngày")) == limit(TimeLimitKind.SAME_DAY)


@pytest.mark.parametrize(
    "text",
    [
        "Theo quy định",
        "Trong thời hạn 15 ngày làm việc",
        "Trong thời hạn 15 ngày",
        "Không quá 10 ngày làm việc",
        "1,5 ngày",
        "0,5 ngày",
        "5 ngàyxyz",
        "10 ngày làm việcxyz",
        "10ngày làm việc",
        "10 tháng",
        "0.5 ngày làm việc",
        "0 ngày",
        "0 ngày làm việc",
        "0 giờ",
        "",
        "   ",
        None,
    ],
)
def test_anything_else_is_unknown(text):
    assert parse_time_limit(text) == UNKNOWN


# --- fee text ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text", ["Không", "Không thu", "Miễn phí", "Miễn lệ phí", "KHÔNG THU.", "  miễn phí  ", "", "  ", nfd("Miễn lệ phí")]
)
def test_free_phrasings_and_an_empty_cell_are_free(text):
    assert parse_fee(text) == FeeStatus.FREE


@pytest.mark.parametrize(
    "text",
    [
        "50.000 đồng/hồ sơ",
        "Phí thẩm định: 360.000 đồng/hồ sơ",
        "Lệ phí: 100.000 đồng; Phí: 20.000đ",
        "100.000đ",
        "1.500.000 VNĐ",
        "1.500.000 VND",
        "200000 đồng",
        "0,05% tổng mức đầu tư",
        "Lệ phí: 0 đồng; Phí: 20.000 ĐỒNG",
        nfd("Phí thẩm định: 360.000 đồng/hồ sơ"),
    ],
)
def test_a_positive_amount_with_its_unit_is_fee_bearing(text):
    assert parse_fee(text) == FeeStatus.FEE_BEARING


@pytest.mark.parametrize(
    "text",
    [
        "Theo quy định tại Thông tư số 85/2019/TT-BTC",
        "0 đồng",
        "Không thu phí",
        "Có thu phí",
        "50.000",
        "5 đợt",
        None,
    ],
)
def test_any_other_fee_text_is_unknown(text):
    assert parse_fee(text) == FeeStatus.UNKNOWN


# --- yes / no ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("Có", True), ("Không", False), (" CÓ ", True), (nfd("Không"), False)])
def test_co_and_khong(text, expected):
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize("text", ["", "Co", "Một phần", None])
def test_other_yes_no_texts_are_unknown(text):
    assert parse_yes_no(text) is None


@pytest.mark.parametrize("text", [
    "Trực tuyến",
    unicodedata.normalize("NFD", "  TRỰC   TUYẾN "),
    "trực\u00a0tuyến",        # a no-break space, as pages copied from a word processor carry
    "Trực\ttuyến\n",
])
def test_labels_match_whatever_their_case_spacing_or_unicode_form(text):
    assert folded(text) == "trực tuyến"


def test_folding_keeps_letters_that_differ_only_in_their_accents():
    assert folded("Có") != folded("Cỏ") and folded("ngày") != folded("ngay")

"""The simulated province's fixed reference data: its agencies and its catalogue of procedures.

The catalogue is written to exercise every phrasing the monitor must understand: every form of
the time-limit grammar and of the fee text in sources.md, a few texts outside the grammar, the
three service levels, fee-bearing procedures with and without online payment, and two detail
pages that lack a label. Each procedure also carries the truth behind its text (the time limit
and the fees a dossier is charged), which the generator uses to build realistic dossiers.
"""

from dataclasses import dataclass

ROOT = "000.00.00.H59"
PROVINCE_SUFFIX = ".000.00.00.H59"  # some systems write procedure codes as 1.002467.000.00.00.H59


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    parent: str  # "" for the province root
    level: str  # "tinh" | "huyen" | "xa"


@dataclass(frozen=True)
class TimeLimit:
    """What a time-limit text means: `amount` working days, calendar days or working hours,
    or the same day (amount unused)."""

    kind: str  # "working_days" | "calendar_days" | "working_hours" | "same_day"
    amount: int = 0


@dataclass(frozen=True)
class Fee:
    code: str
    name: str
    amount: int  # VND


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field: str
    agency: str
    time_limit_text: str
    time_limit: TimeLimit | None  # None: the text is outside the grammar
    fee_text: str
    fees: tuple[Fee, ...]  # what a dossier is charged; () for a free procedure
    level: str  # "Toàn trình" | "Một phần" | "Cung cấp thông tin"
    full_online_eligible: bool
    online_payment: bool
    volume: int  # relative number of dossiers a day, for the generator
    missing_label: str | None = None  # a label its detail page lacks

    @property
    def online(self) -> bool:
        """Whether applicants can submit online at all."""
        return self.level != "Cung cấp thông tin"


AGENCIES = (
    Agency(ROOT, "Ủy ban nhân dân tỉnh", "", "tinh"),
    Agency("000.00.12.H59", "Sở Giáo dục và Đào tạo", ROOT, "tinh"),
    Agency("000.00.14.H59", "Sở Xây dựng", ROOT, "tinh"),
    Agency("000.00.16.H59", "Sở Y tế", ROOT, "tinh"),
    Agency("000.00.22.H59", "Sở Tài chính", ROOT, "tinh"),
    Agency("000.00.27.H59", "Sở Nông nghiệp và Môi trường", ROOT, "tinh"),
    Agency("000.00.31.H59", "Sở Tư pháp", ROOT, "tinh"),
    Agency("000.29.31.H59", "UBND xã Châu Thành", ROOT, "xa"),
    Agency("000.29.32.H59", "UBND phường An Hòa", ROOT, "xa"),
    Agency("000.30.00.H59", "UBND huyện Tân Phú", ROOT, "huyen"),
    Agency("000.30.05.H59", "UBND xã Phú Lâm", "000.30.00.H59", "xa"),
)

WD, CD, WH = "working_days", "calendar_days", "working_hours"
SAME_DAY = TimeLimit("same_day")
FULL, PART, INFO = "Toàn trình", "Một phần", "Cung cấp thông tin"


def _fee(name: str, amount: int, code: str = "LP01") -> tuple[Fee, ...]:
    return (Fee(code, name, amount),)


# One row per procedure: code, name, field, agency, time-limit text and meaning, fee text and
# charges, service level, eligible for full online service, online payment, volume.
PROCEDURES = tuple(
    Procedure(*row)
    for row in (
        # Sở Y tế
        ("1.002467", "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", "Khám bệnh, chữa bệnh",
         "000.00.16.H59", "10 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ", TimeLimit(WD, 10),
         "Phí thẩm định: 360.000 đồng/hồ sơ",
         _fee("Phí thẩm định cấp chứng chỉ hành nghề", 360_000), FULL, True, True, 3),
        ("1.003555", "Cấp giấy phép hoạt động đối với phòng khám đa khoa", "Khám bệnh, chữa bệnh",
         "000.00.16.H59", "45 NGÀY LÀM VIỆC", TimeLimit(WD, 45), "5.700.000 đồng/hồ sơ",
         _fee("Phí thẩm định cấp giấy phép hoạt động", 5_700_000), PART, False, True, 1),
        ("1.001987", "Cấp lại chứng chỉ hành nghề dược", "Dược", "000.00.16.H59",
         "05 ngày làm việc", TimeLimit(WD, 5), "Phí thẩm định: 500.000 đồng",
         _fee("Phí thẩm định cấp chứng chỉ hành nghề dược", 500_000), FULL, True, False, 2),
        ("1.004616", "Cấp giấy chứng nhận đủ điều kiện kinh doanh dược", "Dược", "000.00.16.H59",
         "20 Ngày làm việc", TimeLimit(WD, 20), "Theo quy định tại Thông tư số 85/2019/TT-BTC",
         _fee("Phí thẩm định điều kiện kinh doanh", 4_000_000), PART, True, False, 1),
        ("1.002000", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
         "An toàn thực phẩm", "000.00.16.H59", "15 ngày làm việc", TimeLimit(WD, 15),
         "1.000.000 đồng/cơ sở", _fee("Phí thẩm định cơ sở", 1_000_000), FULL, True, True, 2),
        # Sở Giáo dục và Đào tạo
        ("1.005092", "Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục",
         "Giáo dục và Đào tạo", "000.00.12.H59", "20 ngày làm việc", TimeLimit(WD, 20), "Không",
         (), PART, False, False, 1),
        ("1.005088", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "Văn bằng, chứng chỉ",
         "000.00.12.H59",
         "Trong ngày; trường hợp nhận sau 15 giờ thì trả trong ngày làm việc tiếp theo",
         SAME_DAY, "Không thu", (), FULL, True, False, 3),
        ("1.001914", "Chỉnh sửa nội dung văn bằng, chứng chỉ", "Văn bằng, chứng chỉ",
         "000.00.12.H59", "05 ngày làm việc", TimeLimit(WD, 5), "Không", (), PART, True,
         False, 1),
        ("2.001842", "Công nhận trường tiểu học đạt chuẩn quốc gia", "Giáo dục tiểu học",
         "000.00.12.H59", "30 ngày", TimeLimit(CD, 30), "", (), INFO, False, False, 1),
        # Sở Xây dựng
        ("1.009972", "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II",
         "Hoạt động xây dựng", "000.00.14.H59", "20 ngày kể từ ngày nhận đủ hồ sơ hợp lệ",
         TimeLimit(CD, 20), "Lệ phí: 100.000 đồng; Phí: 20.000đ",
         (Fee("LP01", "Lệ phí cấp giấy phép xây dựng", 100_000),
          Fee("PH01", "Phí thẩm định", 20_000)), PART, False, True, 2),
        ("1.009974", "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng",
         "Hoạt động xây dựng", "000.00.14.H59", "30 NGÀY", TimeLimit(CD, 30),
         "0,05% tổng mức đầu tư", _fee("Phí thẩm định dự án đầu tư xây dựng", 2_500_000),
         PART, False, False, 1),
        ("1.009981", "Cấp chứng chỉ hành nghề hoạt động xây dựng", "Hoạt động xây dựng",
         "000.00.14.H59", "1,5 ngày", None, "300.000 đồng/chứng chỉ",
         _fee("Lệ phí cấp chứng chỉ hành nghề", 300_000), FULL, True, True, 1),
        ("1.010005", "Cấp giấy phép di dời công trình", "Hoạt động xây dựng", "000.00.14.H59",
         "Theo quy định của pháp luật", None, "Miễn phí", (), PART, False, False, 1),
        # Sở Tài chính
        ("2.002154", "Đăng ký thành lập doanh nghiệp tư nhân",
         "Thành lập và hoạt động doanh nghiệp", "000.00.22.H59", "  03 ngày làm việc",
         TimeLimit(WD, 3), "50.000 đồng/hồ sơ", _fee("Lệ phí đăng ký doanh nghiệp", 50_000),
         FULL, True, True, 3),
        ("2.001610", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
         "Thành lập và hoạt động doanh nghiệp", "000.00.22.H59",
         "03 ngày làm việc kể từ ngày nhận được hồ sơ hợp lệ", TimeLimit(WD, 3), "Miễn lệ phí",
         (), FULL, True, False, 2),
        ("1.005389", "Thẩm định dự án đầu tư sử dụng vốn ngân sách", "Đầu tư", "000.00.22.H59",
         "15 ngày", TimeLimit(CD, 15), "1.500.000 VNĐ",
         _fee("Phí thẩm định dự án", 1_500_000), PART, False, False, 1),
        ("2.000013", "Cấp mã số đơn vị có quan hệ với ngân sách", "Quản lý ngân sách",
         "000.00.22.H59", "8 giờ làm việc", TimeLimit(WH, 8), "Không", (), FULL, True, False, 1),
        # Sở Nông nghiệp và Môi trường
        ("1.004257", "Cấp giấy phép khai thác, sử dụng nước mặt", "Tài nguyên nước",
         "000.00.27.H59",
         "30 ngày làm việc; trường hợp phải lấy ý kiến cộng đồng: 45 ngày làm việc",
         TimeLimit(WD, 30), "Phí thẩm định: 1.000.000 đồng/hồ sơ",
         _fee("Phí thẩm định đề án khai thác nước", 1_000_000), PART, False, True, 1),
        ("1.000798", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
         "Đất đai", "000.00.27.H59", "10 ngày làm việc", TimeLimit(WD, 10),
         "Lệ phí: 25.000 đồng/giấy; Phí: 100.000 đồng",
         (Fee("LP01", "Lệ phí cấp giấy chứng nhận", 25_000),
          Fee("PH01", "Phí thẩm định hồ sơ", 100_000)), PART, True, True, 3),
        ("1.004227", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản",
         "Quản lý chất lượng nông lâm thủy sản", "000.00.27.H59", "20 ngày làm việc",
         TimeLimit(WD, 20), "Miễn phí", (), FULL, True, False, 1),
        ("1.003596", "Xác nhận đăng ký kế hoạch bảo vệ môi trường", "Môi trường",
         "000.00.27.H59", "10 ngày làm việc", TimeLimit(WD, 10), "Không", (), FULL, True,
         False, 1, "Thanh toán trực tuyến"),
        # Sở Tư pháp
        ("2.000635", "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam", "Lý lịch tư pháp",
         "000.00.31.H59", "10 ngày làm việc", TimeLimit(WD, 10), "200.000 đồng/lần/người",
         _fee("Phí cung cấp thông tin lý lịch tư pháp", 200_000), FULL, True, True, 3),
        ("1.001071", "Đăng ký hoạt động của văn phòng công chứng", "Công chứng", "000.00.31.H59",
         "10 ngày làm việc kể từ ngày nhận đủ hồ sơ", TimeLimit(WD, 10), "1.000.000 đồng/hồ sơ",
         _fee("Phí thẩm định điều kiện hoạt động", 1_000_000), PART, False, False, 1),
        ("2.001263", "Cấp thẻ công chứng viên", "Công chứng", "000.00.31.H59",
         "15 ngày làm việc; trường hợp phải xác minh: 10 ngày làm việc", TimeLimit(WD, 15),
         "Không thu", (), PART, False, False, 1),
        ("1.008926", "Cấp bản sao trích lục hộ tịch", "Hộ tịch", "000.00.31.H59",
         "0,5 ngày làm việc", TimeLimit(WH, 4), "8.000 đồng/bản",
         _fee("Lệ phí cấp bản sao trích lục", 8_000), FULL, True, True, 2),
        # Ủy ban nhân dân tỉnh
        ("1.009994", "Quyết định chủ trương đầu tư dự án", "Đầu tư", ROOT, "35 ngày làm việc",
         TimeLimit(WD, 35), "Không", (), INFO, False, False, 1),
        ("1.008004", "Cho phép thành lập hội", "Tổ chức phi chính phủ", ROOT, "30 ngày làm việc",
         TimeLimit(WD, 30), "Không", (), PART, False, False, 1, "Thời hạn giải quyết"),
        # UBND xã Châu Thành
        ("2.000908", "Chứng thực chữ ký trong các giấy tờ, văn bản", "Chứng thực",
         "000.29.31.H59", "Trong ngày", SAME_DAY, "10.000 đồng/trường hợp",
         _fee("Lệ phí chứng thực chữ ký", 10_000), PART, True, True, 6),
        ("1.001193", "Đăng ký khai sinh", "Hộ tịch", "000.29.31.H59", "Ngay trong ngày",
         SAME_DAY, "Miễn lệ phí", (), FULL, True, False, 4),
        ("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực",
         "000.29.31.H59", "4 giờ", TimeLimit(WH, 4), "2.000 đồng/trang",
         _fee("Lệ phí chứng thực bản sao", 10_000), PART, False, False, 6),
        # UBND phường An Hòa
        ("1.001022", "Đăng ký kết hôn", "Hộ tịch", "000.29.32.H59",
         "Ngay trong ngày; trường hợp cần xác minh thì không quá 05 ngày làm việc", SAME_DAY,
         "Miễn lệ phí", (), PART, False, False, 2),
        ("1.000656", "Đăng ký khai tử", "Hộ tịch", "000.29.32.H59", "1,5 ngày làm việc",
         TimeLimit(WH, 12), "Không", (), FULL, True, False, 2),
        ("1.003583", "Cấp giấy xác nhận tình trạng hôn nhân", "Hộ tịch", "000.29.32.H59",
         "03 ngày làm việc", TimeLimit(WD, 3), "Lệ phí: 15.000 đồng",
         _fee("Lệ phí cấp giấy xác nhận", 15_000), FULL, True, True, 3),
        # UBND huyện Tân Phú
        ("1.001612", "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
         "Thành lập và hoạt động của hộ kinh doanh", "000.30.00.H59", "03 ngày làm việc",
         TimeLimit(WD, 3), "100.000đ", _fee("Lệ phí đăng ký hộ kinh doanh", 100_000), FULL,
         True, True, 3),
        ("1.004873", "Cấp giấy phép bán lẻ rượu", "Lưu thông hàng hóa trong nước",
         "000.30.00.H59", "10 ngày làm việc", TimeLimit(WD, 10),
         "Phí thẩm định: 1.200.000 đồng", _fee("Phí thẩm định kinh doanh rượu", 1_200_000),
         PART, True, False, 1),
        ("1.009789", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Hoạt động xây dựng",
         "000.30.00.H59", "15 ngày", TimeLimit(CD, 15), "75.000 đồng/giấy phép",
         _fee("Lệ phí cấp giấy phép xây dựng", 75_000), PART, False, True, 3),
        ("1.001776", "Thực hiện trợ cấp xã hội hằng tháng", "Bảo trợ xã hội", "000.30.00.H59",
         "16 giờ", TimeLimit(WH, 16), "Không", (), INFO, False, False, 1),
        # UBND xã Phú Lâm
        ("1.000894", "Đăng ký lại khai sinh", "Hộ tịch", "000.30.05.H59", "05 ngày làm việc",
         TimeLimit(WD, 5), "Miễn lệ phí", (), FULL, True, False, 2),
        ("2.000986", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
         "Chứng thực", "000.30.05.H59", "02 ngày làm việc", TimeLimit(WD, 2),
         "50.000 đồng/hợp đồng", _fee("Lệ phí chứng thực hợp đồng", 50_000), PART, False,
         False, 2),
        ("1.004859", "Công nhận gia đình văn hóa", "Văn hóa cơ sở", "000.30.05.H59",
         "05 ngày làm việc", TimeLimit(WD, 5), "Không", (), INFO, False, False, 1),
    )
)

# Codes some dossiers are recorded with although no procedure has them (bad data).
UNKNOWN_PROCEDURE_CODES = ("1.099901", "2.099902")

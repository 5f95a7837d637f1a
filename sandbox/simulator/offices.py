"""Who handles dossiers inside each agency of the simulated province: its departments and its
officers, as the processing steps of the national sync stream name them.

Fixed reference data like the catalogue: the same whatever the province seed. Some agencies'
systems write the officer with their title and department in `NguoiXuLy`, which makes names
longer than the 50 characters a sloppy sender keeps.
"""

import random
from dataclasses import dataclass

from sandbox.simulator.applicants import applicant_name
from sandbox.simulator.catalogue import AGENCIES, Agency

RECEPTION = {"tinh": "Bộ phận Tiếp nhận và Trả kết quả", "huyen": "Bộ phận Một cửa",
             "xa": "Bộ phận Một cửa"}
LEADERSHIP = {"tinh": "Ban Giám đốc", "huyen": "Lãnh đạo UBND huyện", "xa": "Lãnh đạo UBND xã"}
LEADER_TITLES = {"tinh": "Phó Giám đốc", "huyen": "Phó Chủ tịch UBND huyện",
                 "xa": "Chủ tịch UBND xã"}
DEPARTMENTS = {
    "000.00.00.H59": ("Phòng Tổng hợp", "Phòng Kinh tế ngành"),
    "000.00.12.H59": ("Phòng Giáo dục chuyên nghiệp", "Phòng Khảo thí và Kiểm định chất lượng"),
    "000.00.14.H59": ("Phòng Quản lý hoạt động xây dựng", "Phòng Kinh tế và Vật liệu xây dựng"),
    "000.00.16.H59": ("Phòng Nghiệp vụ Y", "Phòng Nghiệp vụ Dược"),
    "000.00.22.H59": ("Phòng Đăng ký kinh doanh", "Phòng Quản lý ngân sách"),
    "000.00.27.H59": ("Phòng Tài nguyên nước", "Phòng Đất đai"),
    "000.00.31.H59": ("Phòng Hành chính - Tư pháp", "Phòng Bổ trợ tư pháp"),
    "000.29.31.H59": ("Công chức Tư pháp - Hộ tịch", "Công chức Văn phòng - Thống kê"),
    "000.29.32.H59": ("Công chức Tư pháp - Hộ tịch", "Công chức Văn phòng - Thống kê"),
    "000.30.00.H59": ("Phòng Kinh tế", "Phòng Tư pháp"),
    "000.30.05.H59": ("Công chức Tư pháp - Hộ tịch", "Công chức Văn hóa - Xã hội"),
}
# Agencies whose systems write "name - title, department" as the officer.
WRITES_TITLE_IN_NAME = frozenset({"000.00.14.H59", "000.00.27.H59", "000.30.00.H59"})


@dataclass(frozen=True)
class Officer:
    name: str  # as the system writes it in NguoiXuLy
    title: str  # ChucDanh
    department: str  # PhongBanXuLy


@dataclass(frozen=True)
class Office:
    """The people of one agency, by role."""

    reception: tuple[Officer, ...]  # the one-stop counter
    specialists: tuple[Officer, ...]  # the departments' staff, who appraise
    leaders: tuple[Officer, ...]  # who sign results, refusals and stops


def _office(agency: Agency) -> Office:
    rng = random.Random(f"office|{agency.code}")
    long_names = agency.code in WRITES_TITLE_IN_NAME

    def officer(title: str, department: str) -> Officer:
        name = applicant_name(rng)
        if long_names:
            name = f"{name} - {title}, {department}"
        return Officer(name, title, department)

    reception = tuple(officer("Công chức Một cửa" if agency.level != "tinh" else "Cán bộ tiếp nhận",
                              RECEPTION[agency.level]) for _ in range(2))
    specialists = tuple(officer(rng.choice(("Chuyên viên", "Chuyên viên chính"))
                                if agency.level != "xa" else "Công chức", department)
                        for department in DEPARTMENTS[agency.code] for _ in range(2))
    leaders = tuple(officer(LEADER_TITLES[agency.level], LEADERSHIP[agency.level]) for _ in range(2))
    return Office(reception, specialists, leaders)


OFFICES: dict[str, Office] = {agency.code: _office(agency) for agency in AGENCIES}

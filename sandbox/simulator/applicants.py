"""Applicants: Vietnamese names with their diacritics, and 12-digit citizen ID numbers."""

import random

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Mai")
MIDDLE_NAMES = ("Văn", "Thị", "Minh", "Thanh", "Ngọc", "Hữu", "Đức", "Quang", "Thu", "Kim",
                "Xuân", "Hoài", "Bảo", "Gia", "Thị Thu", "Văn Hữu")
GIVEN_NAMES = ("Anh", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa",
               "Hồng", "Hùng", "Hương", "Khoa", "Lan", "Linh", "Lộc", "Long", "Mai", "Nam",
               "Nga", "Ngọc", "Nhung", "Phong", "Phúc", "Phương", "Quân", "Quỳnh", "Sơn",
               "Tài", "Tâm", "Thảo", "Thắng", "Thủy", "Trang", "Trinh", "Tuấn", "Uyên",
               "Việt", "Vy", "Yến", "Đạt", "Ánh", "Hậu", "Khánh", "Lực", "Tú", "Ưng")

PROVINCE_ID_PREFIX = "082"  # the province code that starts its citizens' ID numbers


def applicant_name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def citizen_id(rng: random.Random) -> str:
    """Province code, then a century-and-sex digit (0 to 3) and eight more digits."""
    return f"{PROVINCE_ID_PREFIX}{rng.randrange(4 * 10**8):09d}"

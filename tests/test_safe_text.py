"""reports/safe_text.py: each exit's rule for text from the store."""
from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from monitor.terminal import terminal_text
from reports.safe_text import cell_text, distinct_file_stem, file_name_part, header_text, mailbox

CONTROLS = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))


def test_a_cell_shows_the_characters_xml_forbids_as_control_pictures():
    assert cell_text("HS-\x0b01\x1b[31m") == "HS-␋01␛[31m"
    assert cell_text("dòng 1\ndòng 2\tcột") == "dòng 1\ndòng 2\tcột"   # allowed in XML: kept
    assert cell_text(12) == 12 and cell_text(None) is None


def test_the_terminal_sees_every_control_character_one_for_one():
    assert terminal_text("\x1b[31mđỏ\x1b[0m\r\n\x9b2J") == "␛[31mđỏ␛[0m␍␊\ufffd2J"
    assert terminal_text("\x7f") == "␡"
    text = "".join(CONTROLS)
    assert len(terminal_text(text)) == len(text)   # columns stay aligned


def test_a_header_is_one_line_with_controls_folded_to_single_spaces():
    assert header_text("Sở Tư pháp\r\nBcc: x@y") == "Sở Tư pháp Bcc: x@y"
    assert header_text("  a\x0b\x1b b\u2028c ") == "a b c"


def test_an_address_keeps_a_display_name_with_commas_and_quotes():
    address = mailbox('"Văn phòng \\"Một cửa\\", UBND" <vp@example.gov.vn>')
    assert (address.display_name, address.addr_spec) == ('Văn phòng "Một cửa", UBND', "vp@example.gov.vn")
    assert mailbox("vp@example.gov.vn\r\n").addr_spec == "vp@example.gov.vn"


def test_a_file_name_part_has_no_separator_no_dot_dot_and_no_control():
    assert file_name_part("giamdoc.syt@example.gov.vn") == "giamdoc.syt_example.gov.vn"
    assert file_name_part("../../etc/passwd") == "_._etc_passwd"
    assert file_name_part("..") == "_"
    assert file_name_part("a\x00b/c\\d") == "a_b_c_d"


def test_a_plain_agency_code_is_its_own_stem_and_any_other_text_gets_a_hash():
    assert distinct_file_stem("000.00.31.H59") == "000.00.31.H59"
    stem = distinct_file_stem("000.00.31.h59")
    assert stem.startswith("000_00_31_h59_") and len(stem) == len("000_00_31_h59_") + 12
    assert distinct_file_stem("index") != "index" and distinct_file_stem("..").startswith("x_")


SAFE_CHARACTERS = set(string.ascii_letters + string.digits + ".-_")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=6, unique=True))
def test_different_texts_get_different_safe_stems_even_ignoring_case(texts):
    stems = [distinct_file_stem(text) for text in texts]
    assert len({stem.casefold() for stem in stems}) == len(texts)
    for stem in stems:
        assert set(stem) <= SAFE_CHARACTERS and ".." not in stem and not stem.startswith((".", "-"))


@settings(max_examples=40, deadline=None)
@given(st.text())
def test_no_text_leaves_a_forbidden_character_in_a_cell_or_a_control_on_the_terminal(text):
    assert not ILLEGAL_CHARACTERS_RE.search(cell_text(text))
    assert not any(c in CONTROLS for c in terminal_text(text))
    assert not any(c in CONTROLS for c in header_text(text))

"""The API kit every addon builds its GraphQL with: ids, text input, cursors and page sizes."""

import pytest

from addon.base.api_kit import (
    check_page_size,
    clean_text,
    decode_cursor,
    encode_cursor,
    id_argument,
    parse_id,
)
from addon.base.db import MAX_ID
from addon.base.errors import CodedError, ValidationFailed
from addon.base.i18n import Message


@pytest.mark.parametrize("value, expected", [("12", 12), (" 7 ", 7), (3, 3)])
def test_ids_are_parsed(value, expected):
    assert parse_id(value, "objectId") == expected
    assert id_argument(value) == expected


@pytest.mark.parametrize("value", ["abc", "", None, "1.5"])
def test_malformed_ids(value):
    with pytest.raises(ValidationFailed) as caught:
        parse_id(value, "objectId")
    assert caught.value.problems[0].code == "INVALID" and caught.value.problems[0].field == "objectId"
    with pytest.raises(CodedError) as coded:
        id_argument(value)
    assert coded.value.extensions["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, 10**30])
def test_ids_no_row_can_have_name_nothing(value):
    assert id_argument(value) is None


def test_text_is_trimmed_and_checked():
    assert clean_text("  Studio  ", "name", Message("Name"), 10) == "Studio"
    assert clean_text("   ", "siteId", Message("Site ID"), 10, required=False) is None
    with pytest.raises(ValidationFailed) as caught:
        clean_text(" ", "name", Message("Name"), 10)
    assert caught.value.problems[0].code == "REQUIRED"
    problems = []
    assert clean_text("x" * 11, "name", Message("Name"), 10, problems=problems) == "x" * 11
    clean_text(None, "code", Message("Code"), 10, problems=problems)
    assert [(p.code, p.field) for p in problems] == [("TOO_LONG", "name"), ("REQUIRED", "code")]


def test_cursors_round_trip_and_belong_to_one_list():
    cursor = encode_cursor("booking", "2030-06-01T13:00:00+00:00", 5)
    assert decode_cursor(cursor, "booking", 2) == ["2030-06-01T13:00:00+00:00", "5"]
    for wrong in (encode_cursor("log", 5), "not a cursor", "", encode_cursor("booking", 1)):
        with pytest.raises(CodedError) as caught:
            decode_cursor(wrong, "booking", 2)
        assert caught.value.extensions["code"] == "BAD_USER_INPUT"


def test_page_sizes():
    assert check_page_size(1, 50) == 1 and check_page_size(50, 50) == 50
    for first in (0, 51, -3):
        with pytest.raises(CodedError):
            check_page_size(first, 50)

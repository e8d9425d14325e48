"""The API kit every addon builds its GraphQL with: ids (global and bare), text input; the
connections (cursors, page sizes)."""

import pytest

from addon.base.core.db import MAX_ID
from addon.base.core.errors import CodedError, ValidationFailed
from addon.base.core.i18n import Message
from addon.base.kit.basics import (
    clean_text,
    global_id,
    id_argument,
    parse_id,
    split_global_id,
)
from addon.base.kit.connections import Ordering, instant_key, int_key, page_request


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


class _Row:
    def __init__(self, start, ident):
        self.start_at, self.id = start, ident


def test_cursors_round_trip_and_belong_to_one_list_and_order():
    from datetime import datetime, timezone

    from addon.booking.public import Booking

    by_start = Ordering("booking:START:ASC", (instant_key(Booking.start_at), int_key(Booking.id)))
    row = _Row(datetime(2030, 6, 1, 15, tzinfo=timezone.utc), 5)
    assert by_start.read(by_start.cursor(row)) == [row.start_at, 5]
    backwards = Ordering("booking:START:DESC", by_start.keys, descending=True)
    log = Ordering("log", (int_key(Booking.id),), descending=True)
    for wrong in (backwards.cursor(row), log.cursor(row), "not a cursor", "", "W10", "WyJib29raW5nOlNUQVJUOkFTQyIsMSwyXQ"):
        with pytest.raises(CodedError) as caught:
            by_start.read(wrong)
        assert caught.value.extensions["code"] == "BAD_USER_INPUT"


def test_page_sizes_and_directions():
    assert page_request(None, None, None, None, 500).size == 50, "the default page"
    assert page_request(None, None, None, None, 20).size == 20, "never above the maximum"
    forward = page_request(1, "a", None, None, 50)
    assert (forward.size, forward.backward, forward.after) == (1, False, "a")
    backward = page_request(None, None, 50, "b", 50)
    assert (backward.size, backward.backward, backward.before) == (50, True, "b")
    for first, last in ((0, None), (51, None), (-3, None), (None, 0), (None, 51), (5, 5)):
        with pytest.raises(CodedError) as caught:
            page_request(first, None, last, None, 50)
        assert caught.value.extensions["code"] == "BAD_USER_INPUT"


def test_global_ids_name_their_type():
    booking = global_id("Booking", 12)
    assert booking == "Qm9va2luZzoxMg" and "=" not in booking
    assert split_global_id(booking) == ("Booking", "12") and split_global_id("12") == (None, "12")
    assert parse_id(booking, "bookingId", "Booking") == 12 and id_argument(booking, "Booking") == 12
    assert parse_id("12", "bookingId", "Booking") == 12, "a bare row id still works"
    with pytest.raises(ValidationFailed) as caught:
        parse_id(global_id("Customer", 12), "bookingId", "Booking")
    problem = caught.value.problems[0]
    assert (problem.code, problem.field) == ("INVALID", "bookingId") and "Customer" in problem.message
    with pytest.raises(CodedError) as coded:
        id_argument(global_id("Customer", 12), "Booking")
    assert coded.value.extensions["code"] == "BAD_USER_INPUT"
    assert id_argument(global_id("Booking", MAX_ID + 1), "Booking") is None

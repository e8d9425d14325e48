"""Language negotiation in one place (Babel), Accept-Language, and translatable messages."""

from datetime import datetime, timezone

import pytest

from addon.base.core.i18n import (
    Message,
    choose_language,
    is_language_code,
    language_from_header,
    match_language,
    parse_accept_language,
    translate,
)
from addon.door_access.guest_message import guest_message

AVAILABLE = ("de", "en", "fr", "nl")


@pytest.mark.parametrize("code, expected", [
    ("nl", "nl"), ("NL", "nl"), ("nl-NL", "nl"), ("nl_BE", "nl"), ("de-CH", "de"), ("fr_CA", "fr"),
    ("en-GB", "en"), (" de ", "de"),
])
def test_customer_language_forms_are_understood(code, expected):
    assert match_language(code, AVAILABLE) == expected


@pytest.mark.parametrize("code", ["ar", "he", "fa-IR", "zh-Hant-TW", "ja", "ru", "xx", "", None, "12", "nl--NL!"])
def test_unsupported_rtl_non_latin_or_garbage_languages_fall_back_to_the_default(code):
    choice = choose_language(code, "nl", AVAILABLE)
    assert (choice.language, choice.source) == ("nl", "default")


def test_customer_language_wins_and_reason_says_so():
    choice = choose_language("de-AT", "nl", AVAILABLE)
    assert (choice.language, choice.source) == ("de", "customer")
    assert "de-AT" in str(choice.reason)


def test_unusable_default_falls_back_to_english():
    choice = choose_language(None, "xx", AVAILABLE)
    assert (choice.language, choice.source) == ("en", "fallback")


@pytest.mark.parametrize("code, valid", [("nl", True), ("de", True), ("NL", True), ("xx", False), ("nl-NL", False),
                                         ("dutch", False), ("", False)])
def test_default_language_must_be_a_two_letter_code(code, valid):
    assert is_language_code(code) is valid


def test_accept_language_quality_order():
    assert parse_accept_language("fr;q=0.5, de-CH, en;q=0.8, *;q=0.1") == ["de-CH", "en", "fr"]
    assert language_from_header("es, fr;q=0.9, nl;q=0.8", AVAILABLE) == "fr"
    assert language_from_header("ar, he", AVAILABLE) == "en"
    assert language_from_header(None, AVAILABLE) == "en"
    assert language_from_header("nl;q=0, de", AVAILABLE) == "de"


def test_message_translates_nested_values_in_the_same_language():
    message = Message("{label} is required.", {"label": Message("Customer name")})
    assert message.text("nl") == "Naam klant is verplicht."
    assert message.text("de") == "Name des Kunden ist erforderlich."
    assert str(message) == "Customer name is required."
    assert Message.from_json(message.as_json()).text("fr") == "Nom du client est obligatoire."


def test_unknown_message_is_shown_as_written():
    assert translate("nl", "Not in any catalog {x}", x=1) == "Not in any catalog 1"


@pytest.mark.parametrize("language, expected", [
    ("nl", "Uw deurtoegang voor Studio 1 is geldig van vrijdag 12 juni 2026 14:30 tot zondag 14 juni 2026 10:00."),
    ("de", "Ihr Türzugang für Studio 1 gilt von Freitag, 12. Juni 2026 14:30 bis Sonntag, 14. Juni 2026 10:00."),
    ("fr", "Votre accès aux portes de Studio 1 est valable du vendredi 12 juin 2026 14:30 au dimanche 14 juin 2026 10:00."),
])
def test_guest_message_in_the_guests_language_and_the_objects_local_time(language, expected):
    # 12:30 UTC is 14:30 in Amsterdam (summer time): local wall time, never UTC.
    start = datetime(2026, 6, 12, 12, 30, tzinfo=timezone.utc)
    end = datetime(2026, 6, 14, 8, 0, tzinfo=timezone.utc)
    assert guest_message(language, "Studio 1", start, end, "Europe/Amsterdam") == expected


def test_guest_message_follows_the_objects_time_zone():
    start = datetime(2026, 1, 9, 12, 0, tzinfo=timezone.utc)
    end = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
    assert "13:00" in guest_message("nl", "Hut", start, end, "Europe/Zurich")
    assert "07:00" in guest_message("nl", "Hut", start, end, "America/New_York")

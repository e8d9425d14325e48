"""The short text sent to the guest with the door link, in the guest's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from addon.base.i18n import translate

DATE_FORMAT = "EEEE d MMMM y HH:mm"


def local_text(moment: datetime, time_zone: str, language: str) -> str:
    """A moment as the guest reads it: local wall time of the object, words of their language."""
    return format_datetime(moment.astimezone(ZoneInfo(time_zone)), DATE_FORMAT, locale=language)


def guest_message(language: str, object_name: str, valid_from: datetime, valid_to: datetime, time_zone: str) -> str:
    return translate(
        language,
        "Your door access for {object} is valid from {start} until {end}.",
        object=object_name,
        start=local_text(valid_from, time_zone, language),
        end=local_text(valid_to, time_zone, language),
    )

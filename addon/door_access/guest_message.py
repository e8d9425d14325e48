"""The short text sent to the guest with the door link, in the guest's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from addon.base.public import translate


def local_text(moment: datetime, time_zone: str, language: str) -> str:
    """A moment as the guest reads it: the object's wall time, in the words and order of the
    guest's language (nl: "vrijdag 12 juni 2026 14:30")."""
    local = moment.astimezone(ZoneInfo(time_zone))
    return f"{format_date(local, format='full', locale=language)} {format_time(local, format='short', locale=language)}"


def guest_message(language: str, object_name: str, valid_from: datetime, valid_to: datetime, time_zone: str) -> str:
    return translate(
        language,
        "Your door access for {object} is valid from {start} until {end}.",
        object=object_name,
        start=local_text(valid_from, time_zone, language),
        end=local_text(valid_to, time_zone, language),
    )

"""The short text sent to the guest with the door link, in the guest's language."""

from __future__ import annotations

from datetime import datetime

from addon.base.public import Moment, translate


def local_text(moment: datetime, time_zone: str, language: str) -> str:
    """A moment as the guest reads it: the object's wall time, in the words and order of the
    guest's language (nl: "vrijdag 12 juni 2026 14:30")."""
    return Moment(moment, time_zone).text(language)


def guest_message(language: str, object_name: str, valid_from: datetime, valid_to: datetime, time_zone: str) -> str:
    return translate(
        language,
        "Your door access for {object} is valid from {start} until {end}.",
        object=object_name,
        start=local_text(valid_from, time_zone, language),
        end=local_text(valid_to, time_zone, language),
    )

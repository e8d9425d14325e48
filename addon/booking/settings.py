"""Settings of the booking addon (environment variables, listed in the README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from addon.base.public import Env, SettingsError

# Bookings must lie inside this window (instants, UTC): far enough from the ends of what dates
# can hold that no date arithmetic on a booking (windows, time zones, messages) can overflow.
EARLIEST_DATE = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_DATE = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
# A longer maximum than the whole supported window could never refuse anything.
LONGEST_POSSIBLE_DAYS = (LATEST_DATE - EARLIEST_DATE).days + 1


@dataclass(frozen=True)
class BookingSettings:
    max_booking_days: int = 366

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "BookingSettings":
        env = Env(environ)
        days = env.int("IRESERVE_MAX_BOOKING_DAYS", cls.max_booking_days, minimum=1)
        if days > LONGEST_POSSIBLE_DAYS:
            raise SettingsError(f"IRESERVE_MAX_BOOKING_DAYS must be at most {LONGEST_POSSIBLE_DAYS} "
                                f"(the supported dates, 2000 to 2200), got {days}")
        return cls(max_booking_days=days)


def booking_settings(host) -> BookingSettings:
    return host.settings_of(BookingSettings)

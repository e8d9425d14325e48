"""Throttling of failed sign-ins, per account (the e-mail address given) and per client address.

After ``free`` failures every further attempt waits 2, 4, 8 … seconds (counted from the last
failure); at ``lockout`` failures the key is locked for the lock-out window. Failures older than
that window are forgiven. The counts live in the database (``base_signin_throttle``) so that all
processes of a deployment share them, and time is the host's clock, so tests move it instead of
sleeping.

An attempt is counted *before* its password is checked (:func:`reserve`) and given back when it
succeeds (:func:`succeeded`): attempts sent in parallel cannot slip past the limit together. The
account key is the e-mail address as typed (normalised), whether or not such a user exists, so the
throttle behaves the same for unknown addresses and says nothing about which ones exist. The
table keeps only its SHA-256 (:func:`account_key`), never the address: a guest's address typed
at the sign-in page is personal data, and the erasure of a customer removes their count
(:func:`forget_accounts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .models import SigninThrottle
from .sessions import SignInSettings
from .users import normalize_email

ACCOUNT = "account"
ADDRESS = "address"
ACCOUNT_KEY_PREFIX = "sha256:"


def account_key(email: str) -> str:
    """What the table keeps for an e-mail address: its SHA-256, never the address."""
    return ACCOUNT_KEY_PREFIX + hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()


def _stored(kind: str, key: str) -> str:
    return account_key(key) if kind == ACCOUNT else key


@dataclass(frozen=True)
class Limits:
    free: int  # failures without delay
    lockout: int  # failures that lock the key for the whole window
    window: timedelta  # the lock-out; also how long a failure is remembered

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        if failures >= self.lockout:
            return self.window
        return min(timedelta(seconds=2 ** (failures - self.free + 1)), self.window)


def limits(settings: SignInSettings) -> dict[str, Limits]:
    window = timedelta(minutes=settings.lockout_minutes)
    return {
        ACCOUNT: Limits(settings.free_failures, settings.lockout_failures, window),
        # Many people may share one address (an office, a NAT): delays start where an account
        # would be locked, and the address locks only after many more failures.
        ADDRESS: Limits(settings.lockout_failures, settings.address_lockout_failures, window),
    }


def _counted(row: SigninThrottle | None, limit: Limits, now: datetime) -> int:
    """The failures that still count at ``now`` (none once the window has passed)."""
    if row is None or now >= row.last_failure_at + limit.window:
        return 0
    return row.failures


def blocked_until(row: SigninThrottle | None, limit: Limits, now: datetime) -> datetime | None:
    failures = _counted(row, limit, now)
    if not failures:
        return None
    until = row.last_failure_at + limit.wait_after(failures)
    return until if until > now else None


@dataclass(frozen=True)
class Reservation:
    """The outcome of :func:`reserve`: refused until ``blocked_until``, or counted (``failures``
    per kind, as this attempt made them)."""

    blocked_until: datetime | None
    failures: dict[str, int]


async def _locked_rows(session: AsyncSession, keys: dict[str, str], now: datetime) -> dict[str, SigninThrottle]:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    keys = {kind: _stored(kind, key) for kind, key in keys.items()}
    for kind, key in keys.items():
        # Make sure the row exists, then lock it: concurrent attempts on one key queue here.
        await session.execute(insert(SigninThrottle).values(kind=kind, key=key, failures=0, last_failure_at=now)
                              .on_conflict_do_nothing(index_elements=["kind", "key"]))
    rows = {}
    for kind, key in keys.items():
        rows[kind] = (await session.execute(
            select(SigninThrottle).where(SigninThrottle.kind == kind, SigninThrottle.key == key)
            .with_for_update().execution_options(populate_existing=True))).scalar_one()
    return rows


async def reserve(session: AsyncSession, keys: dict[str, str], settings: SignInSettings,
                  now: datetime) -> Reservation:
    """Refuse the attempt while any of its keys waits, else count it as a failure in advance
    (in the caller's write transaction)."""
    table = limits(settings)
    rows = await _locked_rows(session, keys, now)
    waits = [until for kind, row in rows.items() if (until := blocked_until(row, table[kind], now))]
    if waits:
        return Reservation(max(waits), {})
    failures = {}
    for kind, row in rows.items():
        row.failures = _counted(row, table[kind], now) + 1
        row.last_failure_at = now
        failures[kind] = row.failures
    await session.flush()
    return Reservation(None, failures)


async def succeeded(session: AsyncSession, keys: dict[str, str], now: datetime) -> None:
    """The attempt was right: the account starts afresh, the address gets its attempt back."""
    rows = await _locked_rows(session, keys, now)
    for kind, row in rows.items():
        if kind == ACCOUNT:
            await session.delete(row)
        else:
            row.failures = max(0, row.failures - 1)
    await session.flush()


def locked_by(reservation: Reservation, settings: SignInSettings) -> list[str]:
    """The kinds this (failed) attempt has just locked out: each lock-out is reported once."""
    table = limits(settings)
    return [kind for kind, count in reservation.failures.items() if count == table[kind].lockout]


async def forget_accounts(session: AsyncSession, emails: Iterable[str]) -> int:
    """Drop the failure counts of these e-mail addresses (a customer's data is erased); how many."""
    keys = {account_key(email) for email in emails if email and email.strip()}
    if not keys:
        return 0
    result = await session.execute(delete(SigninThrottle).where(SigninThrottle.kind == ACCOUNT,
                                                                SigninThrottle.key.in_(keys)))
    return result.rowcount or 0


async def forget_old(session: AsyncSession, settings: SignInSettings, now: datetime) -> None:
    """Drop the counts nobody needs any more (older than the lock-out window)."""
    cutoff = now - timedelta(minutes=settings.lockout_minutes)
    await session.execute(delete(SigninThrottle).where(SigninThrottle.last_failure_at < cutoff))

"""The IQ OTP setup: enter the IQ id, GET PIN (the IQ's current pin and its OTP secret), then
Set PIN (a new 4-digit pin, signed with the one-time password of the current pin). Once Set PIN
succeeded the IQ is activated: the booking system holds the PIN and secret that sign open
commands. Both are stored encrypted and never answered (GET PIN shows the current pin once).

A PIN changed outside the booking system breaks opening: GET PIN notices it (the current pin is
not the one we set) and Salto KS answers ``pin_changed`` to a command signed with the old one;
either way the activation is withdrawn until Set PIN succeeds again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, Message, Problem, SecretKeyMismatch, ValidationFailed, audit, secret_box
from addon.door_access.public import DoorIntegration

from .admin_calls import Prepared, current_row, prepare, problem_of
from .client import IqPin, SaltoKsClient
from .credentials import audited, forget_iq
from .errors import SaltoKsError, SaltoKsOtpRejected, SaltoKsPinChangedElsewhere, SaltoKsTransientError
from .models import SaltoKsCredentials
from .otp import iq_otp, is_pin

IQ_ACTIVATED = Message("IQ is activated")
IQ_NOT_ACTIVATED = Message("IQ is not activated")
PIN_CHANGED_ELSEWHERE = Message("The PIN of the IQ was changed outside the booking system, so the IQ is no longer "
                                "activated: enter a new pin and press Set PIN.")
PIN_FETCHED = Message("Current pin fetched: enter a new pin and press Set PIN.")


def iq_status(row: SaltoKsCredentials | None) -> Message:
    return IQ_ACTIVATED if row is not None and row.iq_activated_at is not None else IQ_NOT_ACTIVATED


def clean_iq_id(value: Any) -> str | None:
    """The IQ id as Salto KS writes it (a UUID, lower case); ``None`` when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return str(uuid.UUID(value.strip())) if isinstance(value, str) else None
    except ValueError:
        pass
    raise ValidationFailed.one("INVALID", "The IQ id is the IQ's UUID from Salto KS, like "
                                          "0b4c6f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b.", "iqId")


# -- GET PIN -----------------------------------------------------------------------------------

@dataclass
class FetchedPin:
    prepared: Prepared
    iq_id: str
    pin: IqPin


async def fetch_pin(host: Host, session: AsyncSession, integration_id, iq_id: Any = None) -> FetchedPin:
    """GET PIN for ``iq_id`` (or the stored IQ id), asked with no transaction open."""
    wanted = clean_iq_id(iq_id)
    prepared = await prepare(host, session, integration_id)
    wanted = wanted or prepared.stored.iq_id
    if not wanted:
        raise ValidationFailed.one("REQUIRED", "{label} is required.", "iqId", label=Message("IQ id"))
    try:
        pin = await prepared.client.get_pin(prepared.stored.site_id, wanted)
    except SaltoKsError as exc:
        raise ValidationFailed(problem_of(exc, prepared.stored, wanted)) from None
    return FetchedPin(prepared, wanted, pin)


async def store_pin(host: Host, session: AsyncSession, fetched: FetchedPin) -> tuple[DoorIntegration, Message]:
    """Keep the IQ id, its current pin and secret (encrypted); withdraw an activation whose PIN
    the IQ no longer has. Returns the integration and what to tell the admin."""
    row = await current_row(session, fetched.prepared, "site_id")
    integration = await session.get(DoorIntegration, row.integration_id)
    box = secret_box(host)
    before = audited(row)
    notice = PIN_FETCHED
    if row.iq_id != fetched.iq_id:
        forget_iq(row)  # another IQ: the old one's activation says nothing about it
    elif row.iq_activated_at is not None and _decrypted(host, row.iq_pin_encrypted) != fetched.pin.pin:
        row.iq_activated_at = None
        notice = PIN_CHANGED_ELSEWHERE
    row.iq_id = fetched.iq_id
    row.iq_pin_encrypted = box.encrypt(fetched.pin.pin)
    row.iq_secret_encrypted = box.encrypt(fetched.pin.secret)
    now = host.clock.now()
    row.iq_pin_fetched_at = row.updated_at = integration.updated_at = now
    await session.flush()
    # Who was shown an IQ's pin is worth knowing; the pin itself never goes into the trail.
    await audit.record(session, "salto_ks.iq.get_pin", "integration", integration.id, audit.diff(before, audited(row)))
    return integration, notice


def _decrypted(host: Host, ciphertext: str | None) -> str | None:
    if not ciphertext:
        return None
    try:
        return secret_box(host).decrypt(ciphertext)
    except SecretKeyMismatch:
        return None


# -- Set PIN -----------------------------------------------------------------------------------

@dataclass
class Activation:
    """How Set PIN went: ``problem`` is None on success; ``lost``: the PIN was changed elsewhere,
    so a stored activation must be withdrawn."""

    prepared: Prepared
    new_pin: str
    problem: Problem | None = None
    lost: bool = False


async def set_pin(host: Host, session: AsyncSession, integration_id, new_pin: Any) -> Activation:
    """Set PIN on the IQ, signed with the one-time password of the current pin (from GET PIN) at
    this moment (the host's clock, UTC), asked with no transaction open."""
    if not is_pin(new_pin):
        raise ValidationFailed.one("INVALID", "The new pin must be exactly 4 digits.", "newPin")
    prepared = await prepare(host, session, integration_id)
    stored = prepared.stored
    if not stored.iq_id or not stored.iq_pin_encrypted or not stored.iq_secret_encrypted:
        raise ValidationFailed.one("REQUIRED", "Press GET PIN first: Set PIN is signed with the current pin.", "iqId")
    try:
        current_pin = secret_box(host).decrypt(stored.iq_pin_encrypted)
        secret = secret_box(host).decrypt(stored.iq_secret_encrypted)
    except SecretKeyMismatch:
        raise ValidationFailed.one("INVALID", "The stored current pin cannot be decrypted with the configured key: "
                                              "press GET PIN again.", "iqId") from None
    otp = iq_otp(secret, current_pin, host.clock.now())
    try:
        await prepared.client.set_pin(stored.site_id, stored.iq_id, new_pin, otp)
        return Activation(prepared, new_pin)
    except SaltoKsError as exc:
        # Refused, or no answer: an earlier Set PIN whose answer was lost (or this one) may have
        # set the new pin already. The IQ says which PIN it has now.
        unsure = isinstance(exc, SaltoKsOtpRejected) or (isinstance(exc, SaltoKsTransientError) and not exc.unprocessed)
        if unsure and await _has_pin(prepared.client, stored, new_pin, secret):
            return Activation(prepared, new_pin)
        if isinstance(exc, SaltoKsPinChangedElsewhere):
            return Activation(prepared, new_pin, problem_of(exc, stored), lost=True)
        raise ValidationFailed(problem_of(exc, stored)) from None


async def _has_pin(client: SaltoKsClient, stored: SaltoKsCredentials, pin: str, secret: str) -> bool:
    try:
        found = await client.get_pin(stored.site_id, stored.iq_id)
    except SaltoKsError:
        return False  # the original failure is the one to report
    return found.pin == pin and found.secret == secret


async def store_activation(host: Host, session: AsyncSession, activation: Activation) -> DoorIntegration:
    """The IQ is activated: keep its new pin (encrypted), unless the setup changed meanwhile."""
    row = await current_row(session, activation.prepared, "site_id", "iq_id", "iq_pin_fetched_at")
    integration = await session.get(DoorIntegration, row.integration_id)
    before = audited(row)
    row.iq_pin_encrypted = secret_box(host).encrypt(activation.new_pin)
    now = host.clock.now()
    row.iq_activated_at = row.updated_at = integration.updated_at = now
    await session.flush()
    await audit.record(session, "salto_ks.iq.activate", "integration", integration.id,
                       {**audit.diff(before, audited(row)), "pin": [audit.CHANGED, audit.CHANGED]})
    return integration


async def withdraw_activation(host: Host, session: AsyncSession, activation: Activation) -> None:
    """The IQ's PIN was changed elsewhere: the stored activation no longer signs anything."""
    row = await current_row(session, activation.prepared, "site_id", "iq_id")
    if row.iq_activated_at is None:
        return
    before = audited(row)
    row.iq_activated_at = None
    row.updated_at = host.clock.now()
    await session.flush()
    await audit.record(session, "salto_ks.iq.activation_lost", "integration", row.integration_id,
                       audit.diff(before, audited(row)))

"""An integration's policy (the Details tab) and its activation: which statuses grant and revoke
access, how long before the start, where the authorisation id is kept, the fallback language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    UNSET,
    Changes,
    Host,
    Message,
    Problem,
    ValidationFailed,
    audit,
    clean_text,
    get_row,
    is_language_code,
)
from addon.booking.public import BookingField, BookingStatus

from .backend import AccessModel, access_model_of, backends
from .grants import rederive
from .models import DoorIntegration, DoorMapping

MAX_TIME_BEFORE_MINUTES = 7 * 24 * 60
MAX_STATUSES = 50  # per list (trigger, revoke)
MAX_STATUS_CODE = 64  # as booking status codes are stored
MAX_LANGUAGE = 35  # a language tag; the default language must be a two-letter code anyway


@dataclass
class PolicyChanges(Changes):
    """Fields of the Details tab (and the name); UNSET ones are left alone."""

    name: Any = UNSET
    trigger_statuses: Any = UNSET
    revoke_statuses: Any = UNSET
    time_before_minutes: Any = UNSET
    authorization_id_field: Any = UNSET
    default_language: Any = UNSET
    open_action_field: Any = UNSET
    checkin_status: Any = UNSET


# Details whose change may change what bookings are entitled to, or the window of their access.
ENTITLEMENT_FIELDS = ("trigger_statuses", "revoke_statuses", "time_before_minutes")

# What the audit trail shows of an integration's Details tab (old → new).
AUDITED_FIELDS = ("name", "backend", "trigger_statuses", "revoke_statuses", "time_before_minutes",
                  "authorization_id_field", "default_language", "open_action_field", "checkin_status")


def audited(integration: DoorIntegration) -> dict[str, Any]:
    values = {key: getattr(integration, key) for key in AUDITED_FIELDS}
    return {key: list(v) if isinstance(v, list) else v for key, v in values.items()}  # a copy, not the row's list


async def get_integration(session: AsyncSession, value, field: str = "integrationId",
                          lock: bool = False) -> DoorIntegration:
    return await get_row(session, DoorIntegration, value, field, N_("Integration {id} does not exist."), lock,
                         type_name="DoorIntegration")


async def _check_statuses(session: AsyncSession, trigger: list[str], revoke: list[str], problems: list[Problem],
                          already: frozenset[str] = frozenset()) -> None:
    """Known statuses, not both granting and revoking; an archived status only where the
    integration already named it (what it already uses keeps working)."""
    rows = (await session.execute(select(BookingStatus.code, BookingStatus.archived_at))).all()
    known = {code for code, _ in rows}
    archived = {code for code, at in rows if at is not None} - already
    for codes, field_name in ((trigger, "triggerStatuses"), (revoke, "revokeStatuses")):
        if len(codes) > MAX_STATUSES or any(len(c) > MAX_STATUS_CODE for c in codes):
            problems.append(Problem("TOO_LONG", "At most {max_count} statuses of at most {max_length} characters "
                                    "each.", field_name, {"max_count": MAX_STATUSES, "max_length": MAX_STATUS_CODE}))
            continue
        unknown = [c for c in codes if c not in known]
        if unknown:
            problems.append(Problem("NOT_FOUND", "Unknown status {unknown}; known: {known}.", field_name,
                                    {"unknown": ", ".join(map(repr, unknown)),
                                     "known": ", ".join(sorted(known - archived))}))
        if chosen_archived := [c for c in codes if c in archived]:
            problems.append(Problem("ARCHIVED", "Archived statuses cannot be chosen: {statuses}.", field_name,
                                    {"statuses": ", ".join(chosen_archived)}))
    overlap = sorted(set(trigger) & set(revoke))
    if overlap:
        problems.append(Problem("OVERLAP", "A status cannot both grant and revoke access: {statuses}.",
                                "revokeStatuses", {"statuses": ", ".join(overlap)}))


async def _field_exists(session: AsyncSession, code: str) -> bool:
    return (await session.execute(select(BookingField.id).where(BookingField.code == code))).first() is not None


async def _field_archived(session: AsyncSession, code: str) -> bool:
    return (await session.execute(select(BookingField.id).where(
        BookingField.code == code, BookingField.archived_at.is_not(None)))).first() is not None


async def _booking_field(session: AsyncSession, value, field_name: str, current: str | None,
                         problems: list[Problem]) -> str | None:
    """A booking field code (optional): it exists, and is not archived unless already chosen."""
    code = clean_text(value, field_name, Message("Booking field"), 64, required=False, problems=problems)
    if code and not await _field_exists(session, code):
        problems.append(Problem("NOT_FOUND", "Booking field {code!r} does not exist; create it first.", field_name,
                                {"code": code}))
    elif code and code != current and await _field_archived(session, code):
        problems.append(Problem("ARCHIVED", "Booking field {code!r} is archived.", field_name, {"code": code}))
    return code


async def _status(session: AsyncSession, value, field_name: str, current: str | None,
                  problems: list[Problem]) -> str | None:
    """A status code (optional): it exists, and is not archived unless already chosen."""
    code = clean_text(value, field_name, Message("Status"), MAX_STATUS_CODE, required=False, problems=problems)
    if not code:
        return None
    row = (await session.execute(select(BookingStatus.archived_at).where(BookingStatus.code == code))).first()
    if row is None:
        problems.append(Problem("NOT_FOUND", "Unknown status {unknown}; known: {known}.", field_name,
                                {"unknown": repr(code), "known": ", ".join(sorted((await session.execute(
                                    select(BookingStatus.code).where(BookingStatus.archived_at.is_(None))))
                                    .scalars().all()))}))
    elif row.archived_at is not None and code != current:
        problems.append(Problem("ARCHIVED", "Archived statuses cannot be chosen: {statuses}.", field_name,
                                {"statuses": code}))
    return code


def _statuses_of(integration: DoorIntegration) -> frozenset[str]:
    return frozenset(integration.trigger_statuses or []) | frozenset(integration.revoke_statuses or [])


async def check_policy(session: AsyncSession, integration: DoorIntegration, changes: PolicyChanges,
                       problems: list[Problem]) -> dict[str, Any]:
    """Validate every given field; returns the values to write (problems are appended)."""
    given = changes.given()
    values: dict[str, Any] = {}
    if "name" in given:
        values["name"] = clean_text(given["name"], "name", Message("Name"), 100, problems=problems)
    if "trigger_statuses" in given:
        values["trigger_statuses"] = list(dict.fromkeys(given["trigger_statuses"] or []))
    if "revoke_statuses" in given:
        values["revoke_statuses"] = list(dict.fromkeys(given["revoke_statuses"] or []))
    if "trigger_statuses" in values or "revoke_statuses" in values:
        await _check_statuses(session, values.get("trigger_statuses", integration.trigger_statuses or []),
                              values.get("revoke_statuses", integration.revoke_statuses or []), problems,
                              already=_statuses_of(integration))
    if "time_before_minutes" in given:
        minutes = given["time_before_minutes"]
        if minutes is None:
            minutes = 0
        if not isinstance(minutes, int) or not 0 <= minutes <= MAX_TIME_BEFORE_MINUTES:
            problems.append(Problem("INVALID", "timeBeforeMinutes must be between 0 and {maximum} (7 days).",
                                    "timeBeforeMinutes", {"maximum": MAX_TIME_BEFORE_MINUTES}))
        values["time_before_minutes"] = minutes
    for key, field_name in (("authorization_id_field", "authorizationIdField"), ("open_action_field", "openActionField")):
        if key in given:
            values[key] = await _booking_field(session, given[key], field_name, getattr(integration, key), problems)
    if "checkin_status" in given:
        values["checkin_status"] = await _status(session, given["checkin_status"], "checkinStatus",
                                                 integration.checkin_status, problems)
    if "default_language" in given:
        language = (given["default_language"] or "").strip().lower()
        if len(language) > MAX_LANGUAGE:
            problems.append(Problem("TOO_LONG", "{label} is longer than {max_length} characters.", "defaultLanguage",
                                    {"label": Message("Default language"), "max_length": MAX_LANGUAGE}))
        elif not is_language_code(language):
            problems.append(Problem("INVALID", "{language!r} is not a two-letter language code (e.g. nl, en, de).",
                                    "defaultLanguage", {"language": given["default_language"]}))
        values["default_language"] = language
    return values


async def ensure_runnable(host: Host, session: AsyncSession, integration: DoorIntegration) -> None:
    """An active integration must stay runnable; deactivate it first to make it incomplete."""
    if integration.active:
        remaining = await activation_problems(host, session, integration)
        if remaining:
            raise ValidationFailed(*remaining)


async def create_integration(host: Host, session: AsyncSession, backend_name: str,
                             changes: PolicyChanges) -> DoorIntegration:
    problems: list[Problem] = []
    backend = backends(host).get(backend_name or "")
    if backend is None:
        problems.append(Problem("NOT_FOUND", "Unknown backend {backend!r}; known: {known}.", "backend",
                                {"backend": (backend_name or "")[:64], "known": ", ".join(backends(host).names()) or "-"}))
    if changes.name is UNSET or changes.name is None:
        changes.name = backend.label if backend else "Door access"
    now = host.clock.now()  # the host's clock, as updates use: updatedAt never runs before createdAt
    integration = DoorIntegration(name="", backend=backend_name, access_model=access_model_of(backend).value,
                                  trigger_statuses=[], revoke_statuses=[], created_at=now, updated_at=now)
    values = await check_policy(session, integration, changes, problems)
    if problems:
        raise ValidationFailed(*problems)
    for key, value in values.items():
        setattr(integration, key, value)
    session.add(integration)
    await session.flush()
    await audit.record(session, "integration.create", "integration", integration.id, audit.diff({}, audited(integration)))
    return integration


async def update_integration(host: Host, session: AsyncSession, integration_id, changes: PolicyChanges) -> DoorIntegration:
    integration = await get_integration(session, integration_id, "id", lock=True)
    before = audited(integration)
    problems: list[Problem] = []
    values = await check_policy(session, integration, changes, problems)
    if problems:
        raise ValidationFailed(*problems)
    for key, value in values.items():
        setattr(integration, key, value)
    integration.updated_at = host.clock.now()
    await ensure_runnable(host, session, integration)
    await session.flush()
    if changed := audit.diff(before, audited(integration)):
        await audit.record(session, "integration.update", "integration", integration.id, changed)
        if changed.keys() & set(ENTITLEMENT_FIELDS):
            # Every booking's access is derived anew: new statuses grant or revoke, a new time
            # before moves windows (live sets are replaced, the guest gets a new link).
            await rederive(session, integration, integration.updated_at)
    return integration


async def activation_problems(host: Host, session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
    """Everything that keeps ``integration`` from running: the backend's part first (its
    credentials), then the policy and the mapping."""
    problems: list[Problem] = []
    backend = backends(host).get(integration.backend)
    if backend is None:
        problems.append(Problem("NOT_FOUND", "The backend {backend!r} of this integration is not loaded.", "backend",
                                {"backend": integration.backend}))
    else:
        problems += await backend.configuration_problems(session, integration)
    on_request = integration.access_model == AccessModel.OPENS_ON_REQUEST
    if not integration.trigger_statuses and on_request:
        problems.append(Problem("REQUIRED", "Choose at least one status the lock may open from.", "triggerStatuses"))
    elif not integration.trigger_statuses:
        problems.append(Problem("REQUIRED", "Choose at least one trigger status.", "triggerStatuses"))
    await _check_statuses(session, integration.trigger_statuses or [], integration.revoke_statuses or [], problems,
                          already=_statuses_of(integration))
    if on_request:
        problems += await _open_on_request_problems(session, integration)
    elif not integration.authorization_id_field:
        problems.append(Problem("REQUIRED", "Choose the booking field that keeps the authorisation id; revoking needs it.",
                                "authorizationIdField"))
    elif not await _field_exists(session, integration.authorization_id_field):
        problems.append(Problem("NOT_FOUND", "Booking field {code!r} does not exist.", "authorizationIdField",
                                {"code": integration.authorization_id_field}))
    has_mapping = integration.id is not None and (await session.execute(
        select(DoorMapping.id).where(DoorMapping.integration_id == integration.id).limit(1)
    )).first()
    if not has_mapping:
        problems.append(Problem("REQUIRED", "Map at least one object to a door on the Mapping tab.", "mapping"))
    return problems


async def _open_on_request_problems(session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
    """The Details a lock that opens on request needs: where the first opening is recorded, and a
    check-in status the guest can still open from (else the first opening would lock them out)."""
    problems: list[Problem] = []
    if not integration.open_action_field:
        problems.append(Problem("REQUIRED", "Choose the booking field that records the open action.",
                                "openActionField"))
    elif not await _field_exists(session, integration.open_action_field):
        problems.append(Problem("NOT_FOUND", "Booking field {code!r} does not exist.", "openActionField",
                                {"code": integration.open_action_field}))
    checkin = integration.checkin_status
    if checkin and checkin not in (integration.trigger_statuses or []):
        problems.append(Problem("INVALID", "Add the check-in status {status!r} to the statuses the lock may open "
                                "from: after the first opening the guest still has to open the doors.",
                                "checkinStatus", {"status": checkin}))
    return problems


async def set_active(host: Host, session: AsyncSession, integration_id, active: bool) -> tuple[DoorIntegration, int]:
    """Activate (after checking everything) or deactivate; returns the integration and how many
    bookings were queued for access (activation backfills: bookings already at a trigger status)."""
    integration = await get_integration(session, integration_id, lock=True)
    if active and integration.archived_at is not None:
        raise ValidationFailed.one("ARCHIVED", "Integration {name!r} is archived; restore it before activating it.",
                                   "integrationId", name=integration.name)
    if active:
        problems = await activation_problems(host, session, integration)
        if problems:
            raise ValidationFailed(*problems)
    # Deactivation is the rollback switch: nothing new is sent, existing access stays as it is
    # (revocations go on: no integration state keeps a cancelled guest's access alive).
    now = host.clock.now()
    queued = 0
    was_active = integration.active
    integration.active = active
    integration.updated_at = now
    await session.flush()
    if active and not was_active:
        # Everything is derived anew: bookings entitled now get access (the worker sends it at its
        # own pace), access that changed while the integration was off is brought in line.
        queued = await rederive(session, integration, now)
    if was_active != active:
        changes = {"active": [was_active, active]}
        if active:
            changes["bookings_queued"] = [None, queued]  # a count, not a change: no old value
        await audit.record(session, "integration.activate" if active else "integration.deactivate", "integration",
                           integration.id, changes)
    return integration, queued


async def activation_preview(host: Host, session: AsyncSession, integration_id) -> tuple[list[Problem], int]:
    """What activating would do now, changing nothing: what stops it, and how many bookings would
    be queued for access."""
    integration = await get_integration(session, integration_id)
    problems = await activation_problems(host, session, integration)
    if integration.active:
        return problems, 0
    return problems, await rederive(session, integration, host.clock.now(), dry_run=True, as_if_active=True)

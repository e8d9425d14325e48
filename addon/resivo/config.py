"""Integration configuration: the Authentication, Details and Mapping tabs, and activation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.crypto import secret_box
from addon.base.db import id_in_range, utcnow
from addon.base.errors import Problem, ValidationFailed
from addon.base.host import Host
from addon.base.i18n import Message, is_language_code
from addon.booking.models import BookableObject, BookingField, BookingStatus
from addon.booking.services import get_object

from .models import PRODUCTION_BASE_URL, ResivoAccessGrant, ResivoDoorMapping, ResivoIntegration

MAX_TIME_BEFORE_MINUTES = 7 * 24 * 60
UNSET: Any = object()  # "not given" in an update, as opposed to None ("clear it")


@dataclass
class IntegrationChanges:
    """Fields from the admin's tabs; UNSET ones are left alone."""

    name: Any = UNSET
    site_owner_id: Any = UNSET
    client_id: Any = UNSET
    client_secret: Any = UNSET
    site_id: Any = UNSET
    target_mobile_app_id: Any = UNSET
    base_url: Any = UNSET
    trigger_statuses: Any = UNSET
    revoke_statuses: Any = UNSET
    time_before_minutes: Any = UNSET
    authorization_id_field: Any = UNSET
    default_language: Any = UNSET

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not UNSET}


REQUIRED_ON_CREATE = {"site_owner_id": "siteOwnerId", "client_id": "clientId", "client_secret": "clientSecret"}


async def get_integration(session: AsyncSession, value, field: str = "integrationId",
                          lock: bool = False) -> ResivoIntegration:
    try:
        ident = int(str(value))
    except ValueError:
        raise ValidationFailed.one("INVALID", "Integration id {value!r} is not a valid id.", field, value=value) from None
    # An id beyond the column's range cannot exist (and would overflow the driver).
    row = await session.get(ResivoIntegration, ident, with_for_update=lock or None) if id_in_range(ident) else None
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", "Resivo integration {id} does not exist.", field, id=value)
    return row


def _clean_text(value, field: str, label: Message, max_length: int, problems: list[Problem],
                required: bool) -> str | None:
    value = value.strip() if isinstance(value, str) else None
    if not value:
        if required:
            problems.append(Problem("REQUIRED", "{label} is required.", field, {"label": label}))
        return None
    if len(value) > max_length:
        problems.append(Problem("TOO_LONG", "{label} is longer than {max_length} characters.", field,
                                {"label": label, "max_length": max_length}))
    return value


_API_VERSION_SEGMENT = re.compile(r"^v\d+$")


def _check_base_url(value: str, problems: list[Problem]) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in {"http", "https"} or not parts.hostname or parts.query
            or parts.fragment or any(c.isspace() for c in value)):
        shown = Message("The base URL") if "@" in value else repr(value)  # never echo what may be a password
        problems.append(Problem("INVALID", "{shown} is not an http(s) base URL like {example}.", "baseUrl",
                                {"shown": shown, "example": PRODUCTION_BASE_URL}))
    elif parts.username is not None or parts.password is not None:
        # The base URL is shown and logged; credentials belong in Client ID and Client secret.
        problems.append(Problem("INVALID", "The base URL must not contain a user name or password.", "baseUrl"))
    elif _API_VERSION_SEGMENT.match(parts.path.rstrip("/").rsplit("/", 1)[-1]):
        problems.append(Problem("INVALID", "Leave the API version out of the base URL (like {example}); the version "
                                           "is a server setting.", "baseUrl", {"example": PRODUCTION_BASE_URL}))
    return value.rstrip("/")


async def _check_statuses(session: AsyncSession, trigger: list[str], revoke: list[str], problems: list[Problem]) -> None:
    known = set((await session.execute(select(BookingStatus.code))).scalars().all())
    for codes, field_name in ((trigger, "triggerStatuses"), (revoke, "revokeStatuses")):
        unknown = [c for c in codes if c not in known]
        if unknown:
            problems.append(Problem("NOT_FOUND", "Unknown status {unknown}; known: {known}.", field_name,
                                    {"unknown": ", ".join(map(repr, unknown)), "known": ", ".join(sorted(known))}))
    overlap = sorted(set(trigger) & set(revoke))
    if overlap:
        problems.append(Problem("OVERLAP", "A status cannot both grant and revoke access: {statuses}.",
                                "revokeStatuses", {"statuses": ", ".join(overlap)}))


async def _field_exists(session: AsyncSession, code: str) -> bool:
    return (await session.execute(select(BookingField.id).where(BookingField.code == code))).first() is not None


async def apply_changes(host: Host, session: AsyncSession, integration: ResivoIntegration,
                        changes: IntegrationChanges, creating: bool) -> ResivoIntegration:
    """Validate every given field, then write them all; on any problem nothing is written."""
    given = changes.given()
    problems: list[Problem] = []
    if creating:  # a given but blank value is reported once, by its own check below
        for key, field_name in REQUIRED_ON_CREATE.items():
            if key not in given:
                problems.append(Problem("REQUIRED", "{label} is required.", field_name, {"label": field_name}))
    values: dict[str, Any] = {}
    if "name" in given:
        values["name"] = _clean_text(given["name"], "name", Message("Name"), 100, problems, required=True)
    for key, field_name, label, length in (("site_owner_id", "siteOwnerId", Message("Site Owner ID"), 100),
                                           ("client_id", "clientId", Message("Client ID"), 200)):
        if key in given:
            values[key] = _clean_text(given[key], field_name, label, length, problems, required=True)
    if "client_secret" in given:
        secret = given["client_secret"]
        if not isinstance(secret, str) or not secret.strip():
            problems.append(Problem("REQUIRED", "Client secret is required.", "clientSecret"))
        else:
            values["client_secret_encrypted"] = secret_box(host).encrypt(secret.strip())
    if "site_id" in given:
        values["site_id"] = _clean_text(given["site_id"], "siteId", Message("Site ID"), 100, problems, required=False)
    if "target_mobile_app_id" in given:
        app_id = given["target_mobile_app_id"]
        if app_id is not None and (not isinstance(app_id, int) or app_id <= 0):
            problems.append(Problem("INVALID", "targetMobileAppId must be a positive whole number.", "targetMobileAppId"))
        values["target_mobile_app_id"] = app_id
    if "base_url" in given:
        url = _clean_text(given["base_url"], "baseUrl", Message("Base URL"), 300, problems, required=False)
        values["base_url"] = _check_base_url(url, problems) if url else PRODUCTION_BASE_URL
    if "trigger_statuses" in given:
        values["trigger_statuses"] = list(dict.fromkeys(given["trigger_statuses"] or []))
    if "revoke_statuses" in given:
        values["revoke_statuses"] = list(dict.fromkeys(given["revoke_statuses"] or []))
    if "trigger_statuses" in values or "revoke_statuses" in values:
        await _check_statuses(session, values.get("trigger_statuses", integration.trigger_statuses or []),
                              values.get("revoke_statuses", integration.revoke_statuses or []), problems)
    if "time_before_minutes" in given:
        minutes = given["time_before_minutes"]
        if minutes is None:
            minutes = 0
        if not isinstance(minutes, int) or not 0 <= minutes <= MAX_TIME_BEFORE_MINUTES:
            problems.append(Problem("INVALID", "timeBeforeMinutes must be between 0 and {maximum} (7 days).",
                                    "timeBeforeMinutes", {"maximum": MAX_TIME_BEFORE_MINUTES}))
        values["time_before_minutes"] = minutes
    if "authorization_id_field" in given:
        code = _clean_text(given["authorization_id_field"], "authorizationIdField", Message("Booking field"), 64,
                           problems, required=False)
        if code and not await _field_exists(session, code):
            problems.append(Problem("NOT_FOUND", "Booking field {code!r} does not exist; create it first.",
                                    "authorizationIdField", {"code": code}))
        values["authorization_id_field"] = code
    if "default_language" in given:
        language = (given["default_language"] or "").strip().lower()
        if not is_language_code(language):
            problems.append(Problem("INVALID", "{language!r} is not a two-letter language code (e.g. nl, en, de).",
                                    "defaultLanguage", {"language": given["default_language"]}))
        values["default_language"] = language
    if problems:
        raise ValidationFailed(*problems)

    for key, value in values.items():
        setattr(integration, key, value)
    integration.updated_at = utcnow()
    if integration.active:
        # An active integration must stay runnable; deactivate first to make it incomplete.
        remaining = await activation_problems(session, integration)
        if remaining:
            raise ValidationFailed(*remaining)
    if creating:
        session.add(integration)
    await session.flush()
    return integration


async def create_integration(host: Host, session: AsyncSession, changes: IntegrationChanges) -> ResivoIntegration:
    integration = ResivoIntegration(name="Resivo", site_owner_id="", client_id="", client_secret_encrypted="",
                                    trigger_statuses=[], revoke_statuses=[])
    if changes.name is UNSET:
        changes.name = "Resivo"
    return await apply_changes(host, session, integration, changes, creating=True)


async def update_integration(host: Host, session: AsyncSession, integration_id,
                             changes: IntegrationChanges) -> ResivoIntegration:
    integration = await get_integration(session, integration_id, "id", lock=True)
    return await apply_changes(host, session, integration, changes, creating=False)


async def activation_problems(session: AsyncSession, integration: ResivoIntegration) -> list[Problem]:
    problems: list[Problem] = []
    for value, field_name in ((integration.site_owner_id, "siteOwnerId"), (integration.client_id, "clientId"),
                              (integration.client_secret_encrypted, "clientSecret")):
        if not value:
            problems.append(Problem("REQUIRED", "{label} is required before activation.", field_name,
                                    {"label": field_name}))
    if not integration.trigger_statuses:
        problems.append(Problem("REQUIRED", "Choose at least one trigger status.", "triggerStatuses"))
    await _check_statuses(session, integration.trigger_statuses or [], integration.revoke_statuses or [], problems)
    if not integration.authorization_id_field:
        problems.append(Problem("REQUIRED", "Choose the booking field that keeps the authorisation id; revoking needs it.",
                                "authorizationIdField"))
    elif not await _field_exists(session, integration.authorization_id_field):
        problems.append(Problem("NOT_FOUND", "Booking field {code!r} does not exist.", "authorizationIdField",
                                {"code": integration.authorization_id_field}))
    has_mapping = (
        await session.execute(
            select(ResivoDoorMapping.id).where(ResivoDoorMapping.integration_id == integration.id).limit(1)
        )
    ).first()
    if integration.id is None or not has_mapping:
        problems.append(Problem("REQUIRED", "Map at least one object to a door on the Mapping tab.", "mapping"))
    return problems


async def set_active(host: Host, session: AsyncSession, integration_id, active: bool) -> ResivoIntegration:
    integration = await get_integration(session, integration_id, lock=True)
    if active:
        problems = await activation_problems(session, integration)
        if problems:
            raise ValidationFailed(*problems)
    # Deactivation is the rollback switch: new triggers stop, existing access stays as it is.
    if active and not integration.active:
        # Grants that waited (with backoff) while the integration was off are due again at once.
        await session.execute(
            update(ResivoAccessGrant)
            .where(ResivoAccessGrant.integration_id == integration.id, ResivoAccessGrant.next_attempt_at.is_not(None))
            .values(next_attempt_at=utcnow())
        )
    integration.active = active
    integration.updated_at = utcnow()
    await session.flush()
    return integration


@dataclass
class MappingResult:
    mapping: ResivoDoorMapping | None
    warnings: list[Message] = field(default_factory=list)


async def set_door_mapping(session: AsyncSession, integration: ResivoIntegration, object_id, names: list[str],
                           live_names: list[str] | None, unreachable_reason: str | None) -> MappingResult:
    """Store object → door names. ``live_names`` is None when Resivo could not be asked (down,
    or refusing the credentials): the names are then stored unchecked, with a warning."""
    obj = await get_object(session, object_id)
    if any(not n or not n.strip() for n in names):
        # A blank entry is a mistake, not a wish to remove the mapping (that is an empty list).
        raise ValidationFailed.one("INVALID", "A door name cannot be blank; send an empty list to remove the mapping.",
                                   "componentNames")
    cleaned = list(dict.fromkeys(n.strip() for n in names))
    existing = (
        await session.execute(
            select(ResivoDoorMapping).where(ResivoDoorMapping.integration_id == integration.id,
                                            ResivoDoorMapping.object_id == obj.id)
        )
    ).scalar_one_or_none()
    if not cleaned:  # an empty list removes the mapping
        if existing is not None:
            await session.delete(existing)
            await session.flush()
        if integration.active and not await _has_other_mapping(session, integration):
            raise ValidationFailed.one("REQUIRED", "An active integration needs at least one mapping; deactivate it first.",
                                       "componentNames")
        return MappingResult(None)
    warnings: list[Message] = []
    if live_names is None:
        warnings.append(Message("The door list could not be fetched ({reason}); the names were stored unchecked.",
                                {"reason": unreachable_reason}))
    else:
        unknown = [n for n in cleaned if n not in live_names]
        if unknown:
            raise ValidationFailed.one("UNKNOWN_DOOR", "Unknown door {unknown}. Known doors: {known}.", "componentNames",
                                       unknown=", ".join(map(repr, unknown)),
                                       known=", ".join(sorted(live_names)) or "-")
    if existing is None:
        existing = ResivoDoorMapping(integration_id=integration.id, object_id=obj.id, component_names=cleaned)
        session.add(existing)
    else:
        existing.component_names = cleaned
        existing.updated_at = utcnow()
    await session.flush()
    return MappingResult(existing, warnings)


async def _has_other_mapping(session: AsyncSession, integration: ResivoIntegration) -> bool:
    return (
        await session.execute(select(ResivoDoorMapping.id).where(ResivoDoorMapping.integration_id == integration.id))
    ).first() is not None


async def mapping_for_object(session: AsyncSession, integration_id: int, obj: BookableObject) -> tuple[ResivoDoorMapping | None, BookableObject | None]:
    """The most specific mapping: the object's own, else its parent's (and so on up)."""
    node: BookableObject | None = obj
    while node is not None:
        mapping = (
            await session.execute(
                select(ResivoDoorMapping).where(ResivoDoorMapping.integration_id == integration_id,
                                                ResivoDoorMapping.object_id == node.id)
            )
        ).scalar_one_or_none()
        if mapping is not None:
            return mapping, node
        node = await session.get(BookableObject, node.parent_id) if node.parent_id else None
    return None, None

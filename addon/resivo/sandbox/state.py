"""In-memory Resivo: site owners, sites, doors, credentials, tokens and remote-access sets.

Implements the contract of ``addon.resivo.client`` the way Resivo would enforce it, and raises
``SandboxError(status, message)`` where Resivo would answer an error. Nothing here knows HTTP
routing; ``app.py`` does.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from addon.base.public import data_path

from .faults import FaultPlan

SEED_PATH = data_path("fixtures", "resivo", "sandbox_seed.json")

SCOPE_CUSTOMER = "Customer"
SCOPE_SITE = "Site"

# Resivo (like Exivo before it) wants UTC with a literal Z; offsets are refused.
_UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_LINK_BASE = "https://sandbox.resivo.invalid/remote-access/"


def load_seed(path: Path = SEED_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


class SandboxError(Exception):
    """An error answer: HTTP ``status`` with JSON ``{"message": message}``."""

    def __init__(self, status: int, message: str, *, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}


@dataclass
class Credential:
    client_id: str
    client_secret: str = field(repr=False)
    site_owner_id: str
    scope: str
    site_id: str | None = None


@dataclass
class Door:
    id: str
    display_name: str
    online: bool = True
    type: str = "door"

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "online": self.online,
            "type": self.type,
        }


@dataclass
class SandboxSite:
    id: str
    site_owner_id: str
    display_name: str
    default_locale: str
    time_zone: str
    doors: list[Door]

    def wire(self, *, with_owner: bool = False) -> dict[str, Any]:
        data = {
            "id": self.id,
            "displayName": self.display_name,
            "defaultLocale": self.default_locale,
            "timeZone": self.time_zone,
        }
        if with_owner:
            data["siteOwnerId"] = self.site_owner_id
        return data

    def door(self, component_id: str) -> Door:
        for door in self.doors:
            if door.id == component_id:
                return door
        raise SandboxError(404, f"component {component_id} not found at site {self.id}")


@dataclass
class RemoteAccessSet:
    id: str
    site_id: str
    display_name: str
    component_ids: list[str]
    openable_component_ids: list[str]
    valid_from: str
    valid_to: str
    valid_to_at: datetime
    recipients: list[dict[str, str]]
    locale: str
    message: str | None
    mobile_app: dict[str, int] | None
    external_reference: str | None
    link: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.valid_to_at <= now:
            return "expired"
        return "active"

    def wire(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "status": self.status(now),
            "link": self.link,
            "componentIds": list(self.component_ids),
            "restrictions": {"validFrom": self.valid_from, "validTo": self.valid_to},
            "externalReference": self.external_reference,
        }

    def inspect(self, now: datetime) -> dict[str, Any]:
        """Everything a test or a developer wants to see, beyond what the API answers."""
        return {
            **self.wire(now),
            "siteId": self.site_id,
            "openableComponentIds": list(self.openable_component_ids),
            "recipients": copy.deepcopy(self.recipients),
            "locale": self.locale,
            "message": self.message,
            "mobileApp": copy.deepcopy(self.mobile_app),
            "createdAt": _format(self.created_at),
            "createdBy": self.created_by,
            "revokedAt": _format(self.revoked_at) if self.revoked_at else None,
        }


@dataclass
class IssuedToken:
    credential: Credential
    expires_at: float  # time.monotonic()


class SandboxState:
    """The whole sandbox: data from the seed plus what calls changed, faults and counters."""

    def __init__(
        self,
        seed: dict[str, Any],
        *,
        token_ttl_seconds: int = 3600,
        wall_clock: Callable[[], datetime] | None = None,
    ):
        self._seed = copy.deepcopy(seed)
        self.token_ttl_seconds = token_ttl_seconds
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self.faults = FaultPlan()
        self.reset()

    # -- lifecycle

    def reset(self) -> None:
        seed = self._seed
        self.site_owners: dict[str, dict[str, Any]] = {o["id"]: dict(o) for o in seed["siteOwners"]}
        self.sites: dict[str, SandboxSite] = {}
        for site in seed["sites"]:
            self.sites[site["id"]] = SandboxSite(
                id=site["id"],
                site_owner_id=site["siteOwnerId"],
                display_name=site["displayName"],
                default_locale=site["defaultLocale"],
                time_zone=site["timeZone"],
                doors=[
                    Door(
                        id=c["id"],
                        display_name=c["displayName"],
                        online=c.get("online", True),
                        type=c.get("type", "door"),
                    )
                    for c in site.get("components", [])
                ],
            )
        self.credentials: dict[str, Credential] = {
            c["clientId"]: Credential(
                client_id=c["clientId"],
                client_secret=c["clientSecret"],
                site_owner_id=c["siteOwnerId"],
                scope=c["scope"],
                site_id=c.get("siteId"),
            )
            for c in seed["credentials"]
        }
        self.tokens: dict[str, IssuedToken] = {}
        self.authorizations: dict[str, RemoteAccessSet] = {}
        self.calls: Counter[str] = Counter()
        self.latency_ms = 0.0
        self.clock_offset = timedelta()
        self.faults.clear()

    def now(self) -> datetime:
        return self._wall_clock() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's wall clock (validity checks, expiry), not token lifetimes."""
        self.clock_offset += timedelta(seconds=seconds)

    # -- tokens

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise SandboxError(
                400,
                "grant_type must be client_credentials",
                extra={"error": "unsupported_grant_type"},
            )
        credential = self.credentials.get(form.get("client_id", ""))
        secret = form.get("client_secret", "")
        if credential is None or not secrets.compare_digest(credential.client_secret, secret):
            raise SandboxError(
                401, "client id or secret rejected", extra={"error": "invalid_client"}
            )
        token = secrets.token_urlsafe(32)
        self.tokens[token] = IssuedToken(credential, time.monotonic() + self.token_ttl_seconds)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_seconds}

    def authenticate(self, authorization_header: str | None) -> Credential:
        scheme, _, token = (authorization_header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SandboxError(401, "missing bearer token")
        issued = self.tokens.get(token.strip())
        if issued is None:
            raise SandboxError(401, "invalid access token")
        if issued.expires_at <= time.monotonic():
            raise SandboxError(401, "access token expired")
        return issued.credential

    def expire_tokens(self) -> int:
        """Expire every issued token (they stay known, so callers see 'expired')."""
        for issued in self.tokens.values():
            issued.expires_at = 0.0
        return len(self.tokens)

    # -- access rules

    def _site_for(self, credential: Credential, site_id: str) -> SandboxSite:
        site = self.sites.get(site_id)
        if site is None:
            raise SandboxError(404, f"site {site_id} not found")
        if site.site_owner_id != credential.site_owner_id or (
            credential.scope == SCOPE_SITE and credential.site_id != site_id
        ):
            raise SandboxError(403, f"this credential has no access to site {site_id}")
        return site

    # -- API operations

    def list_sites(self, credential: Credential, site_owner_id: str) -> list[dict[str, Any]]:
        if site_owner_id != credential.site_owner_id:
            raise SandboxError(403, f"this credential has no access to site owner {site_owner_id}")
        return [
            site.wire()
            for site in self.sites.values()
            if site.site_owner_id == site_owner_id
            and (credential.scope != SCOPE_SITE or site.id == credential.site_id)
        ]

    def get_site(self, credential: Credential, site_id: str) -> dict[str, Any]:
        return self._site_for(credential, site_id).wire(with_owner=True)

    def list_components(self, credential: Credential, site_id: str) -> list[dict[str, Any]]:
        return [door.wire() for door in self._site_for(credential, site_id).doors]

    def create_remote_access(
        self, credential: Credential, site_id: str, body: Any
    ) -> dict[str, Any]:
        site = self._site_for(credential, site_id)
        if not isinstance(body, dict):
            raise SandboxError(400, "the body must be a JSON object")
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise SandboxError(422, "displayName is required")

        component_ids = body.get("componentIds")
        if not isinstance(component_ids, list) or not all(
            isinstance(c, str) for c in component_ids
        ):
            raise SandboxError(400, "componentIds must be a list of component ids")
        if not component_ids:
            raise SandboxError(422, "componentIds must name at least one component")
        known = {door.id: door for door in site.doors}
        for component_id in component_ids:
            if component_id not in known:
                raise SandboxError(422, f"unknown component id {component_id} at site {site_id}")

        restrictions = body.get("restrictions")
        if not isinstance(restrictions, dict):
            raise SandboxError(400, "restrictions with validFrom and validTo are required")
        valid_from_text = restrictions.get("validFrom")
        valid_to_text = restrictions.get("validTo")
        valid_from = _parse_utc_z("validFrom", valid_from_text)
        valid_to = _parse_utc_z("validTo", valid_to_text)
        if valid_from >= valid_to:
            raise SandboxError(422, "validFrom must be before validTo")
        now = self.now()
        if valid_to <= now:
            raise SandboxError(422, f"validTo {valid_to_text} is not in the future")

        recipients = _recipients(body.get("recipients"))
        locale = body.get("locale") or site.default_locale
        if not isinstance(locale, str):
            raise SandboxError(400, "locale must be a language code such as 'nl'")
        message = body.get("message")
        if message is not None and not isinstance(message, str):
            raise SandboxError(400, "message must be a string")
        mobile_app = _mobile_app(body.get("mobileApp"))
        external_reference = body.get("externalReference")
        if external_reference is not None and (
            not isinstance(external_reference, str) or len(external_reference) > 255
        ):
            raise SandboxError(400, "externalReference must be a string of at most 255 characters")

        authorization = RemoteAccessSet(
            id=str(uuid.uuid4()),
            site_id=site_id,
            display_name=display_name,
            component_ids=list(component_ids),
            # Resivo ignores offline doors in a remote access; keep which ones would open.
            openable_component_ids=[c for c in component_ids if known[c].online],
            valid_from=valid_from_text,
            valid_to=valid_to_text,
            valid_to_at=valid_to,
            recipients=recipients,
            locale=locale,
            message=message,
            mobile_app=mobile_app,
            external_reference=external_reference,
            link=_LINK_BASE + secrets.token_urlsafe(12),
            created_at=now,
            created_by=credential.client_id,
        )
        self.authorizations[authorization.id] = authorization
        return authorization.wire(now)

    def find_by_reference(
        self, credential: Credential, site_id: str, external_reference: str | None
    ) -> list[dict[str, Any]]:
        self._site_for(credential, site_id)
        now = self.now()
        return [
            a.wire(now)
            for a in self.authorizations.values()
            if a.site_id == site_id
            and (external_reference is None or a.external_reference == external_reference)
        ]

    def get_authorization(
        self, credential: Credential, site_id: str, authorization_id: str
    ) -> dict[str, Any]:
        return self._authorization(credential, site_id, authorization_id).wire(self.now())

    def revoke(self, credential: Credential, site_id: str, authorization_id: str) -> None:
        authorization = self._authorization(credential, site_id, authorization_id)
        status = authorization.status(self.now())
        if status != "active":
            raise SandboxError(409, f"authorization {authorization_id} is already {status}")
        authorization.revoked_at = self.now()

    def _authorization(
        self, credential: Credential, site_id: str, authorization_id: str
    ) -> RemoteAccessSet:
        self._site_for(credential, site_id)
        authorization = self.authorizations.get(authorization_id)
        if authorization is None or authorization.site_id != site_id:
            raise SandboxError(404, f"authorization {authorization_id} not found at site {site_id}")
        return authorization

    # -- inspection and scripting (the /_sandbox/ endpoints)

    def inspect_authorizations(
        self, *, site_id: str | None = None, external_reference: str | None = None
    ) -> list[dict[str, Any]]:
        now = self.now()
        return [
            a.inspect(now)
            for a in self.authorizations.values()
            if (site_id is None or a.site_id == site_id)
            and (external_reference is None or a.external_reference == external_reference)
        ]

    def inspect_sites(self) -> list[dict[str, Any]]:
        return [
            {**site.wire(with_owner=True), "components": [door.wire() for door in site.doors]}
            for site in self.sites.values()
        ]

    def stats(self) -> dict[str, Any]:
        now = self.now()
        statuses = Counter(a.status(now) for a in self.authorizations.values())
        return {
            "calls": dict(self.calls),
            "tokenRequests": self.calls["token"],
            "tokensIssued": len(self.tokens),
            "authorizations": {
                "total": len(self.authorizations),
                "active": statuses["active"],
                "revoked": statuses["revoked"],
                "expired": statuses["expired"],
            },
        }

    def upsert_component(self, site_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Add a door, or rename / switch online an existing one when ``id`` names it."""
        site = self._admin_site(site_id)
        if not isinstance(body, dict):
            raise SandboxError(400, "the body must be a JSON object")
        component_id = body.get("id")
        existing = next((d for d in site.doors if d.id == component_id), None)
        if existing is not None:
            return self.update_component(site_id, existing.id, body), False
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise SandboxError(422, "displayName is required")
        door = Door(
            id=component_id
            if isinstance(component_id, str) and component_id
            else str(uuid.uuid4()),
            display_name=display_name,
            online=bool(body.get("online", True)),
            type=str(body.get("type", "door")),
        )
        site.doors.append(door)
        return door.wire(), True

    def update_component(self, site_id: str, component_id: str, body: Any) -> dict[str, Any]:
        door = self._admin_site(site_id).door(component_id)
        if not isinstance(body, dict):
            raise SandboxError(400, "the body must be a JSON object")
        if "displayName" in body:
            if not isinstance(body["displayName"], str) or not body["displayName"].strip():
                raise SandboxError(422, "displayName must be a non-empty string")
            door.display_name = body["displayName"]
        if "online" in body:
            door.online = bool(body["online"])
        return door.wire()

    def delete_component(self, site_id: str, component_id: str) -> None:
        site = self._admin_site(site_id)
        site.doors.remove(site.door(component_id))

    def reassign_component_id(self, site_id: str, component_id: str) -> dict[str, Any]:
        door = self._admin_site(site_id).door(component_id)
        door.id = str(uuid.uuid4())
        return {**door.wire(), "previousId": component_id}

    def _admin_site(self, site_id: str) -> SandboxSite:
        site = self.sites.get(site_id)
        if site is None:
            raise SandboxError(404, f"site {site_id} not found")
        return site


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_utc_z(name: str, value: Any) -> datetime:
    if not isinstance(value, str) or not _UTC_Z.match(value):
        raise SandboxError(
            400, f"{name} must be UTC in RFC 3339 with a Z suffix, e.g. 2026-06-12T12:00:00Z"
        )
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise SandboxError(400, f"{name} is not a valid date and time") from None


def _recipients(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise SandboxError(422, "at least one recipient with email or phoneNumber is required")
    recipients = []
    for index, recipient in enumerate(value):
        if not isinstance(recipient, dict):
            raise SandboxError(400, f"recipients[{index}] must be an object")
        kept = {k: recipient[k] for k in ("email", "phoneNumber") if recipient.get(k)}
        if not kept or not all(isinstance(v, str) for v in kept.values()):
            raise SandboxError(422, f"recipients[{index}] needs an email or a phoneNumber")
        if "email" in kept and "@" not in kept["email"]:
            raise SandboxError(422, f"recipients[{index}].email is not an e-mail address")
        recipients.append(kept)
    return recipients


def _mobile_app(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    legic_app_id = value.get("legicAppId") if isinstance(value, dict) else None
    if not isinstance(legic_app_id, int) or isinstance(legic_app_id, bool):
        raise SandboxError(422, "mobileApp.legicAppId must be a number")
    return {"legicAppId": legic_app_id}

"""In-memory Salto KS: the installation's clients, accounts, sites, IQs, locks, tokens, openings
and entries.

Implements the contract documented in ``addon.salto_ks.client`` the way Salto KS would enforce
it — one-time passwords included, verified with one step of tolerance either side — and raises
``SandboxError`` where Salto KS would answer an error. Nothing here knows HTTP routing; ``app.py``
does.
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

from ..otp import is_pin, new_secret, verify_iq_otp
from .faults import FaultPlan

SEED_PATH = data_path("fixtures", "salto_ks", "sandbox_seed.json")

_UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
MAX_REFERENCE = 100


def load_seed(path: Path = SEED_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


class SandboxError(Exception):
    """An error answer: HTTP ``status`` with JSON ``{"code": code, "message": message}`` (OAuth
    errors of the token endpoint answer ``{"error": code, "error_description": message}``)."""

    def __init__(self, status: int, code: str, message: str, *, oauth: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.oauth = oauth

    def body(self) -> dict[str, Any]:
        if self.oauth:
            return {"error": self.code, "error_description": self.message}
        return {"code": self.code, "message": self.message}


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    username: str
    password: str = field(repr=False)
    site_ids: set[str]


@dataclass
class Iq:
    id: str
    site_id: str
    name: str
    online: bool
    secret: str = field(repr=False)
    pin: str = field(repr=False)
    previous_pins: list[str] = field(default_factory=list, repr=False)
    activated: bool = False
    pin_changed_at: datetime | None = None

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "online": self.online, "activated": self.activated}

    def change_pin(self, pin: str, now: datetime) -> None:
        if pin != self.pin:
            self.previous_pins.append(self.pin)
        self.pin = pin
        self.pin_changed_at = now


@dataclass
class SandboxLock:
    id: str
    site_id: str
    name: str
    online: bool
    iq_id: str

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "online": self.online, "iqId": self.iq_id}


@dataclass
class SandboxSite:
    id: str
    uid: str
    name: str
    time_zone: str

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "uid": self.uid, "name": self.name, "timeZone": self.time_zone}


@dataclass
class Entry:
    id: str
    site_id: str
    lock_id: str
    at: datetime
    result: str
    reference: str | None

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "lockId": self.lock_id, "at": _format(self.at), "result": self.result,
                "reference": self.reference}


@dataclass
class Opening:
    """An open command as the sandbox saw it, accepted or refused (``/_sandbox/openings``)."""

    at: datetime
    site_id: str
    lock_id: str
    lock_name: str | None
    reference: str | None
    username: str
    outcome: str  # opened, duplicate, or the error code it was refused with

    def inspect(self) -> dict[str, Any]:
        return {"at": _format(self.at), "siteId": self.site_id, "lockId": self.lock_id, "lockName": self.lock_name,
                "reference": self.reference, "username": self.username, "outcome": self.outcome}


@dataclass
class IssuedToken:
    account: Account
    expires_at: float  # time.monotonic()


class SandboxState:
    """The whole sandbox: data from the seed plus what calls changed, faults and counters."""

    def __init__(self, seed: dict[str, Any], *, token_ttl_seconds: int = 3600,
                 wall_clock: Callable[[], datetime] | None = None) -> None:
        self._seed = copy.deepcopy(seed)
        self.token_ttl_seconds = token_ttl_seconds
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self.faults = FaultPlan()
        self.reset()

    # -- lifecycle

    def reset(self) -> None:
        seed = self._seed
        self.environment = seed.get("environment", "Acceptance")
        self.scopes = set(seed.get("scopes", []))
        self.clients = {c["clientId"]: c["clientSecret"] for c in seed["clients"]}
        self.accounts = {a["username"]: Account(a["username"], a["password"], set(a.get("siteIds", [])))
                         for a in seed["accounts"]}
        self.sites: dict[str, SandboxSite] = {}
        self.iqs: dict[str, Iq] = {}
        self.locks: dict[str, SandboxLock] = {}
        for site in seed["sites"]:
            self.sites[site["id"]] = SandboxSite(site["id"], site["uid"], site["name"], site.get("timeZone", "UTC"))
            for iq in site.get("iqs", []):
                self.iqs[iq["id"]] = Iq(id=iq["id"], site_id=site["id"], name=iq.get("name", "IQ"),
                                        online=iq.get("online", True), secret=iq.get("secret") or new_secret(),
                                        pin=iq["pin"], activated=iq.get("activated", False))
            for lock in site.get("locks", []):
                self.locks[lock["id"]] = SandboxLock(lock["id"], site["id"], lock["name"], lock.get("online", True),
                                                     lock["iqId"])
        self.tokens: dict[str, IssuedToken] = {}
        self.entries: list[Entry] = []
        self.openings: list[Opening] = []
        self._by_reference: dict[tuple[str, str], Entry] = {}
        self.calls: Counter[str] = Counter()
        self.latency_ms = 0.0
        self.clock_offset = timedelta()
        self.faults.clear()

    def now(self) -> datetime:
        return self._wall_clock() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's wall clock (OTP checks, entry times), not token lifetimes."""
        self.clock_offset += timedelta(seconds=seconds)

    # -- tokens

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "password":
            raise SandboxError(400, "unsupported_grant_type", "grant_type must be password", oauth=True)
        client_secret = self.clients.get(form.get("client_id", ""))
        if client_secret is None or not secrets.compare_digest(client_secret, form.get("client_secret", "")):
            raise SandboxError(401, "invalid_client", "client id or secret rejected", oauth=True)
        requested = set((form.get("scope") or "").split())
        if not requested or not requested <= self.scopes:
            raise SandboxError(400, "invalid_scope", f"scope must be among: {' '.join(sorted(self.scopes))}",
                               oauth=True)
        account = self.accounts.get(form.get("username", ""))
        if account is None or not secrets.compare_digest(account.password, form.get("password", "")):
            raise SandboxError(400, "invalid_grant", "invalid username or password", oauth=True)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = IssuedToken(account, time.monotonic() + self.token_ttl_seconds)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_seconds}

    def authenticate(self, authorization_header: str | None) -> Account:
        scheme, _, token = (authorization_header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SandboxError(401, "unauthorized", "missing bearer token")
        issued = self.tokens.get(token.strip())
        if issued is None:
            raise SandboxError(401, "unauthorized", "invalid access token")
        if issued.expires_at <= time.monotonic():
            raise SandboxError(401, "unauthorized", "access token expired")
        return issued.account

    def expire_tokens(self) -> int:
        for issued in self.tokens.values():
            issued.expires_at = 0.0
        return len(self.tokens)

    # -- access rules

    def _site_for(self, account: Account, site_id: str) -> SandboxSite:
        site = self.sites.get(site_id)
        if site is None:
            raise SandboxError(404, "site_not_found", f"site {site_id} not found")
        if site_id not in account.site_ids:
            raise SandboxError(403, "forbidden", f"this account has no rights on site {site.uid}")
        return site

    def _iq_for(self, account: Account, site_id: str, iq_id: str) -> Iq:
        self._site_for(account, site_id)
        iq = self.iqs.get(iq_id)
        if iq is None or iq.site_id != site_id:
            raise SandboxError(404, "iq_not_found", f"IQ {iq_id} not found at this site")
        return iq

    @staticmethod
    def _online(iq: Iq, force: str | None = None) -> None:
        """``force``: a scripted fault ("iq_offline", "otp_rejected") that decides instead."""
        if not iq.online or force == "iq_offline":
            raise SandboxError(409, "iq_offline", f"IQ {iq.name} is offline")

    def _check_otp(self, iq: Iq, otp: Any, force: str | None = None) -> None:
        """The OTP must match the IQ's current PIN (one step either side); one that matches a PIN
        the IQ had before says the PIN was changed since."""
        if not isinstance(otp, str) or not otp:
            raise SandboxError(422, "invalid_request", "otp is required")
        if force == "otp_rejected":
            raise SandboxError(403, "otp_rejected", "the one-time password is not valid (scripted)")
        now = self.now()
        if verify_iq_otp(iq.secret, iq.pin, otp, now):
            return
        if any(verify_iq_otp(iq.secret, pin, otp, now) for pin in iq.previous_pins):
            raise SandboxError(403, "pin_changed", "the one-time password was made with an earlier PIN of this IQ")
        raise SandboxError(403, "otp_rejected", "the one-time password is not valid")

    # -- API operations

    def resolve_sites(self, account: Account, uid: str | None) -> list[dict[str, Any]]:
        wanted = (uid or "").strip().casefold()
        return [site.wire() for site in self.sites.values()
                if site.id in account.site_ids and (not wanted or site.uid.casefold() == wanted)]

    def list_locks(self, account: Account, site_id: str) -> list[dict[str, Any]]:
        self._site_for(account, site_id)
        return [lock.wire() for lock in self.locks.values() if lock.site_id == site_id]

    def get_iq(self, account: Account, site_id: str, iq_id: str) -> dict[str, Any]:
        return self._iq_for(account, site_id, iq_id).wire()

    def get_pin(self, account: Account, site_id: str, iq_id: str, force: str | None = None) -> dict[str, Any]:
        iq = self._iq_for(account, site_id, iq_id)
        self._online(iq, force)
        return {"pin": iq.pin, "secret": iq.secret}

    def set_pin(self, account: Account, site_id: str, iq_id: str, body: Any, force: str | None = None
                ) -> dict[str, Any]:
        iq = self._iq_for(account, site_id, iq_id)
        if not isinstance(body, dict):
            raise SandboxError(422, "invalid_request", "the body must be a JSON object")
        new_pin = body.get("newPin")
        if not is_pin(new_pin):
            raise SandboxError(422, "invalid_request", "newPin must be exactly 4 digits")
        self._online(iq, force)
        self._check_otp(iq, body.get("otp"), force)
        iq.change_pin(new_pin, self.now())
        iq.activated = True
        return iq.wire()

    def open_lock(self, account: Account, site_id: str, lock_id: str, body: Any, force: str | None = None
                  ) -> dict[str, Any]:
        self._site_for(account, site_id)
        lock = self.locks.get(lock_id)
        if lock is None or lock.site_id != site_id:
            raise SandboxError(404, "lock_not_found", f"lock {lock_id} not found at this site")
        if not isinstance(body, dict):
            raise SandboxError(422, "invalid_request", "the body must be a JSON object")
        if body.get("locked") is not False:
            raise SandboxError(422, "invalid_request", "only opening (locked: false) is supported")
        reference = body.get("reference")
        if not isinstance(reference, str) or not reference.strip() or len(reference) > MAX_REFERENCE:
            raise SandboxError(422, "invalid_request", f"reference is required (at most {MAX_REFERENCE} characters)")
        now = self.now()

        def refused(error: SandboxError) -> SandboxError:
            self.openings.append(Opening(now, site_id, lock_id, lock.name, reference, account.username, error.code))
            return error

        iq = self.iqs[lock.iq_id]
        try:
            self._online(iq, force)
            if not lock.online:
                raise SandboxError(409, "lock_offline", f"lock {lock.name} does not answer its IQ")
            self._check_otp(iq, body.get("otp"), force)
        except SandboxError as error:
            raise refused(error) from None
        earlier = self._by_reference.get((site_id, reference))
        if earlier is not None:
            self.openings.append(Opening(now, site_id, lock_id, lock.name, reference, account.username, "duplicate"))
            return {"reference": reference, "acceptedAt": _format(earlier.at), "duplicate": True}
        entry = Entry(str(uuid.uuid4()), site_id, lock_id, now, "opened", reference)
        self.entries.append(entry)
        self._by_reference[(site_id, reference)] = entry
        self.openings.append(Opening(now, site_id, lock_id, lock.name, reference, account.username, "opened"))
        return {"reference": reference, "acceptedAt": _format(now)}

    def list_entries(self, account: Account, site_id: str, since: str | None, lock_id: str | None
                     ) -> list[dict[str, Any]]:
        self._site_for(account, site_id)
        if not isinstance(since, str) or not _UTC_Z.match(since):
            raise SandboxError(422, "invalid_request", "since must be UTC in RFC 3339 with a Z, e.g. "
                                                       "2026-06-12T12:00:00Z")
        after = datetime.fromisoformat(since).astimezone(UTC)
        found = [e for e in self.entries
                 if e.site_id == site_id and e.at >= after and (lock_id is None or e.lock_id == lock_id)]
        return [e.wire() for e in sorted(found, key=lambda e: e.at)]

    # -- inspection and scripting (the /_sandbox/ endpoints)

    def inspect_openings(self, lock_id: str | None = None, reference: str | None = None) -> list[dict[str, Any]]:
        return [o.inspect() for o in self.openings
                if (lock_id is None or o.lock_id == lock_id) and (reference is None or o.reference == reference)]

    def inspect_sites(self) -> list[dict[str, Any]]:
        """Everything a developer wants to see, the IQs' PINs included (never their secrets)."""
        return [{**site.wire(),
                 "iqs": [{**iq.wire(), "pin": iq.pin,
                          "pinChangedAt": _format(iq.pin_changed_at) if iq.pin_changed_at else None}
                         for iq in self.iqs.values() if iq.site_id == site.id],
                 "locks": [lock.wire() for lock in self.locks.values() if lock.site_id == site.id]}
                for site in self.sites.values()]

    def stats(self) -> dict[str, Any]:
        outcomes = Counter(o.outcome for o in self.openings)
        return {"calls": dict(self.calls), "tokenRequests": self.calls["token"], "tokensIssued": len(self.tokens),
                "openings": dict(outcomes), "entries": len(self.entries)}

    def iq_of_call(self, iq_id: str | None = None, lock_id: str | None = None) -> Iq | None:
        """The IQ a call is about: named, or the IQ of the lock named."""
        if lock_id is not None:
            lock = self.locks.get(lock_id)
            iq_id = lock.iq_id if lock is not None else None
        return self.iqs.get(iq_id) if iq_id is not None else None

    def _iq(self, iq_id: str) -> Iq:
        iq = self.iqs.get(iq_id)
        if iq is None:
            raise SandboxError(404, "iq_not_found", f"IQ {iq_id} not found")
        return iq

    def update_iq(self, iq_id: str, body: Any) -> dict[str, Any]:
        """Switch an IQ online or offline (``{"online": false}``)."""
        iq = self._iq(iq_id)
        if not isinstance(body, dict) or not isinstance(body.get("online"), bool):
            raise SandboxError(400, "invalid_request", 'an IQ change needs {"online": true|false}')
        iq.online = body["online"]
        return iq.wire()

    def change_pin_elsewhere(self, iq_id: str, body: Any) -> dict[str, Any]:
        """The IQ's PIN changed outside the booking system (another app, the Salto KS portal)."""
        iq = self._iq(iq_id)
        pin = body.get("pin") if isinstance(body, dict) else None
        if pin is None:  # any other PIN
            pin = iq.pin
            while pin == iq.pin:
                pin = f"{secrets.randbelow(10000):04d}"
        if not is_pin(pin):
            raise SandboxError(400, "invalid_request", "pin must be exactly 4 digits")
        iq.change_pin(pin, self.now())
        return {**iq.wire(), "pin": iq.pin}

    def update_lock(self, lock_id: str, body: Any) -> dict[str, Any]:
        """Rename a lock or switch it online/offline."""
        lock = self.locks.get(lock_id)
        if lock is None:
            raise SandboxError(404, "lock_not_found", f"lock {lock_id} not found")
        if not isinstance(body, dict):
            raise SandboxError(400, "invalid_request", "the body must be a JSON object")
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise SandboxError(400, "invalid_request", "name must be a non-empty string")
            lock.name = body["name"]
        if "online" in body:
            lock.online = bool(body["online"])
        return lock.wire()

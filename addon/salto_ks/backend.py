"""Salto KS as a door-access backend: the engine's protocol, spoken through the Salto KS client.

Salto KS issues no credential to a guest: its locks open on request (``AccessModel.OPENS_ON_REQUEST``)
— the booking system signs each open command with the IQ's one-time password while the booking
entitles the guest, and the guest's credential is the product's own open link (the core issues and
revokes it). The connection therefore offers the doors (the site's locks), ``open_lock`` and
``entries``; the access-set calls of the other model refuse with a permanent error that says so
(the core never makes them for this backend).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, Message, Problem, SecretKeyMismatch, secret_box
from addon.door_access.public import (
    AccessModel,
    AccessSet,
    AccessSetRequest,
    BackendError,
    ConnectionReport,
    Door,
    DoorIntegration,
    LockEntry,
)
from addon.door_access.public import OpenAccepted as LockOpenAccepted

from . import connection_test, credentials
from .client import OpenAccepted, SaltoKsClient
from .connection import client_for, close_connector, explain
from .directory import live_doors, site_label
from .errors import SaltoKsError, SaltoKsIqNotActivated, SaltoKsPermanentError, SaltoKsSiteNotResolved
from .models import SaltoKsCredentials
from .otp import iq_otp
from .settings import salto_ks_settings


class OpensOnRequest(SaltoKsPermanentError):
    """An access-set call on a backend whose locks open on request."""

    def __init__(self) -> None:
        super().__init__("Salto KS issues no access sets: its locks open on request, while a booking entitles the "
                         "guest.")
        self.unprocessed = True


class SaltoKsConnection:
    """The protocol's calls for one integration. The client (and the password's decryption) is
    made on the first call, inside the engine's error handling."""

    def __init__(self, host: Host, stored: SaltoKsCredentials, booking_id: int | None) -> None:
        self._host = host
        self._stored = stored
        self._booking_id = booking_id
        self._client: SaltoKsClient | None = None
        self.default_location_id = stored.site_id

    @property
    def client(self) -> SaltoKsClient:
        if self._client is None:
            self._client = client_for(self._host, self._stored, self._booking_id)
        return self._client

    def _site_id(self) -> str:
        if not self._stored.site_id:
            raise SaltoKsSiteNotResolved("The Site ID is not resolved yet: press Resolve site ID.")
        return self._stored.site_id

    async def list_doors(self) -> list[Door]:
        self._site_id()
        return await live_doors(self.client, self._stored)

    def where(self, doors: list[Door]) -> Message:
        return site_label(self._stored)

    async def test_connection(self) -> ConnectionReport:
        try:
            client = self.client
        except SaltoKsError as exc:
            return ConnectionReport(False, self.explain(exc), 0)
        except SecretKeyMismatch:
            return ConnectionReport(False, Message("The stored Password cannot be decrypted with the configured key: "
                                                   "enter it again on the Authentication tab."), 0)
        return await connection_test.test_connection(client, self._stored)

    def explain(self, error: BackendError) -> Message:
        if isinstance(error, OpensOnRequest):
            return Message("Salto KS opens locks on request and issues no access sets.")
        if isinstance(error, SaltoKsError):
            return explain(error, self._stored)
        return Message.verbatim(str(error))

    # -- the credential model: nothing to issue

    async def create_access_set(self, location_id: str, request: AccessSetRequest) -> AccessSet:
        raise OpensOnRequest()

    async def read_access_set(self, location_id: str, set_id: str) -> AccessSet | None:
        raise OpensOnRequest()

    async def find_access_sets(self, location_id: str, external_reference: str) -> list[AccessSet]:
        raise OpensOnRequest()

    async def revoke_access_set(self, location_id: str, set_id: str) -> None:
        raise OpensOnRequest()

    # -- opening on request

    def _signing_keys(self) -> tuple[str, str]:
        """The IQ's PIN and secret, once the IQ OTP setup was done."""
        stored = self._stored
        if stored.iq_activated_at is None or not stored.iq_id or not stored.iq_pin_encrypted \
                or not stored.iq_secret_encrypted:
            raise SaltoKsIqNotActivated("The IQ is not activated: do the IQ OTP setup first.")
        box = secret_box(self._host)
        try:
            return box.decrypt(stored.iq_pin_encrypted), box.decrypt(stored.iq_secret_encrypted)
        except SecretKeyMismatch:
            raise SaltoKsIqNotActivated("The stored PIN of the IQ cannot be decrypted with the configured key: do the "
                                        "IQ OTP setup again.") from None

    async def open_lock(self, lock_id: str, reference: str) -> LockOpenAccepted:
        """Ask Salto KS to open ``lock_id`` now, signed with the IQ's one-time password of this
        moment (the host's clock, UTC). ``reference`` is our idempotency key: sent again (after
        a lost answer) it opens nothing more. Accepted is not opened: ``entries`` confirms."""
        site_id = self._site_id()
        pin, secret = self._signing_keys()
        otp = iq_otp(secret, pin, self._host.clock.now())
        accepted: OpenAccepted = await self.client.open_lock(site_id, lock_id, otp, reference)
        return LockOpenAccepted(accepted=True, duplicate=accepted.duplicate)

    async def entries(self, since: datetime, lock_id: str | None = None) -> list[LockEntry]:
        """What the site's locks (or ``lock_id``) did since ``since``, oldest first; an opening
        carries the reference it was asked with."""
        return [LockEntry(id=e.id, lock_id=e.lock_id, at=e.at, opened=e.opened, reference=e.reference)
                for e in await self.client.list_entries(self._site_id(), since, lock_id)]


class MissingCredentials(SaltoKsPermanentError):
    """The integration has no Authentication tab yet."""


class UnconfiguredConnection:
    """Calls for an integration whose Authentication tab was never filled in: each says so."""

    default_location_id = None

    def __init__(self) -> None:
        self._error = MissingCredentials("The Authentication tab of this integration is not filled in yet.")
        self._error.unprocessed = True

    async def _refuse(self, *args, **kwargs):
        raise self._error

    list_doors = create_access_set = read_access_set = find_access_sets = revoke_access_set = _refuse
    open_lock = entries = _refuse

    def where(self, doors: list[Door]) -> Message:
        return Message.verbatim("Salto KS")

    async def test_connection(self) -> ConnectionReport:
        return ConnectionReport(False, self.explain(self._error), 0)

    def explain(self, error: BackendError) -> Message:
        return Message("Fill in the Authentication tab (Environment, Site UID, Username, Password) first.")


class SaltoKsBackend:
    name = credentials.BACKEND_NAME
    label = "Salto KS"
    access_model = AccessModel.OPENS_ON_REQUEST

    def __init__(self, host: Host) -> None:
        self._host = host

    @property
    def max_concurrency(self) -> int:
        return salto_ks_settings(self._host).concurrency

    @property
    def call_deadline_seconds(self) -> float:
        settings = salto_ks_settings(self._host)
        return settings.connect_timeout + settings.read_timeout

    async def connect(self, host: Host, session: AsyncSession, integration: DoorIntegration,
                      booking_id: int | None = None):
        stored = await credentials.credentials_of(session, integration.id)
        if stored is None:
            return UnconfiguredConnection()
        return SaltoKsConnection(host, stored, booking_id)

    async def configuration_problems(self, session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
        return await credentials.configuration_problems(self._host, session, integration)

    async def aclose(self) -> None:
        await close_connector(self._host)

"""Resivo as a door-access backend: the engine's protocol, spoken through the Resivo client."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, Message, Problem
from addon.door_access.public import (
    AccessSet,
    AccessSetRequest,
    BackendError,
    ConnectionReport,
    Door,
    DoorIntegration,
)

from . import connection_test, credentials
from .client import Authorization, RemoteAccessRequest, ResivoClient
from .connection import client_for, close_connector, explain
from .directory import live_doors, site_label
from .errors import ResivoError, ResivoPermanentError
from .models import ResivoCredentials
from .settings import resivo_settings


def _access_set(found: Authorization) -> AccessSet:
    return AccessSet(id=found.id, active=found.is_active, door_ids=found.component_ids, valid_from=found.valid_from,
                     valid_to=found.valid_to, external_reference=found.external_reference)


class ResivoConnection:
    """The protocol's calls for one integration. The client (and the secret's decryption) is made
    on the first call, inside the engine's error handling."""

    def __init__(self, host: Host, stored: ResivoCredentials, booking_id: int | None) -> None:
        self._host = host
        self._stored = stored
        self._booking_id = booking_id
        self._client: ResivoClient | None = None
        self.default_location_id = stored.site_id

    @property
    def client(self) -> ResivoClient:
        if self._client is None:
            self._client = client_for(self._host, self._stored, self._booking_id)
        return self._client

    async def list_doors(self) -> list[Door]:
        return await live_doors(self.client, self._stored)

    def where(self, doors: list[Door]) -> Message:
        return site_label(self._stored, doors)

    async def create_access_set(self, location_id: str, request: AccessSetRequest) -> AccessSet:
        created = await self.client.create_remote_access(location_id, RemoteAccessRequest(
            display_name=request.display_name,
            component_ids=request.door_ids,
            valid_from=request.valid_from,
            valid_to=request.valid_to,
            recipients=request.recipients,
            locale=request.locale,
            message=request.message,
            legic_app_id=self._stored.target_mobile_app_id,
            external_reference=request.external_reference,
        ))
        return _access_set(created)

    async def read_access_set(self, location_id: str, set_id: str) -> AccessSet | None:
        try:
            found = await self.client.get_authorization(location_id, set_id)
        except ResivoPermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return _access_set(found)

    async def find_access_sets(self, location_id: str, external_reference: str) -> list[AccessSet]:
        return [_access_set(a) for a in await self.client.find_by_reference(location_id, external_reference)]

    async def revoke_access_set(self, location_id: str, set_id: str) -> None:
        await self.client.revoke(location_id, set_id)

    async def test_connection(self) -> ConnectionReport:
        return await connection_test.test_connection(self.client, self._stored)

    def explain(self, error: BackendError) -> Message:
        if isinstance(error, ResivoError):
            return explain(error, self._stored)
        return Message.verbatim(str(error))


class MissingCredentials(ResivoPermanentError):
    """The integration has no Authentication tab yet."""


class UnconfiguredConnection:
    """Calls for an integration whose credentials were never entered: each explains that."""

    default_location_id = None

    def __init__(self) -> None:
        self._error = MissingCredentials("The Authentication tab of this integration is not filled in yet.")

    async def _refuse(self, *args, **kwargs):
        raise self._error

    list_doors = create_access_set = read_access_set = find_access_sets = revoke_access_set = _refuse

    def where(self, doors: list[Door]) -> Message:
        return Message.verbatim("Resivo")

    async def test_connection(self) -> ConnectionReport:
        return ConnectionReport(False, self.explain(self._error), 0)

    def explain(self, error: BackendError) -> Message:
        return Message("Fill in the Authentication tab (Site Owner ID, Client ID, Client secret) first.")


class ResivoBackend:
    name = credentials.BACKEND_NAME
    label = "Resivo"

    def __init__(self, host: Host) -> None:
        self._host = host

    @property
    def max_concurrency(self) -> int:
        return resivo_settings(self._host).concurrency

    @property
    def call_deadline_seconds(self) -> float:
        settings = resivo_settings(self._host)
        return settings.connect_timeout + settings.read_timeout

    async def connect(self, host: Host, session: AsyncSession, integration: DoorIntegration,
                      booking_id: int | None = None):
        stored = await credentials.credentials_of(session, integration.id)
        if stored is None:
            return UnconfiguredConnection()
        return ResivoConnection(host, stored, booking_id)

    async def configuration_problems(self, session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
        return await credentials.configuration_problems(session, integration)

    async def aclose(self) -> None:
        await close_connector(self._host)

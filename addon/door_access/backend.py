"""The backend protocol: what the door-access engine asks of a lock vendor, and nothing more.

A lock vendor is an addon that depends on ``door_access`` and registers one :class:`DoorBackend`
(see :func:`register_backend`). The engine decides *what* should exist at the vendor; a backend
only knows *how* to talk to it. Backends come in two access models (``access_model``):

* **issues a credential**: the vendor gives the guest a credential for a window — the
  connection creates, reads, finds and revokes access sets;
* **opens on request**: the booking system opens the lock when the guest asks, while
  the booking entitles them — the connection opens a lock (``open_lock``) and reports what the
  locks did (``entries``); the guest's credential is the product's own open link, which the core
  issues and revokes as it does a vendor's set (``guest_links``).

Both list the doors an integration can map, test the connection and explain their errors to an
admin. Credentials live in the backend addon's own table, keyed by the integration id.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from addon.base.public import Message, Problem

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from addon.base.public import Host

    from .models import DoorIntegration


# -- errors ----------------------------------------------------------------------------------

class BackendError(Exception):
    """A call to a lock vendor failed. ``str(error)`` is a full sentence for logs and admins and
    never carries a secret; ``status`` is the vendor's HTTP status, if one came back.
    ``unprocessed``: the vendor provably did nothing of what was asked (the request never reached
    it, or it refused it unread, e.g. rate limited); when unsure, ``False``."""

    def __init__(self, text: str, *, status: int | None = None, unprocessed: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.unprocessed = unprocessed

    def __str__(self) -> str:
        return self.text


class TransientBackendError(BackendError):
    """Timeout, unreachable, rate limited, a server error: the same call may succeed later.
    ``retry_after``: seconds the vendor asked us to wait, if it said."""

    def __init__(self, text: str, *, status: int | None = None, retry_after: float | None = None,
                 unprocessed: bool = False) -> None:
        super().__init__(text, status=status, unprocessed=unprocessed)
        self.retry_after = retry_after


class PermanentBackendError(BackendError):
    """The vendor refused: the same call fails the same way until the configuration or the
    booking changes."""


# -- values ----------------------------------------------------------------------------------

class AccessModel(enum.StrEnum):
    """How a backend lets a guest in."""

    ISSUES_CREDENTIAL = "ISSUES_CREDENTIAL"  # the vendor issues a credential for a window (and revokes it)
    OPENS_ON_REQUEST = "OPENS_ON_REQUEST"  # the booking system opens the lock when the guest asks


def access_model_of(backend: "DoorBackend | None") -> AccessModel:
    return AccessModel(getattr(backend, "access_model", AccessModel.ISSUES_CREDENTIAL))


@dataclass(frozen=True)
class Location:
    """Where doors live at the vendor (a site, a property, a building)."""

    id: str
    name: str
    time_zone: str | None = None
    default_locale: str | None = None


@dataclass(frozen=True)
class Door:
    id: str
    name: str  # what an admin maps by: unique across the integration's doors
    online: bool
    location_id: str
    location_name: str
    location_time_zone: str | None = None  # IANA name, when the vendor says


@dataclass(frozen=True)
class Recipient:
    """Who receives the door link: an e-mail address, a phone number or both."""

    email: str | None = None
    phone_number: str | None = None

    def __post_init__(self) -> None:
        if not self.email and not self.phone_number:
            raise ValueError("a recipient needs an e-mail address or a phone number")


@dataclass(frozen=True)
class AccessSetRequest:
    """One access set to create: doors, window (aware UTC), recipients, language, the message for
    the guest, and our idempotency key (``external_reference``)."""

    display_name: str
    door_ids: Sequence[str]
    valid_from: datetime
    valid_to: datetime
    recipients: Sequence[Recipient]
    locale: str
    message: str | None
    external_reference: str
    door_names: Sequence[str] = ()  # the doors' names, in the order of ``door_ids``


@dataclass(frozen=True)
class AccessSet:
    """An access set as the vendor reports it."""

    id: str
    active: bool
    door_ids: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    external_reference: str | None = None
    # A set that opens doors by name (the guest open link) reports the names: compared by them, its
    # doors may change ids at the vendor without the set changing.
    door_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OpenAccepted:
    """The vendor took an open command (``duplicate``: it had this reference already and opened
    nothing more). Accepted is not opened: the lock's entry confirms it."""

    accepted: bool
    duplicate: bool = False


@dataclass(frozen=True)
class LockEntry:
    """Something a lock did, as the vendor reports it; an opening carries the reference it was
    asked with."""

    id: str
    lock_id: str
    at: datetime
    opened: bool
    reference: str | None = None


@dataclass
class ConnectionReport:
    ok: bool
    message: Message
    duration_ms: int
    locations: list[Location] = field(default_factory=list)
    doors: list[Door] = field(default_factory=list)


# -- the protocol ----------------------------------------------------------------------------

@runtime_checkable
class DoorConnection(Protocol):
    """Calls for one integration, with its credentials loaded. Makes no database calls: the
    engine holds no transaction open while the vendor answers."""

    default_location_id: str | None  # where sets are made when the doors do not say

    async def list_doors(self) -> list[Door]:
        """Every door the integration can map, with names unique across them."""

    def where(self, doors: list[Door]) -> Message:
        """Where the doors were looked up, for messages ("site 'Duinpark' (demo-site)")."""

    async def create_access_set(self, location_id: str, request: AccessSetRequest) -> AccessSet: ...

    async def read_access_set(self, location_id: str, set_id: str) -> AccessSet | None:
        """The set, or ``None`` when the vendor no longer has it (unknown, revoked, expired)."""

    async def find_access_sets(self, location_id: str, external_reference: str) -> list[AccessSet]:
        """Sets made under our idempotency key (to adopt one whose create answer was lost)."""

    async def revoke_access_set(self, location_id: str, set_id: str) -> None:
        """Revoke; a set that is already gone counts as done."""

    async def test_connection(self) -> ConnectionReport: ...

    def explain(self, error: BackendError) -> Message:
        """What an admin should do about ``error``."""


class OpensOnRequest(Protocol):
    """The calls of a connection whose backend opens on request (``AccessModel.OPENS_ON_REQUEST``)."""

    async def open_lock(self, lock_id: str, reference: str) -> OpenAccepted:
        """Open the lock now; ``reference`` is our idempotency key (sent again, nothing more opens)."""

    async def entries(self, since: datetime, lock_id: str | None = None) -> list[LockEntry]:
        """What the locks did since ``since``, oldest first."""


class DoorBackend(Protocol):
    """One lock vendor, registered once per process."""

    name: str  # stored on each integration: the backend addon's name
    label: str  # shown to people: the vendor's product name
    # How a guest gets in (AccessModel; absent: ISSUES_CREDENTIAL). A backend that opens on request
    # implements the DoorConnection's door calls and OpensOnRequest, not the access-set calls.
    access_model: AccessModel

    @property
    def max_concurrency(self) -> int:
        """Calls in flight towards this vendor per process, at most."""

    @property
    def call_deadline_seconds(self) -> float:
        """The longest one call may take (connect + read timeouts)."""

    async def connect(self, host: Host, session: AsyncSession, integration: DoorIntegration,
                      booking_id: int | None = None) -> DoorConnection:
        """Load the integration's credentials (inside ``session``'s transaction) and return the
        calls for it; ``booking_id`` goes into the call log of what they do."""

    async def configuration_problems(self, session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
        """What keeps the integration from being activated, as far as the backend is concerned."""

    async def aclose(self) -> None:
        """Release process resources (connection pools) at shutdown."""


# -- the registry ------------------------------------------------------------------------------

class Backends:
    """The backends of one process, by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, DoorBackend] = {}

    def add(self, backend: DoorBackend) -> None:
        self._by_name[backend.name] = backend

    def get(self, name: str) -> DoorBackend | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> DoorBackend:
        try:
            return self._by_name[name]
        except KeyError:
            raise LookupError(f"no door-access backend {name!r} is loaded (known: {', '.join(self.names()) or '-'})") \
                from None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def all(self) -> list[DoorBackend]:
        return [self._by_name[n] for n in self.names()]


def backends(host: Host) -> Backends:
    return host.service(Backends, Backends)


def register_backend(host: Host, backend: DoorBackend) -> None:
    """Called by a lock vendor's addon in its ``register(host)``."""
    backends(host).add(backend)

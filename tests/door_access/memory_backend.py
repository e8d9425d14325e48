"""An in-memory lock vendor for the door-access core's tests: doors in two places, access sets,
and scripted faults (transient and permanent errors, requests lost before the work, answers lost
after it, calls held at a gate until released, and crashes of the calling worker before or after
the work). With a clock, sets expire at the end of their window as a real vendor's do.

It implements the backend protocol of ``addon.door_access.backend`` and nothing more, so the core's
tests prove the seam: no Resivo, no HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field, replace

from addon.base.public import Message, Problem
from addon.door_access.backend import (
    AccessModel,
    AccessSet,
    AccessSetRequest,
    BackendError,
    ConnectionReport,
    Door,
    Location,
    LockEntry,
    OpenAccepted,
    PermanentBackendError,
    TransientBackendError,
)
from addon.door_access.call_log import CallEntry, call_log

NAME = "memory"
HOUSE = Location(id="house", name="Dune house", time_zone="Europe/Amsterdam")
BARN = Location(id="barn", name="Old barn", time_zone="Europe/Amsterdam")


def default_doors() -> list[Door]:
    return [
        Door("d-main", "Main door", True, HOUSE.id, HOUSE.name),
        Door("d-side", "Side door", True, HOUSE.id, HOUSE.name),
        Door("d-room", "Meeting room door", True, HOUSE.id, HOUSE.name),
        Door("d-cellar", "Cellar door", False, HOUSE.id, HOUSE.name),  # offline
        Door("d-barn", "Barn door", True, BARN.id, BARN.name),
    ]


class Crash(BaseException):
    """The calling worker dies here (not an ``Exception``: nothing in the engine catches it, so its
    lease stays taken until it runs out, as after a kill)."""


@dataclass
class Gate:
    """Holds a call until the test opens it; then the call does its work (or, ``drop``, loses the
    request) as if it had only been slow."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    drop: bool = False
    waiting: int = 0

    def open(self, drop: bool = False) -> None:
        self.drop = drop
        self.opened.set()


@dataclass
class Fault:
    """What the next matching call does instead of (or after) its work."""

    operation: str | None  # None: any operation
    # "transient" (a 5xx or 429, nothing done), "permanent" (refused), "lost" (the work is done, the
    # answer lost), "dropped" (the request never arrived: no answer, nothing done), "crash_before" /
    # "crash_after" (the caller dies before the call goes out / once the work is done), "gate"
    # (held until ``gate`` is opened)
    kind: str
    times: int = 1
    status: int | None = None
    retry_after: float | None = None
    message: str = "scripted failure"
    unprocessed: bool = False  # the vendor says it did nothing (e.g. rate limited)
    gate: Gate | None = None


@dataclass
class StoredSet:
    access: AccessSet
    location_id: str
    request: AccessSetRequest


@dataclass
class MemoryVendor:
    """The vendor's state, shared by every connection of the backend."""

    doors: list[Door] = field(default_factory=default_doors)
    sets: dict[str, StoredSet] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    latency: float = 0.0
    # Where sets are made when the doors do not say (None: like Resivo without a Site ID).
    default_location: str | None = HOUSE.id
    in_flight: int = 0
    max_in_flight: int = 0
    clock: object | None = None  # with a clock (``now()``), sets expire when their window ends
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- scripting

    def fail(self, operation: str | None = None, kind: str = "transient", times: int = 1, **details) -> None:
        self.faults.append(Fault(operation, kind, times, **details))

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_online(self, name: str, online: bool) -> None:
        self.doors = [replace(d, online=online) if d.name == name else d for d in self.doors]

    def rename(self, name: str, new_name: str) -> None:
        self.doors = [replace(d, name=new_name) if d.name == name else d for d in self.doors]

    def change_id(self, name: str, new_id: str) -> None:
        self.doors = [replace(d, id=new_id) if d.name == name else d for d in self.doors]

    def revoke_behind_our_back(self, set_id: str) -> None:
        stored = self.sets[set_id]
        stored.access = replace(stored.access, active=False)

    # -- looking

    def active_sets(self) -> list[StoredSet]:
        return [s for s in self.sets.values() if self.is_live(s)]

    def is_live(self, stored: StoredSet) -> bool:
        """Not revoked, and (with a clock) its window not over."""
        if not stored.access.active:
            return False
        return self.clock is None or stored.access.valid_to is None or stored.access.valid_to > self.clock.now()

    def seen(self, stored: StoredSet) -> AccessSet:
        """The set as a read reports it: expired once its window is over."""
        return stored.access if self.is_live(stored) or not stored.access.active else replace(stored.access,
                                                                                             active=False)

    def sets_for(self, reference_prefix: str) -> list[StoredSet]:
        return [s for s in self.sets.values() if (s.access.external_reference or "").startswith(reference_prefix)]

    # -- one call

    def _fault_for(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation in (None, operation) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def call(self, operation: str, work):
        self.calls[operation] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            fault = self._fault_for(operation)
            if fault is not None and fault.kind == "gate":
                fault.gate.waiting += 1
                try:
                    await fault.gate.opened.wait()
                finally:
                    fault.gate.waiting -= 1
                if fault.gate.drop:
                    raise TransientBackendError(f"The vendor did not answer {operation} in time")
            if fault is not None and fault.kind == "crash_before":
                raise Crash(f"crash before {operation}")
            if fault is not None and fault.kind == "dropped":
                raise TransientBackendError(f"The vendor could not be reached for {operation}")
            if fault is not None and fault.kind == "transient":
                raise TransientBackendError(f"The vendor answered {fault.status or 503} to {operation}: {fault.message}",
                                            status=fault.status or 503, retry_after=fault.retry_after,
                                            unprocessed=fault.unprocessed)
            if fault is not None and fault.kind == "permanent":
                raise PermanentBackendError(f"The vendor refused {operation} ({fault.status or 400}): {fault.message}",
                                            status=fault.status or 400)
            result = work()
            if fault is not None and fault.kind == "lost":
                raise TransientBackendError(f"The vendor did not answer {operation} in time")
            if fault is not None and fault.kind == "crash_after":
                raise Crash(f"crash after {operation}")
            return result
        finally:
            self.in_flight -= 1

    def next_id(self) -> str:
        return f"set-{next(self._ids)}"


class MemoryConnection:
    """The protocol's calls for one integration."""

    def __init__(self, host, vendor: MemoryVendor, integration_id: int, booking_id: int | None) -> None:
        self.default_location_id = vendor.default_location
        self.host = host
        self.vendor = vendor
        self.integration_id = integration_id
        self.booking_id = booking_id

    async def _call(self, operation: str, work):
        outcome, error = "ok", None
        try:
            return await self.vendor.call(operation, work)
        except BackendError as exc:
            outcome = "transient" if isinstance(exc, TransientBackendError) else "permanent"
            error = str(exc)
            raise
        finally:
            call_log(self.host).record(CallEntry(self.integration_id, self.booking_id, operation, "CALL", f"/{operation}",
                                                 None, 0.0, outcome, error))

    async def list_doors(self) -> list[Door]:
        return await self._call("list_doors", lambda: list(self.vendor.doors))

    def where(self, doors: list[Door]) -> Message:
        return Message.verbatim("the memory lock")

    async def create_access_set(self, location_id: str, request: AccessSetRequest) -> AccessSet:
        def create() -> AccessSet:
            known = {d.id for d in self.vendor.doors if d.location_id == location_id}
            unknown = [d for d in request.door_ids if d not in known]
            if unknown:
                raise PermanentBackendError(f"unknown doors {unknown} in {location_id}", status=422)
            access = AccessSet(id=self.vendor.next_id(), active=True, door_ids=tuple(request.door_ids),
                               valid_from=request.valid_from.replace(microsecond=0),
                               valid_to=request.valid_to.replace(microsecond=0),
                               external_reference=request.external_reference)
            self.vendor.sets[access.id] = StoredSet(access, location_id, request)
            return access

        return await self._call("create", create)

    async def read_access_set(self, location_id: str, set_id: str) -> AccessSet | None:
        def read():
            stored = self.vendor.sets.get(set_id)
            return self.vendor.seen(stored) if stored is not None and stored.location_id == location_id else None

        return await self._call("read", read)

    async def find_access_sets(self, location_id: str, external_reference: str) -> list[AccessSet]:
        return await self._call("find", lambda: [self.vendor.seen(s) for s in self.vendor.sets.values()
                                                 if s.location_id == location_id
                                                 and s.access.external_reference == external_reference])

    async def revoke_access_set(self, location_id: str, set_id: str) -> None:
        def revoke() -> None:
            stored = self.vendor.sets.get(set_id)
            if stored is not None:
                stored.access = replace(stored.access, active=False)

        await self._call("revoke", revoke)

    async def test_connection(self) -> ConnectionReport:
        try:
            doors = await self.list_doors()
        except BackendError as exc:
            return ConnectionReport(False, self.explain(exc), 0)
        return ConnectionReport(True, Message.verbatim(f"{len(doors)} doors"), 0, locations=[HOUSE, BARN], doors=doors)

    def explain(self, error: BackendError) -> Message:
        return Message.verbatim(f"memory lock: {error}")


class MemoryBackend:
    name = NAME
    label = "Memory lock"

    def __init__(self, vendor: MemoryVendor | None = None, concurrency: int = 8) -> None:
        self.vendor = vendor or MemoryVendor()
        self.concurrency = concurrency
        self.problems: list[Problem] = []  # what configuration_problems answers
        self.closed = False

    @property
    def max_concurrency(self) -> int:
        return self.concurrency

    @property
    def call_deadline_seconds(self) -> float:
        return 1.0

    async def connect(self, host, session, integration, booking_id=None) -> MemoryConnection:
        return MemoryConnection(host, self.vendor, integration.id, booking_id)

    async def configuration_problems(self, session, integration) -> list[Problem]:
        return list(self.problems)

    async def aclose(self) -> None:
        self.closed = True


# -- a lock that opens on request ---------------------------------------------------------------

OPENS_ON_REQUEST_NAME = "memory_open"


class OnRequestConnection(MemoryConnection):
    """The same doors, opened when asked: every open the vendor carries out is an entry."""

    def __init__(self, host, vendor: "OnRequestVendor", integration_id: int, booking_id: int | None) -> None:
        super().__init__(host, vendor, integration_id, booking_id)

    async def open_lock(self, lock_id: str, reference: str) -> OpenAccepted:
        def open_() -> OpenAccepted:
            if lock_id not in {d.id for d in self.vendor.doors}:
                raise PermanentBackendError(f"unknown lock {lock_id}", status=404)
            duplicate = any(e.reference == reference for e in self.vendor.entries)
            if not duplicate:
                self.vendor.entries.append(LockEntry(id=f"entry-{len(self.vendor.entries) + 1}", lock_id=lock_id,
                                                     at=self.host.clock.now(), opened=True, reference=reference))
            return OpenAccepted(accepted=True, duplicate=duplicate)

        return await self._call("open", open_)

    async def entries(self, since, lock_id: str | None = None) -> list[LockEntry]:
        return await self._call("entries", lambda: [e for e in self.vendor.entries if e.at >= since
                                                    and (lock_id is None or e.lock_id == lock_id)])


@dataclass
class OnRequestVendor(MemoryVendor):
    entries: list[LockEntry] = field(default_factory=list)


class OnRequestBackend(MemoryBackend):
    name = OPENS_ON_REQUEST_NAME
    label = "Memory lock that opens on request"
    access_model = AccessModel.OPENS_ON_REQUEST

    def __init__(self, vendor: OnRequestVendor | None = None, concurrency: int = 8) -> None:
        super().__init__(vendor or OnRequestVendor(), concurrency)

    async def connect(self, host, session, integration, booking_id=None) -> OnRequestConnection:
        return OnRequestConnection(host, self.vendor, integration.id, booking_id)

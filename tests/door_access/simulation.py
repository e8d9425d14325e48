"""A simulation of door access under faults: a hypothesis state machine drives the real engine (the
booking services, the door-access core, its worker and sweep, on a real database) against the
in-memory lock vendor with a manual clock, and searches for a schedule of changes and faults after
which the engine does not converge to what the bookings imply.

Rules: status moves (allowed and forced), date and object changes, mapping changes, activation
toggles, archiving and restoring, staff revokes and resyncs, door ids changed at the vendor, clock
jumps, worker rounds and sweep rounds, and faults on the vendor's next calls — the request lost,
the answer lost, 503 and 429, permanent refusals, a crash of the worker before or after a call,
and two workers racing (one held at a vendor call while its lease runs out and another takes
over). After the schedule, faults stop and the engine runs to rest; then the invariant is checked
against a model of its own (``Model``), written from the rules, not from the engine:

* every booking has exactly one live set through an integration if and only if it is entitled to
  one (a trigger status decided last, the integration active, the object mapped, the window not
  over) and that set gives the wanted doors and window — unless its grant FAILED, which only a
  scripted permanent refusal may cause, and then with a reason;
* an integration that is inactive (or archived keeping access) holds at most the one set it gave;
* no live set exists that no grant names; nothing in the journal is unresolved; no grant is due.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from sqlalchemy import select

from addon.base.public import Host, ValidationFailed, commit, load_host
from addon.booking.public import (
    CustomerData,
    create_booking,
    create_booking_field,
    create_object,
    set_booking_status,
    update_booking,
)
from addon.door_access import mapping_edit, policy, repair
from addon.door_access.archiving import LiveAccess, archive_integration
from addon.door_access.backend import register_backend
from addon.door_access.leases import claim_due, lease_seconds
from addon.door_access.backend import AccessSet
from addon.door_access.models import UNRESOLVED, AccessGrant, AccessSetRecord, GrantState
from addon.door_access.on_request.models import GuestLink
from addon.door_access.reconcile import drain_background, reconcile_grant, reconcile_now
from addon.door_access.sweep import sweep_once
from addon.door_access.worker import Worker
from tests.conftest import base_environ
from tests.door_access.memory_backend import (
    OPENS_ON_REQUEST_NAME,
    Crash,
    Fault,
    Gate,
    MemoryBackend,
    MemoryVendor,
    OnRequestBackend,
    OnRequestVendor,
)
from tests.support.clock import ManualClock

STATUSES = ["option", "confirmed", "paid", "checked_in", "checked_out", "cancelled"]
OBJECTS = {"building": None, "studio-1": "building", "studio-2": "building", "room": None}
DOOR_NAMES = ["Main door", "Side door", "Meeting room door"]  # one place: any mapping of them is usable
# Two integrations: one on the studio building (its studios inherit it), one on the room.
# Three integrations: two whose vendor issues credentials (one on the studio building, whose studios
# inherit it, one on the room) and a lock that opens on request on one studio (the open links).
INTEGRATIONS = [
    dict(name="Studios", backend="memory", trigger=["confirmed", "paid"], revoke=["cancelled"], time_before=30,
         mapping={"building": ["Main door", "Side door"]}),
    dict(name="Rooms", backend="memory", trigger=["confirmed"], revoke=["cancelled"], time_before=0,
         mapping={"room": ["Meeting room door"]}),
    dict(name="Studio lock", backend=OPENS_ON_REQUEST_NAME, trigger=["confirmed", "checked_in"], revoke=[],
         time_before=60, mapping={"studio-2": ["Side door"]}),
]
FAULT_KINDS = ["transient", "rate_limited", "lost", "dropped", "permanent", "crash_before", "crash_after"]
OPERATIONS = [None, "create", "read", "find", "revoke", "list_doors"]
SETTINGS = dict(IRESERVE_RECONCILE_WAIT="60", IRESERVE_RETRY_BASE="1", IRESERVE_RETRY_MAX="30",
                IRESERVE_LEASE_SECONDS="15", IRESERVE_SWEEP_INTERVAL="60", IRESERVE_DOOR_DIRECTORY_TTL="30",
                IRESERVE_WORKER="false", IRESERVE_SWEEP_CALLS_PER_MINUTE="600")
STEP_TIMEOUT = 120  # real seconds: a step (or the run to rest) that takes longer hangs
REST_STEP = 61  # seconds: past any backoff, lease, answer deadline, door-list age and sweep freshness
REST_ROUNDS = 15


@dataclass
class Counts:
    """What a run tried (``make simulate`` prints it)."""

    schedules: int = 0
    steps: int = 0
    faults: int = 0
    races: int = 0
    checks: int = 0


COUNTS = Counts()


# -- the model: what the rules did, and what it entitles each booking to ----------------------------

@dataclass
class BookingModel:
    id: int
    history: list[str]  # status codes, oldest first; the last is the current one
    start: datetime
    end: datetime
    object: str


@dataclass
class IntegrationModel:
    id: int
    trigger: list[str]
    revoke: list[str]
    time_before: int
    mapping: dict[str, list[str]]
    active: bool = True
    archived: str | None = None  # None, "keep_until_end" or "revoke_now"
    on_request: bool = False  # a lock that opens on request: the current status alone decides


@dataclass
class Model:
    bookings: dict[int, BookingModel] = field(default_factory=dict)
    integrations: dict[int, IntegrationModel] = field(default_factory=dict)
    revoked_by_staff: set[tuple[int, int]] = field(default_factory=set)
    permanent_faults: bool = False  # a refusal was scripted: a FAILED grant may be the right outcome

    @staticmethod
    def statuses_grant(history: list[str], integration: IntegrationModel) -> bool:
        if integration.on_request:
            return history[-1] in integration.trigger
        for code in reversed(history):
            if code in integration.revoke:
                return False
            if code in integration.trigger:
                return True
        return False

    @staticmethod
    def door_names(obj: str, integration: IntegrationModel) -> list[str]:
        node = obj
        while node is not None:
            if integration.mapping.get(node):
                return integration.mapping[node]
            node = OBJECTS[node]
        return []

    def expected(self, booking: BookingModel, integration: IntegrationModel, now: datetime) -> str:
        """LIVE (exactly one set, the wanted one), KEEP (at most the one set given) or NONE."""
        if (booking.id, integration.id) in self.revoked_by_staff or integration.archived == "revoke_now":
            return "NONE"
        if not self.statuses_grant(booking.history, integration) or not self.door_names(booking.object, integration):
            return "NONE"
        if booking.end <= now:
            return "NONE"  # the window is over: every set has expired
        if not integration.active or integration.archived:
            return "KEEP"
        return "LIVE"

    def window(self, booking: BookingModel, integration: IntegrationModel) -> tuple[datetime, datetime]:
        return booking.start - timedelta(minutes=integration.time_before), booking.end


# -- the machine ----------------------------------------------------------------------------------

class AccessSimulation(RuleBasedStateMachine):
    # Set by the test: returns (database URL, a callable dropping that database afterwards).
    database: Callable[[Path], Awaitable[tuple[str, Callable[[], Awaitable[None]]]]] = None
    # SQLite only: the world every schedule starts from is made once and copied (a file and the
    # model that describes it); ids and times in it are the same for every schedule.
    reuse_world: bool = False
    _world: tuple[Path, Model, dict[str, int]] | None = None

    def __init__(self) -> None:
        super().__init__()
        COUNTS.schedules += 1
        self.loop = asyncio.new_event_loop()
        # In memory where the system offers it: thousands of small databases, no disk flushes.
        shm = Path("/dev/shm")
        self.folder = Path(tempfile.mkdtemp(prefix="ireserve-sim-", dir=shm if shm.is_dir() else None))
        self.clock = ManualClock(datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc))
        self.vendor = MemoryVendor(clock=self.clock)
        self.on_request_vendor = OnRequestVendor(doors=self.vendor.doors)
        self.other: Host | None = None
        self.model = Model()
        self.objects: dict[str, int] = {}
        self.gates: list[tuple[Gate, asyncio.Task]] = []
        self.run(self._set_up())

    def run(self, coroutine):
        """Run one step to its end; a step that does not end is a failure of the engine (liveness)."""
        async def bounded():
            try:
                return await asyncio.wait_for(coroutine, STEP_TIMEOUT)
            except asyncio.TimeoutError:
                raise AssertionError(f"a step did not end within {STEP_TIMEOUT} s: the engine hangs") from None

        return self.loop.run_until_complete(bounded())

    # -- set-up and tear-down

    def _open_host(self, url: str) -> None:
        self.host: Host = load_host(environ=base_environ(self.folder, url, **SETTINGS), clock=self.clock)
        register_backend(self.host, MemoryBackend(self.vendor))
        register_backend(self.host, OnRequestBackend(self.on_request_vendor))

    async def _set_up(self) -> None:
        cls = type(self)
        if cls.reuse_world and cls._world is not None:
            world, model, objects = cls._world
            target = self.folder / "simulation.sqlite3"
            shutil.copyfile(world, target)
            self._drop = self._nothing
            self.model, self.objects = copy.deepcopy(model), dict(objects)
            self._open_host(f"sqlite+aiosqlite:///{target}")
            return
        url, self._drop = await cls.database(self.folder)
        self._open_host(url)
        await self._build_world()
        if cls.reuse_world:
            await self.host.database.dispose()  # every page in the file (the write-ahead log checkpointed)
            kept = Path(tempfile.mkdtemp(prefix="ireserve-sim-world-")) / "world.sqlite3"
            shutil.copyfile(url.removeprefix("sqlite+aiosqlite:///"), kept)
            cls._world = (kept, copy.deepcopy(self.model), dict(self.objects))

    @staticmethod
    async def _nothing() -> None:
        pass

    async def _build_world(self) -> None:
        async with self.host.database.session() as session:
            await create_booking_field(self.host, session, code="door_authorization_id", label="Door id")
            await create_booking_field(self.host, session, code="door_opened_at", label="First opened")
            for code, parent in OBJECTS.items():
                row = await create_object(self.host, session, code=code, name=code.title(), time_zone="Europe/Amsterdam",
                                          parent_id=self.objects.get(parent))
                self.objects[code] = row.id
            for spec in INTEGRATIONS:
                on_request = spec["backend"] == OPENS_ON_REQUEST_NAME
                integration = await policy.create_integration(self.host, session, spec["backend"], policy.PolicyChanges(
                    name=spec["name"], trigger_statuses=spec["trigger"], revoke_statuses=spec["revoke"],
                    time_before_minutes=spec["time_before"], default_language="nl",
                    authorization_id_field=None if on_request else "door_authorization_id",
                    open_action_field="door_opened_at" if on_request else None))
                for obj, names in spec["mapping"].items():
                    await mapping_edit.set_door_mapping(session, integration, self.objects[obj], names, DOOR_NAMES,
                                                        None, self.clock.now())
                await policy.set_active(self.host, session, integration.id, True)
                self.model.integrations[integration.id] = IntegrationModel(
                    integration.id, spec["trigger"], spec["revoke"], spec["time_before"], dict(spec["mapping"]),
                    on_request=on_request)
            await commit(session)
        for n in range(3):
            await self._new_booking(n, "studio-1" if n < 2 else "room", days=2 + n, nights=2)

    async def _new_booking(self, n: int, obj: str, days: int, nights: int) -> None:
        start = (self.clock.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
        async with self.host.database.session() as session:
            booking = await create_booking(self.host, session, object_id=self.objects[obj], start=start,
                                           end=start + timedelta(days=nights), status="option",
                                           customer=CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com",
                                                                 language="de"))
            await commit(session)
        self.model.bookings[booking.id] = BookingModel(booking.id, ["option"], start, start + timedelta(days=nights), obj)

    def teardown(self) -> None:
        try:
            self.check_at_rest()
        finally:
            self._close()

    def _other_process(self) -> Host:
        """A second process on the same database and vendors (its own engine, door list, slots)."""
        if self.other is None:
            self.other = load_host(environ=self.host.environ, clock=self.clock)
            register_backend(self.other, MemoryBackend(self.vendor))
            register_backend(self.other, OnRequestBackend(self.on_request_vendor))
        return self.other

    def _close(self) -> None:
        try:
            self._open_gates()
            self.run(self._settle())
            self.loop.run_until_complete(self._cancel_leftovers())  # not bounded: it cancels what it finds
            if self.other is not None:
                self.run(self.other.database.dispose())
            self.run(self.host.database.dispose())
            self.run(self._drop())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers

    def _booking(self, index: int) -> BookingModel:
        return list(self.model.bookings.values())[index % len(self.model.bookings)]

    def _integration(self, index: int) -> IntegrationModel:
        return list(self.model.integrations.values())[index % len(self.model.integrations)]

    async def _change(self, work) -> bool:
        """Run a service the way a mutation does (one transaction, then its follow-ups: the
        reconcile right after the commit); False when the service refused it."""
        try:
            async with self.host.database.session() as session:
                await work(session)
                await commit(session)
        except ValidationFailed:
            return False
        except Crash:
            pass  # a reconcile right after the commit died: its lease runs out
        await self._settle()
        return True

    @staticmethod
    async def _cancel_leftovers() -> None:
        """Tasks nothing waits for any more (a reconcile that died half-way) end with the schedule."""
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)

    async def _settle(self) -> None:
        """Let reconciles that requests started finish (a crashed one is over too)."""
        await drain_background(self.host)

    def _open_gates(self, drop: bool = False) -> None:
        for gate, _ in self.gates:
            gate.open(drop)

    def step(self) -> None:
        COUNTS.steps += 1

    # -- rules: the booking domain

    @rule(index=st.integers(0, 9), status=st.sampled_from(STATUSES), force=st.booleans())
    def move_status(self, index, status, force):
        self.step()
        booking = self._booking(index)
        moved = self.run(self._change(lambda s: set_booking_status(self.host, s, booking.id, status, force=force)))
        if moved and booking.history[-1] != status:
            booking.history.append(status)
            for integration in self.model.integrations.values():
                if status in integration.trigger or status in integration.revoke:
                    self.model.revoked_by_staff.discard((booking.id, integration.id))

    @rule(index=st.integers(0, 9), hours=st.integers(-96, 96), nights=st.integers(1, 4))
    def change_dates(self, index, hours, nights):
        self.step()
        booking = self._booking(index)
        start = booking.start + timedelta(hours=hours)
        end = start + timedelta(days=nights)
        if self.run(self._change(lambda s: update_booking(self.host, s, booking.id, start=start, end=end))):
            booking.start, booking.end = start, end

    @rule(index=st.integers(0, 9), obj=st.sampled_from(list(OBJECTS)))
    def change_object(self, index, obj):
        self.step()
        booking = self._booking(index)
        if self.run(self._change(lambda s: update_booking(self.host, s, booking.id, object_id=self.objects[obj]))):
            booking.object = obj

    @precondition(lambda self: len(self.model.bookings) < 6)
    @rule(obj=st.sampled_from(list(OBJECTS)), days=st.integers(0, 6), nights=st.integers(1, 3))
    def new_booking(self, obj, days, nights):
        self.step()
        self.run(self._new_booking(len(self.model.bookings), obj, days, nights))

    # -- rules: configuration

    @rule(which=st.integers(0, 2), obj=st.sampled_from(list(OBJECTS)),
          names=st.lists(st.sampled_from(DOOR_NAMES), max_size=2, unique=True))
    def change_mapping(self, which, obj, names):
        self.step()
        integration = self._integration(which)

        async def work(session):
            row = await policy.get_integration(session, integration.id, lock=True)
            await mapping_edit.set_door_mapping(session, row, self.objects[obj], names, DOOR_NAMES, None,
                                                self.clock.now())

        if self.run(self._change(work)):
            if names:
                integration.mapping[obj] = list(names)
            else:
                integration.mapping.pop(obj, None)

    @rule(which=st.integers(0, 2), active=st.booleans())
    def set_active(self, which, active):
        self.step()
        integration = self._integration(which)
        if self.run(self._change(lambda s: policy.set_active(self.host, s, integration.id, active))):
            integration.active = active

    @rule(which=st.integers(0, 2), choice=st.sampled_from(list(LiveAccess)), restore=st.booleans())
    def archive(self, which, choice, restore):
        self.step()
        integration = self._integration(which)
        if restore:
            if self.run(self._change(lambda s: archive_integration(self.host, s, integration.id, False, None))):
                integration.archived = None
            return
        if integration.archived is None and self.run(
                self._change(lambda s: archive_integration(self.host, s, integration.id, True, choice))):
            integration.archived, integration.active = choice.value, False

    # -- rules: staff repairs

    @rule(index=st.integers(0, 9))
    def staff_revoke(self, index):
        self.step()
        booking = self._booking(index)

        async def work(session):
            booking_row, grant_ids = await repair.revoke(self.host, session, booking.id, "staff")
            self._revoked = grant_ids

        self._revoked = []
        if self.run(self._change(work)):
            self.run(reconcile_now(self.host, self._revoked))
            self.run(self._grants_of(booking.id))
            for integration_id in self._integration_ids:
                self.model.revoked_by_staff.add((booking.id, integration_id))

    async def _grants_of(self, booking_id: int) -> None:
        async with self.host.database.session() as session:
            self._integration_ids = set((await session.execute(
                select(AccessGrant.integration_id).where(AccessGrant.booking_id == booking_id))).scalars().all())
            await session.commit()

    @rule(index=st.integers(0, 9))
    def staff_resync(self, index):
        self.step()
        booking = self._booking(index)

        async def work(session):
            _, self._resynced = await repair.resync(self.host, session, booking.id)

        self._resynced = []
        if self.run(self._change(work)):
            try:
                self.run(reconcile_now(self.host, self._resynced))
            except Crash:
                pass
            for integration in self.model.integrations.values():
                self.model.revoked_by_staff.discard((booking.id, integration.id))

    # -- rules: the world

    @rule(name=st.sampled_from(DOOR_NAMES))
    def door_id_changes_at_the_vendor(self, name):
        self.step()
        current = next(d.id for d in self.vendor.doors if d.name == name)
        self.vendor.change_id(name, f"{current.split('~')[0]}~{COUNTS.steps}")

    @rule(seconds=st.sampled_from([1, 10, 20, 45, 120, 3600, 86400, 3 * 86400]))
    def clock_jump(self, seconds):
        self.step()
        self._open_gates()  # a call never outlives its deadline: what was held is answered first
        self.clock.advance(seconds)

    @rule(operation=st.sampled_from(["create", "revoke"]), request_too=st.booleans())
    def lose_the_next_answer(self, operation, request_too):
        """The faults that matter most, more often: a create or revoke whose answer (or request) is lost."""
        self.fault(operation, "dropped" if request_too else "lost", 1)

    @rule(operation=st.sampled_from(OPERATIONS), kind=st.sampled_from(FAULT_KINDS), times=st.integers(1, 3))
    def fault(self, operation, kind, times):
        self.step()
        COUNTS.faults += 1
        details = {}
        if kind == "rate_limited":
            kind, details = "transient", dict(status=429, retry_after=2.0, unprocessed=True)
        if kind == "permanent":
            self.model.permanent_faults = True
            details = dict(status=422)
        self.vendor.faults.append(Fault(operation, kind, times, **details))

    # -- rules: the engine's own rounds

    @rule()
    def worker_round(self):
        self.step()
        try:
            self.run(Worker(self.host, "worker-a").run_once())
        except Crash:
            pass

    @rule()
    def sweep_round(self):
        self.step()
        try:
            self.run(sweep_once(self.host, budget=50))
        except Crash:
            pass
        self.run(self._settle())

    @rule(operation=st.sampled_from(["create", "revoke", "find", "read", "list_doors"]), drop=st.booleans())
    def two_workers_race(self, operation, drop):
        """Worker A is held at its next call while its lease runs out; worker B takes the grant over
        and finishes it; then A's call goes through (or is lost) and A writes what it learned."""
        self.step()
        COUNTS.races += 1
        gate = Gate()
        self.vendor.faults.insert(0, Fault(operation, "gate", 1, gate=gate))

        async def one_grant_of_worker_a():
            # One grant, so that the held call is the only thing in flight: the schedule replays.
            for grant_id, backend in await claim_due(self.host, "worker-a", 1, lease_seconds(self.host)):
                await reconcile_grant(self.host, grant_id, "worker-a", backend)

        async def race():
            first = asyncio.get_running_loop().create_task(one_grant_of_worker_a())
            while not first.done() and gate.waiting == 0:
                await asyncio.sleep(0.001)
            if gate.waiting:
                self.clock.advance(16)  # A's lease runs out (no heartbeat in a held process)
                try:
                    await Worker(self._other_process(), "worker-b").run_once()
                except Crash:
                    pass
                gate.open(drop)
            try:
                await first
            except Crash:
                pass

        self.run(race())
        self.vendor.faults = [f for f in self.vendor.faults if f.gate is not gate]

    # -- at rest: the invariant

    @rule()
    def check_at_rest(self) -> None:
        """Faults stop, the engine runs to rest, and the invariant must hold (also at the end of
        every schedule; the schedule may go on from the rest reached here)."""
        self.step()
        COUNTS.checks += 1
        self._open_gates()
        self.vendor.faults.clear()
        self.run(self._to_rest())
        self.run(self._check())

    async def _to_rest(self) -> None:
        worker = Worker(self.host, "worker-rest")
        for _ in range(REST_ROUNDS):
            self.clock.advance(REST_STEP)
            claimed = await worker.run_until_idle()
            runs = await sweep_once(self.host, budget=1000)
            await self._settle()
            repaired = sum(r.drifted + r.unresolved + r.errors for r in runs)
            if not claimed and not repaired and not await self._due():
                return
        raise AssertionError(f"the engine did not come to rest within {REST_ROUNDS} rounds")

    async def _due(self) -> list[AccessGrant]:
        async with self.host.database.session() as session:
            rows = (await session.execute(select(AccessGrant).where(AccessGrant.next_attempt_at.is_not(None)))).scalars().all()
            await session.commit()
            return list(rows)

    async def _live_links(self, now: datetime) -> list[GuestLink]:
        async with self.host.database.session() as session:
            links = (await session.execute(select(GuestLink).where(
                GuestLink.revoked_at.is_(None), GuestLink.valid_to > now))).scalars().all()
            await session.commit()
        return list(links)

    async def _check(self) -> None:
        now = self.clock.now()
        async with self.host.database.session() as session:
            grants = {(g.booking_id, g.integration_id): g
                      for g in (await session.execute(select(AccessGrant))).scalars().all()}
            unresolved = (await session.execute(
                select(AccessSetRecord).where(AccessSetRecord.status.in_(UNRESOLVED)))).scalars().all()
            await session.commit()
        assert not unresolved, f"unresolved journal records at rest: {unresolved}"
        owned = {(g.integration_id, g.authorization_id) for g in grants.values() if g.authorization_id}
        live = self.vendor.active_sets()
        links = await self._live_links(now)
        credential = {i.id for i in self.model.integrations.values() if not i.on_request}
        orphans = [s.access.id for s in live
                   if not any((i, s.access.id) in owned for i in credential)]
        orphans += [f"link {link.id}" for link in links if (link.integration_id, str(link.id)) not in owned]
        assert not orphans, f"live sets no grant names: {orphans}"
        door_ids = {d.name: d.id for d in self.vendor.doors}
        for booking in self.model.bookings.values():
            for integration in self.model.integrations.values():
                prefix = f"ireserve-i{integration.id}-b{booking.id}-g"
                sets = ([_link_as_set(link) for link in links if link.reference.startswith(prefix)]
                        if integration.on_request else
                        [s for s in live if (s.access.external_reference or "").startswith(prefix)])
                grant = grants.get((booking.id, integration.id))
                expected = self.model.expected(booking, integration, now)
                where = f"booking {booking.id} through integration {integration.id} ({expected}): {grant}, {sets}"
                if grant is not None and grant.state == GrantState.FAILED:
                    assert grant.last_error, f"FAILED without a reason: {where}"
                if expected == "NONE":
                    assert not sets, f"a live set although not entitled: {where}"
                elif expected == "KEEP":
                    assert len(sets) <= 1, f"more than one live set: {where}"
                else:
                    if grant is not None and grant.state == GrantState.FAILED and not sets:
                        assert self.model.permanent_faults, f"FAILED with no refusal scripted: {where}"
                        continue
                    assert len(sets) == 1, f"not exactly one live set although entitled: {where}"
                    names = Model.door_names(booking.object, integration)
                    valid_from, valid_to = self.model.window(booking, integration)
                    found = sets[0].access
                    wanted_doors = sorted(names) if integration.on_request else sorted(door_ids[n] for n in names)
                    assert sorted(found.door_ids) == wanted_doors, f"wrong doors: {where}"
                    assert (found.valid_from, found.valid_to) == (valid_from.replace(microsecond=0),
                                                                   valid_to.replace(microsecond=0)), \
                        f"wrong window: {where}"
                    assert grant.authorization_id == found.id and grant.state == GrantState.ACTIVE, where


@dataclass
class _LinkSet:
    """A live open link, seen as the invariant sees a vendor's set."""

    access: AccessSet


def _link_as_set(link: GuestLink) -> _LinkSet:
    # A link opens doors by name: its "door ids" are the names.
    return _LinkSet(AccessSet(id=str(link.id), active=True, door_ids=tuple(link.door_names),
                              valid_from=link.valid_from, valid_to=link.valid_to, external_reference=link.reference))


def print_report(folder: str) -> None:
    """What ``make simulate`` tried, summed over its shards (``python -m tests.door_access.simulation DIR``)."""
    import json
    import sys

    totals = Counts()
    shards = sorted(Path(folder).glob("*.json"))
    for shard in shards:
        for key, value in json.loads(shard.read_text()).items():
            setattr(totals, key, getattr(totals, key) + value)
    if not shards:
        sys.exit(f"no simulation reports in {folder}")
    print(f"simulation: {totals.schedules} schedules, {totals.steps} steps, {totals.faults} faults injected, "
          f"{totals.races} worker races, {totals.checks} checks at rest, in {len(shards)} shards")


if __name__ == "__main__":
    import sys

    print_report(sys.argv[1])

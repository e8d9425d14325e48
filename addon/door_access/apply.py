"""One attempt at a grant against the lock vendor: the only part of the engine that calls a vendor.

An :class:`Attempt` observes (the doors, the journal's sets), asks ``decide`` what to do, and does
it: a new set first (journaled before it is sent), then every other set revoked. Everything it
learns is kept as journal changes as it goes, so a call that fails half-way loses nothing: the
caller writes what was learned with the error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from addon.base.public import Message

from .backend import (
    AccessSetRequest,
    BackendError,
    Door,
    DoorConnection,
    PermanentBackendError,
    TransientBackendError,
)
from .decide import Decision, Known, Observed, Wanted, decide
from .entitlement import Want
from .journal import Change, Delivery, Entry
from .models import AccessGrant, GrantState, Resolution, SetStatus
from .plan import AccessPlan, resolve_doors

# Statuses a gateway answers with when the vendor behind it did not answer: the create may still be
# carried out.
NO_ANSWER_STATUSES = (502, 504)
CANNOT_REVOKE = Message("Cannot revoke: where the authorisation lives at the lock system is unknown.")


class LeaseLost(Exception):
    """This worker no longer holds the grant's lease: another one finishes it, nothing is sent."""


class Journal(Protocol):
    async def create(self, location_id: str | None, delivery: Delivery) -> Entry:
        """Journal the next reference of the grant as SENDING (with where its link goes), durably,
        before its create is sent; raises LeaseLost when the grant is no longer this worker's."""


class DoorSource(Protocol):
    async def get(self) -> tuple[list[Door], bool]:
        """The doors, and whether they were just fetched (``False``: a shared list)."""

    def forget(self) -> None: ...


class LiveDoors:
    """Every call asks the vendor."""

    def __init__(self, connection: DoorConnection) -> None:
        self.connection = connection

    async def get(self) -> tuple[list[Door], bool]:
        return await self.connection.list_doors(), True

    def forget(self) -> None:
        pass


def _all_resolve(names: list[str], doors: list[Door]) -> bool:
    """Whether each name is the name of exactly one door."""
    counts = Counter(d.name for d in doors)
    return all(counts[name] == 1 for name in names)


async def observe_doors(connection: DoorConnection, plan: AccessPlan, source: DoorSource | None = None,
                        fresh: bool = False) -> bool:
    """Resolve the plan's door names against the vendor's list (transient errors raise); returns
    whether the list was fetched for this call. A shared list in which a name does not resolve is
    dropped and fetched again: the doors may have changed. ``fresh``: drop it first."""
    if plan.mapped_object is None:
        resolve_doors(plan, None)
        return True
    source = source or LiveDoors(connection)
    try:
        if fresh:
            source.forget()
        doors, fetched = await source.get()
        if not fetched and not _all_resolve(plan.door_names, doors):
            source.forget()
            doors, fetched = await source.get()
    except TransientBackendError:
        raise
    except PermanentBackendError as exc:
        source.forget()
        resolve_doors(plan, None, unreachable=connection.explain(exc))
        return True
    if not _all_resolve(plan.door_names, doors):
        source.forget()  # the next attempt looks again, whatever the age of this list
    resolve_doors(plan, doors, where=connection.where(doors))
    return fetched


def wanted_of(plan: AccessPlan) -> Wanted:
    return Wanted(location_id=plan.location_id, doors=[{"id": d.id, "name": d.name} for d in plan.doors],
                  valid_from=plan.valid_from, valid_to=plan.valid_to, locale=plan.language.language)


@dataclass
class Item:
    """A set of the journal as this attempt knows it (``entry`` None: a further set found under
    the reference of ``like``)."""

    entry: Entry | None
    status: SetStatus
    set_id: str | None
    location_id: str | None
    like: Entry | None = None
    resolution: Resolution | None = None
    was_current: bool = False  # it gave the booking's access at some point (else: an orphan if found)
    answered_at: datetime | None = None  # its create was answered (with an error): nothing is in flight
    changed: bool = False

    def to(self, status: SetStatus, resolution: Resolution | None = None, set_id: str | None = None,
           location_id: str | None = None) -> None:
        self.status = status
        self.resolution = resolution or self.resolution
        self.set_id = set_id or self.set_id
        self.location_id = location_id or self.location_id
        self.changed = True

    def change(self) -> Change:
        return Change(self.entry.id if self.entry else None, self.status, self.set_id, self.location_id,
                      self.resolution if self.changed else None, like=self.like, answer_by=self.answered_at)


@dataclass
class Outcome:
    """What to write: the grant's new state and what the journal learned."""

    state: GrantState
    error: Message | None = None
    wait: bool = False  # due again after a backoff (at least ``retry_after`` seconds)
    retry_after: float | None = None
    retry_in: float | None = None  # set by the caller for ``wait``
    current: Item | None = None  # the set the grant names (None: none)
    wanted: Wanted | None = None  # the access the current set gives, to record on the grant
    verified: bool = False  # the vendor has just confirmed the current set gives ``wanted``
    changes: list[Change] = field(default_factory=list)


class Attempt:
    """One reconcile's work with the vendor for one grant."""

    def __init__(self, connection: DoorConnection, grant: AccessGrant, plan: AccessPlan, entries: list[Entry],
                 journal: Journal, now: Callable[[], datetime], doors: DoorSource | None = None) -> None:
        self.connection = connection
        self.grant = grant
        self.plan = plan
        self.journal = journal
        self.now = now
        self.doors = doors
        self.items = [Item(e, e.status, e.set_id, e.location_id, was_current=e.status == SetStatus.CURRENT
                           or e.resolution in (Resolution.CREATED, Resolution.ADOPTED)) for e in entries]
        self.wanted: Wanted | None = None
        self.doors_fetched = True
        self.retried_fresh = False
        self.looking = False  # in observe: an error now is the vendor refusing to tell, not to do

    # -- what the journal learned

    def changes(self) -> list[Change]:
        return [i.change() for i in self.items if i.changed]

    def current(self) -> Item | None:
        return next((i for i in self.items if i.status == SetStatus.CURRENT), None)

    # -- observe

    async def observe(self) -> Observed[Item]:
        self.looking = True
        observed = await self._observe()
        self.looking = False
        return observed

    async def _observe(self) -> Observed[Item]:
        plan = self.plan
        if plan.want == Want.LIVE and plan.applies:
            self._problems_before_doors = list(plan.problems), list(plan.warnings)
            self.doors_fetched = await observe_doors(self.connection, plan, self.doors)
            if not plan.problems:
                self.wanted = wanted_of(plan)
        observed: Observed[Item] = Observed()
        for item in [i for i in self.items if i.status == SetStatus.SENDING]:
            await self._look_up(item, observed)
        current = self.current()
        if current is not None:
            observed.current = Known(current, recorded=self._recorded())
            if self.wanted is not None:  # only then does it matter what the set gives now
                location = current.location_id or self.connection.default_location_id
                seen = await self.connection.read_access_set(location, current.set_id) if location else None
                if seen is not None and seen.active:
                    observed.current.seen = seen
                else:
                    current.to(SetStatus.GONE, Resolution.VANISHED)
                    observed.current_gone = True
        observed.stale = [Known(i) for i in self.items if i.status == SetStatus.LIVE and not self._is_found(i, observed)]
        return observed

    def _recorded(self) -> Wanted | None:
        """The access the grant recorded for its current set."""
        grant = self.grant
        if grant.valid_from is None or grant.valid_to is None:
            return None
        return Wanted(location_id=grant.location_id, doors=list(grant.doors or []), valid_from=grant.valid_from,
                      valid_to=grant.valid_to, locale=grant.locale or "")

    @staticmethod
    def _is_found(item: Item, observed: Observed[Item]) -> bool:
        return any(k.key is item for k in observed.found)

    async def _look_up(self, item: Item, observed: Observed[Item]) -> None:
        """What became of a create whose answer never came: a live set (adoptable), a dead one, none
        (once its deadline has passed), or undecided."""
        location = item.location_id or self.connection.default_location_id
        if not location or not item.entry or not item.entry.reference:
            observed.undecided = True
            return
        known = {i.set_id for i in self.items if i.set_id}
        sets = [s for s in await self.connection.find_access_sets(location, item.entry.reference)
                if s.id not in known]
        live = [s for s in sets if s.active]
        if live:
            item.to(SetStatus.LIVE, set_id=live[0].id, location_id=location)
            observed.found.append(Known(item, live[0]))
            for extra in live[1:]:  # one reference, several sets: each is recorded, none kept unseen
                twin = Item(None, SetStatus.LIVE, extra.id, location, like=item.entry, changed=True)
                self.items.append(twin)
                observed.found.append(Known(twin, extra))
        elif sets:
            item.to(SetStatus.GONE, Resolution.VANISHED, set_id=sets[0].id, location_id=location)
        elif item.entry.answer_by is None or self.now() >= item.entry.answer_by:
            item.to(SetStatus.NEVER, Resolution.NEVER_MADE)
        else:
            observed.undecided = True  # the vendor may still be carrying it out

    # -- decide and act

    def decide(self, observed: Observed[Item]) -> Decision[Item]:
        plan = self.plan
        had_access = self.grant.state in (GrantState.ACTIVE, GrantState.REVOKING, GrantState.REVOKED) or any(
            i.was_current for i in self.items)
        return decide(plan.want, self.wanted, plan.problems, observed, reason=plan.want_reason,
                      may_come_later=plan.integration.archived_at is None, had_access=had_access,
                      problems_may_pass=plan.doors_refused)

    async def carry_out(self, decision: Decision[Item]) -> Outcome:
        """Act on ``decision``: adopt, create, then revoke. Backend errors propagate (what was
        learned up to then stays in ``changes()``)."""
        keep = decision.keep.key if decision.keep is not None else None
        if keep is not None and keep.status != SetStatus.CURRENT:
            keep.to(SetStatus.CURRENT, Resolution.ADOPTED)
            keep.was_current = True
        if decision.create:
            keep = await self._create()
        for item in self.items:  # what was current and is not kept is no longer the grant's: to revoke
            if item.status == SetStatus.CURRENT and item is not keep:
                item.to(SetStatus.LIVE)
        for known in decision.revoke:
            await self._revoke(known.key)
        gives_wanted = keep is not None and self.wanted is not None and (
            decision.create or (decision.keep is not None and decision.keep.gives(self.wanted)))
        return Outcome(decision.state, decision.reason, wait=decision.wait, current=keep,
                       wanted=self.wanted if gives_wanted else None, verified=gives_wanted)

    async def _create(self) -> Item:
        try:
            return await self._send_create()
        except PermanentBackendError:
            # A refusal that fresher data could explain (a door id, a place changed at the vendor
            # within the door list's lifetime) is tried once more with the list fetched anew.
            if self.doors_fetched or self.retried_fresh or self.wanted is None:
                raise
            self.retried_fresh = True
            problems, warnings = self._problems_before_doors
            self.plan.problems, self.plan.warnings = list(problems), list(warnings)
            self.doors_fetched = await observe_doors(self.connection, self.plan, self.doors, fresh=True)
            if self.plan.problems:
                raise
            self.wanted = wanted_of(self.plan)
            return await self._send_create()

    async def _send_create(self) -> Item:
        wanted, plan = self.wanted, self.plan
        entry = await self.journal.create(wanted.location_id, Delivery(tuple(plan.recipients), wanted.locale))
        item = Item(entry, SetStatus.SENDING, None, wanted.location_id)
        self.items.append(item)
        try:
            created = await self.connection.create_access_set(wanted.location_id, AccessSetRequest(
                display_name=plan.display_name,
                door_ids=[d["id"] for d in wanted.doors],
                valid_from=wanted.valid_from,
                valid_to=wanted.valid_to,
                recipients=plan.recipients,
                locale=wanted.locale,
                message=plan.message,
                external_reference=entry.reference,
                door_names=[d["name"] for d in wanted.doors],
            ))
        except BackendError as exc:
            if exc.unprocessed or isinstance(exc, PermanentBackendError):
                item.to(SetStatus.NEVER, Resolution.NEVER_MADE)  # refused or never received: nothing was made
            elif exc.status is not None and exc.status not in NO_ANSWER_STATUSES:
                # The vendor answered (an error): whatever it did is done, so the next look-up by
                # the reference tells for sure; no need to wait out the call's deadline.
                item.answered_at = self.now()
                item.changed = True
            raise
        item.to(SetStatus.CURRENT, Resolution.CREATED, set_id=created.id)
        item.was_current = True
        return item

    async def _revoke(self, item: Item) -> None:
        location = item.location_id or self.connection.default_location_id
        if not location:
            raise UnknownLocation(CANNOT_REVOKE)
        await self.connection.revoke_access_set(location, item.set_id)  # already gone counts as done
        if not item.was_current:
            resolution = Resolution.ORPHAN_REVOKED
        elif self.plan.want == Want.NONE:
            resolution = Resolution.REVOKED
        else:
            resolution = Resolution.REPLACED
        item.to(SetStatus.GONE, resolution)


class UnknownLocation(Exception):
    """A set to revoke whose place at the vendor nobody recorded (entered by hand, long ago)."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message

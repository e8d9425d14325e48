"""Applying a decision through the backend: the only part of the engine that calls a lock vendor.

Each function returns an :class:`Outcome` (the grant's next state and columns); the caller writes
it. Transient errors propagate (the caller backs off); a create is always preceded, on a retry, by
a look-up of our external reference, so a lost answer is adopted instead of made twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from addon.base.public import Message

from .backend import (
    AccessSet,
    AccessSetRequest,
    BackendError,
    Door,
    DoorConnection,
    PermanentBackendError,
    TransientBackendError,
)
from .decide import (
    CANNOT_REVOKE,
    Decision,
    Step,
    Wanted,
    choose_adoption,
    decide_active,
    decide_revoked,
    may_have_lost_a_create,
    state_while_waiting,
    wanted_of,
)
from .models import AccessGrant, GrantState
from .plan import AccessPlan, external_reference, resolve_doors


@dataclass
class Outcome:
    state: GrantState
    error: Message | None = None
    retry_in: float | None = None  # seconds; None = not due any more; set by the caller for WAIT
    authorization: AccessSet | None = None
    fields: dict | None = None  # grant columns to set
    clear_superseded: bool = False
    wait: bool = False  # due again after a backoff (at least ``retry_after`` seconds)
    retry_after: float | None = None


class LeaseLost(Exception):
    """This worker no longer holds the grant's lease: another one finishes it, nothing is sent."""


class Journal(Protocol):
    async def create_may_be_sent(self, location_id: str | None, generation: int) -> None:
        """Record durably, before a create goes out, where and under which generation it is made;
        raises LeaseLost when the grant is no longer this worker's."""


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


async def observe_doors(connection: DoorConnection, plan: AccessPlan, source: DoorSource | None = None) -> None:
    """Resolve the plan's door names against the vendor's list (transient errors raise). A shared
    list in which a name does not resolve is dropped and fetched again: the doors may have changed."""
    if plan.mapped_object is None:
        resolve_doors(plan, None)
        return
    source = source or LiveDoors(connection)
    try:
        doors, fresh = await source.get()
        if not fresh and not _all_resolve(plan.door_names, doors):
            source.forget()
            doors, fresh = await source.get()
    except TransientBackendError:
        raise
    except PermanentBackendError as exc:
        source.forget()
        resolve_doors(plan, None, unreachable=connection.explain(exc))
        return
    if not _all_resolve(plan.door_names, doors):
        source.forget()  # the next attempt looks again, whatever the age of this list
    resolve_doors(plan, doors, where=connection.where(doors))


async def read_live_set(connection: DoorConnection, location_id: str | None, set_id: str) -> AccessSet | None:
    """The set as the vendor has it while it is active; revoked, expired or unknown: ``None``."""
    if not location_id:
        return None
    found = await connection.read_access_set(location_id, set_id)
    return found if found is not None and found.active else None


async def make_active(connection: DoorConnection, grant: AccessGrant, plan: AccessPlan,
                      integration_active: bool, journal: Journal, doors: DoorSource | None = None) -> Outcome:
    current = None
    wanted = None
    if integration_active and plan.applies:
        await observe_doors(connection, plan, doors)
        if not plan.problems:
            wanted = wanted_of(plan)
            if grant.authorization_id:
                current = await read_live_set(connection, grant.location_id or wanted.location_id,
                                              grant.authorization_id)
    decision = decide_active(grant, integration_active, plan, current, wanted)
    if decision.step == Step.WAIT:
        return Outcome(state_while_waiting(grant), decision.reason, wait=True)
    if decision.step == Step.FAIL:
        return Outcome(GrantState.FAILED, decision.reason)
    if decision.step == Step.REVOKE:  # the integration no longer applies to this booking
        location_id = decision.location_id or connection.default_location_id
        if decision.revoke_ids and not location_id:
            return Outcome(GrantState.FAILED, CANNOT_REVOKE)
        for set_id in decision.revoke_ids:
            await connection.revoke_access_set(location_id, set_id)
        return Outcome(GrantState.REVOKED, decision.reason, clear_superseded=True, fields={"authorization_id": None})
    if decision.step == Step.CREATE:
        return await create_or_adopt(connection, grant, plan, wanted, grant.generation, journal)
    if decision.step == Step.KEEP:
        for set_id in decision.revoke_ids:
            await connection.revoke_access_set(decision.location_id, set_id)
        fields = None if grant.state == GrantState.ACTIVE else dict(wanted.as_fields(), location_id=decision.location_id)
        return Outcome(GrantState.ACTIVE, clear_superseded=True, fields=fields)
    if decision.step == Step.REPLACE:
        return await _replace(connection, grant, plan, wanted, decision, journal)
    return await _renew(connection, grant, plan, wanted, decision, journal)


async def create_or_adopt(connection: DoorConnection, grant: AccessGrant, plan: AccessPlan, wanted: Wanted,
                          generation: int, journal: Journal) -> Outcome:
    """A set for ``wanted`` under the external reference of ``generation``; the outcome's fields
    carry the generation of the set it made or adopted."""
    reference = external_reference(grant.integration_id, grant.booking_id, generation)
    location_id = wanted.location_id
    # Whether a set under this reference may exist that we never heard of (before this create).
    uncertain = may_have_lost_a_create(grant)
    if uncertain:
        # An earlier attempt may have created the set and lost the answer: adopt it, if it still
        # gives the wanted access. One made for doors or a window that have changed since is
        # replaced by a set of the next generation, then revoked.
        found = await connection.find_access_sets(location_id, reference)
        uncertain = bool(found) or grant.create_sent_generation != generation
        adopt, stale = choose_adoption(found, wanted)
        if adopt is not None:
            return Outcome(GrantState.ACTIVE, authorization=adopt, fields=dict(wanted.as_fields(), generation=generation))
        if stale:
            outcome = await create_or_adopt(connection, grant, plan, wanted, generation + 1, journal)
            for old in stale:
                await connection.revoke_access_set(location_id, old.id)  # transient: the next attempt adopts and revokes
            return outcome
    await journal.create_may_be_sent(location_id, generation)
    grant.create_sent_generation = generation
    try:
        created = await connection.create_access_set(location_id, AccessSetRequest(
            display_name=plan.display_name,
            door_ids=[d["id"] for d in wanted.doors],
            valid_from=wanted.valid_from,
            valid_to=wanted.valid_to,
            recipients=plan.recipients,
            locale=wanted.locale,
            message=plan.message,
            external_reference=reference,
        ))
    except BackendError as exc:
        if exc.unprocessed and not uncertain:
            # Provably no set exists under any reference we sent: the next attempt creates
            # without looking one up first (see reconcile._failure).
            grant.create_sent_generation = None
        raise
    return Outcome(GrantState.ACTIVE, authorization=created, fields=dict(wanted.as_fields(), generation=generation))


async def _replace(connection: DoorConnection, grant: AccessGrant, plan: AccessPlan, wanted: Wanted,
                   decision: Decision, journal: Journal) -> Outcome:
    """New set with the new doors/window first, then the old one revoked: no gap in access."""
    outcome = await create_or_adopt(connection, grant, plan, wanted, grant.generation + 1, journal)
    outcome.fields = dict(outcome.fields, superseded_authorization_id=grant.authorization_id)
    try:
        for set_id in decision.revoke_ids:
            await connection.revoke_access_set(decision.location_id, set_id)
        outcome.clear_superseded = True
    except TransientBackendError as exc:
        # The new access stands; the old set is revoked on the next attempt.
        outcome.error = Message("Replaced; the old authorisation is still to be revoked: {error}", {"error": str(exc)})
        outcome.retry_in = 0.0
    return outcome


async def _renew(connection: DoorConnection, grant: AccessGrant, plan: AccessPlan, wanted: Wanted,
                 decision: Decision, journal: Journal) -> Outcome:
    """The set is gone at the vendor (drift): a new one, with its own external reference."""
    outcome = await create_or_adopt(connection, grant, plan, wanted, grant.generation + 1, journal)
    outcome.clear_superseded = True
    if decision.revoke_ids and decision.location_id:
        try:
            for set_id in decision.revoke_ids:
                await connection.revoke_access_set(decision.location_id, set_id)
        except TransientBackendError as exc:
            outcome.clear_superseded = False
            outcome.error = Message("Renewed; an older authorisation is still to be revoked: {error}",
                                    {"error": str(exc)})
            outcome.retry_in = 0.0
    return outcome


async def make_revoked(connection: DoorConnection, grant: AccessGrant) -> Outcome:
    # Where a set was made is recorded before its create is sent, so this is known even when the
    # answer never came (and whatever the backend's default place is).
    location_id = grant.location_id or connection.default_location_id
    lost: list[AccessSet] = []
    knows_a_set = grant.authorization_id or grant.superseded_authorization_id
    if not knows_a_set and may_have_lost_a_create(grant) and location_id:
        # A create may have reached the vendor without us hearing back: cancel it too (and any
        # set of a generation between, whose answer was lost on the way to the latest).
        for generation in range(min(grant.generation, grant.create_sent_generation), grant.create_sent_generation + 1):
            lost += await connection.find_access_sets(location_id, external_reference(
                grant.integration_id, grant.booking_id, generation))
    decision = decide_revoked(grant, location_id, lost)
    if decision.step == Step.FAIL:
        return Outcome(GrantState.FAILED, decision.reason)
    for set_id in decision.revoke_ids:
        await connection.revoke_access_set(decision.location_id, set_id)  # already gone counts as done
    return Outcome(GrantState.REVOKED, clear_superseded=True)

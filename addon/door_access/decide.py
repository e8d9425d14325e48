"""The decision: what to do about one grant, given what the booking wants and what the lock vendor
has. Pure functions over values: no database, no network (see ``apply`` for the calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from addon.base.public import Message

from .backend import AccessSet
from .models import AccessGrant, Desired, GrantState
from .plan import AccessPlan

CANNOT_REVOKE = Message("Cannot revoke: where the authorisation lives at the lock system is unknown.")


class Step:
    KEEP = "KEEP"  # the live set gives the wanted access (any superseded one is revoked)
    CREATE = "CREATE"  # no set yet: create one (or adopt the one a lost answer made)
    REPLACE = "REPLACE"  # the live set gives other doors or another window: new set first, then revoke the old
    RENEW = "RENEW"  # the set is gone at the vendor (revoked or expired behind our back): a new one
    REVOKE = "REVOKE"  # revoke every set this grant made
    WAIT = "WAIT"  # nothing to do now; look again later
    FAIL = "FAIL"  # nothing usable can be sent: a person must change something


@dataclass(frozen=True)
class Wanted:
    """The access set a grant should have."""

    location_id: str | None
    doors: list[dict]  # [{"id", "name"}]
    valid_from: datetime
    valid_to: datetime
    locale: str

    @property
    def door_ids(self) -> list[str]:
        return sorted(d["id"] for d in self.doors)

    def as_fields(self) -> dict:
        """The grant columns that record it."""
        return {"location_id": self.location_id, "doors": self.doors, "valid_from": self.valid_from,
                "valid_to": self.valid_to, "locale": self.locale}


def wanted_of(plan: AccessPlan) -> Wanted:
    return Wanted(location_id=plan.location_id, doors=[{"id": d.id, "name": d.name} for d in plan.doors],
                  valid_from=plan.valid_from, valid_to=plan.valid_to, locale=plan.language.language)


@dataclass
class Decision:
    step: str
    reason: Message | None = None
    location_id: str | None = None
    revoke_ids: list[str] = field(default_factory=list)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # vendors keep whole seconds


def set_matches(found: AccessSet, wanted: Wanted) -> bool:
    """Whether a set at the vendor gives exactly the wanted doors and window."""
    return (sorted(found.door_ids) == wanted.door_ids
            and found.valid_from is not None and found.valid_to is not None
            and _whole_seconds(found.valid_from) == _whole_seconds(wanted.valid_from)
            and _whole_seconds(found.valid_to) == _whole_seconds(wanted.valid_to))


def same_access(grant: AccessGrant, wanted: Wanted) -> bool:
    """Whether the grant already records the wanted access (for sets whose window the vendor does
    not report)."""
    return (grant.location_id == wanted.location_id
            and sorted(d["id"] for d in grant.doors) == wanted.door_ids
            and grant.valid_from == wanted.valid_from and grant.valid_to == wanted.valid_to)


def decide_active(grant: AccessGrant, integration_active: bool, plan: AccessPlan, current: AccessSet | None,
                  wanted: Wanted | None) -> Decision:
    """Desired active. ``current`` is the live set named by the grant (``None``: gone, or none);
    ``wanted`` is ``None`` when the plan has problems."""
    if not integration_active:
        # Deactivation is a rollback switch: nothing new goes to the vendor. The grant keeps its
        # state and stays due (with backoff), so it finishes by itself once active again.
        return Decision(Step.WAIT, Message("The integration is not active."))
    if not plan.applies:
        # The object lost its mapping: the integration no longer opens doors for this booking.
        return Decision(Step.REVOKE, plan.reason, location_id=grant.location_id,
                        revoke_ids=[i for i in (grant.authorization_id, grant.superseded_authorization_id) if i])
    if plan.problems or wanted is None:
        return Decision(Step.FAIL, Message.join(plan.problems))
    if not grant.authorization_id:
        return Decision(Step.CREATE, location_id=wanted.location_id)
    # Whatever the grant's state (ACTIVE, or FAILED/PENDING/REVOKING with a set still out there),
    # compare with what the vendor actually has: a live set that gives the wanted access is kept,
    # a live one that does not is replaced, one revoked or lost behind our back is renewed; never a
    # second live set beside the first.
    location_id = grant.location_id or wanted.location_id
    if current is None:
        return Decision(Step.RENEW, location_id=location_id,
                        revoke_ids=[i for i in (grant.superseded_authorization_id,) if i])
    has_window = current.valid_from is not None and current.valid_to is not None
    if set_matches(current, wanted) if has_window else same_access(grant, wanted):
        return Decision(Step.KEEP, location_id=location_id,
                        revoke_ids=[i for i in (grant.superseded_authorization_id,) if i])
    return Decision(Step.REPLACE, location_id=location_id, revoke_ids=[grant.authorization_id])


def decide_revoked(grant: AccessGrant, location_id: str | None, lost: list[AccessSet]) -> Decision:
    """Desired revoked: every set the grant knows of, and any a lost create answer made."""
    ids = [i for i in (grant.authorization_id, grant.superseded_authorization_id) if i]
    ids += [s.id for s in lost if s.active and s.id not in ids]
    if ids and not location_id:
        return Decision(Step.FAIL, CANNOT_REVOKE)
    return Decision(Step.REVOKE, location_id=location_id, revoke_ids=ids)


def may_have_lost_a_create(grant: AccessGrant) -> bool:
    """An earlier attempt may have created a set whose answer never arrived: one was recorded as
    about to be sent and its set is not known yet. When none was, the look-up is skipped."""
    return grant.create_sent_generation is not None


def choose_adoption(found: list[AccessSet], wanted: Wanted) -> tuple[AccessSet | None, list[AccessSet]]:
    """Of the live sets made under our reference: the one to adopt (it gives the wanted access),
    or none and the stale ones (made for doors or a window that changed since) to revoke."""
    live = [s for s in found if s.active]
    for candidate in live:
        if set_matches(candidate, wanted):
            return candidate, []
    return None, live


def state_while_waiting(grant: AccessGrant) -> GrantState:
    """The state a grant shows while its work waits for a retry."""
    if grant.desired == Desired.ACTIVE:
        return GrantState.ACTIVE if grant.state == GrantState.ACTIVE else GrantState.PENDING
    return GrantState.REVOKING

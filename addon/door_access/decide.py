"""The decision: what to do about one grant, given what the booking is entitled to now and what
the lock vendor has. Pure functions over values: no database, no network (``apply`` observes and
acts, ``reconcile`` runs the two).

The vendor side is described by the sets the journal knows of, after observing them:

* ``current`` — the grant's live set (CURRENT record), if it has one: read when the decision
  depends on whether it still gives the wanted doors and window;
* ``found`` — live sets found under our references after a lost create answer (adoptable);
* ``stale`` — sets known to exist but not wanted (replaced ones): always revoked;
* ``undecided`` — a create whose fate no look-up can tell yet (its deadline has not passed).

Whatever the entitlement, a decision never leaves a live set the booking is not entitled to, and
never takes the guest's only access away before a replacement exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from addon.base.public import Message

from .backend import AccessSet
from .entitlement import Want
from .models import GrantState

K = TypeVar("K")  # how the caller names a set (a journal entry)

WAITING_FOR_A_LOST_ANSWER = Message("Waiting to learn whether a create whose answer was lost reached the lock system.")


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


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # vendors keep whole seconds


def set_matches(found: AccessSet, wanted: Wanted) -> bool:
    """Whether a set at the vendor gives exactly the wanted doors and window (by name, for a set
    that opens doors by name)."""
    doors_match = (sorted(found.door_names) == sorted(d["name"] for d in wanted.doors)
                   if found.door_names is not None else sorted(found.door_ids) == wanted.door_ids)
    return (doors_match
            and found.valid_from is not None and found.valid_to is not None
            and _whole_seconds(found.valid_from) == _whole_seconds(wanted.valid_from)
            and _whole_seconds(found.valid_to) == _whole_seconds(wanted.valid_to))


def same_access(recorded: Wanted, wanted: Wanted) -> bool:
    """Whether recorded access is the wanted one (for sets whose window the vendor does not report)."""
    return (recorded.location_id == wanted.location_id and recorded.door_ids == wanted.door_ids
            and recorded.valid_from == wanted.valid_from and recorded.valid_to == wanted.valid_to)


@dataclass
class Known(Generic[K]):
    """A set the journal knows of, with what the vendor said of it (``seen``: read or found;
    ``None`` when it was not asked) and, for the grant's own set, the access it recorded."""

    key: K
    seen: AccessSet | None = None
    recorded: Wanted | None = None

    def gives(self, wanted: Wanted | None) -> bool:
        if wanted is None or self.seen is None:
            return False
        if self.seen.valid_from is None or self.seen.valid_to is None:  # the vendor keeps the window to itself
            return (self.recorded is not None and sorted(self.seen.door_ids) == wanted.door_ids
                    and same_access(self.recorded, wanted))
        return set_matches(self.seen, wanted)


@dataclass
class Observed(Generic[K]):
    current: Known[K] | None = None
    current_gone: bool = False  # the current set was read and is revoked, expired or unknown
    found: list[Known[K]] = field(default_factory=list)
    stale: list[Known[K]] = field(default_factory=list)
    undecided: bool = False


@dataclass
class Decision(Generic[K]):
    state: GrantState
    keep: Known[K] | None = None  # the set the grant names afterwards (None: none)
    create: bool = False  # make a new set first
    revoke: list[Known[K]] = field(default_factory=list)  # then revoke these
    reason: Message | None = None
    wait: bool = False  # look again after a backoff


def decide(want: Want, wanted: Wanted | None, problems: list[Message], observed: Observed[K], *,
           reason: Message | None, may_come_later: bool, had_access: bool,
           problems_may_pass: bool = False) -> Decision[K]:
    """``wanted``: the set the booking should have (None when ``problems`` stop one);
    ``may_come_later``: an inactive integration may be activated again (archived: no);
    ``had_access``: the grant gave access before (an ended booking without it failed);
    ``problems_may_pass``: asking the vendor again may clear them (it refused the door list)."""
    current = observed.current if observed.current is not None and not observed.current_gone else None
    live = ([current] if current is not None else []) + list(observed.found)
    if want in (Want.NONE, Want.ENDED):
        # Not entitled, or the window is over (a set made for a longer stay would still open): nothing live.
        revoke = live + list(observed.stale)
        if observed.undecided:
            return Decision(GrantState.REVOKING, revoke=revoke, reason=WAITING_FOR_A_LOST_ANSWER, wait=True)
        if want == Want.ENDED and not had_access:
            return Decision(GrantState.FAILED, revoke=revoke, reason=Message.join(problems) if problems else reason)
        return Decision(GrantState.REVOKED, revoke=revoke, reason=None if want == Want.NONE else reason)
    if want == Want.LIVE and not problems:
        keeper = next((k for k in live if k.gives(wanted)), None)
        if keeper is not None:
            return Decision(GrantState.ACTIVE, keep=keeper,
                            revoke=[k for k in live if k is not keeper] + list(observed.stale))
        if observed.undecided:
            # A create may yet turn out to have been made: never a second set before we know.
            return Decision(GrantState.ACTIVE if current is not None else GrantState.PENDING, keep=current,
                            revoke=list(observed.stale), reason=WAITING_FOR_A_LOST_ANSWER, wait=True)
        # New set first, then every other one revoked: no gap in access, never two at rest.
        return Decision(GrantState.ACTIVE, create=True, revoke=live + list(observed.stale))
    # Nothing new can be made: a live set stays (the current one first, else one found).
    keeper = current or next((k for k in observed.found if k.gives(wanted)), None) or next(iter(observed.found), None)
    revoke = [k for k in live if k is not keeper] + list(observed.stale)
    if want == Want.LIVE:  # problems stop a new set
        # A refused door list, like a refused look-up of a set, changed nothing at the vendor: the
        # grant shows why and asks again with backoff (the set it has stays meanwhile).
        return Decision(GrantState.FAILED, keep=keeper, revoke=revoke, reason=Message.join(problems),
                        wait=observed.undecided or problems_may_pass)
    if keeper is not None:
        return Decision(GrantState.ACTIVE, keep=keeper, revoke=revoke, reason=reason, wait=observed.undecided)
    if may_come_later:
        # Inactive: access comes once the integration is active again (activation looks again).
        return Decision(GrantState.PENDING, revoke=revoke, reason=reason, wait=observed.undecided)
    return Decision(GrantState.REVOKED, revoke=revoke, reason=reason, wait=observed.undecided)

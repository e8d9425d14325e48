"""Entitlement: what door access a booking should have through one integration *now*, derived from
the booking and the integration as they are — never from a stored intent. Pure functions over
values: the engine, the backfill and the simulation tests' model all ask the same question.

The rule, in full:

* A **revoke status** (or a revoke asked for by staff, or archiving with REVOKE_NOW) means no access.
* A **trigger status** means access. Any other status (say *checked in*) keeps what the booking's
  last trigger or revoke status decided (its status history tells), so a guest who arrives keeps
  the doors, and a cancelled booking re-opened as an option gets none. For a backend that opens on
  request the trigger statuses are the statuses the lock *may open from*: any other status means
  no access, whatever came before (``sticky=False``).
* Access applies only where the integration maps the booked object (or a parent of it).
* An **inactive or archived** integration gives nothing new: a live set it gave stays as it is
  (deactivation is the rollback switch), but it never keeps access the booking is no longer
  entitled to — revoking always goes on.
* Once the booking's window is over, nothing is created; a set ends with its window at the vendor.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Want(enum.StrEnum):
    """What the engine must bring about for one grant."""

    LIVE = "LIVE"  # exactly one live set with the wanted doors and window
    KEEP = "KEEP"  # nothing new: keep a live set if there is one (the integration does not run)
    NONE = "NONE"  # no live set
    ENDED = "ENDED"  # the window is over: nothing new, sets end with their windows


def decided_by_statuses(current: str, history: Iterable[str], trigger: Sequence[str], revoke: Sequence[str],
                        sticky: bool = True) -> bool:
    """Whether the statuses grant access: the current one if it is a trigger or revoke status, else
    the latest one in ``history`` (oldest first) that is. A booking that never was at either has
    none. Not ``sticky``: the current status alone decides."""
    if current in revoke:
        return False
    if current in trigger:
        return True
    if not sticky:
        return False
    for code in reversed(list(history)):
        if code in revoke:
            return False
        if code in trigger:
            return True
    return False


def is_decisive(code: str, trigger: Sequence[str], revoke: Sequence[str], sticky: bool = True) -> bool:
    """A trigger or revoke status decides by itself; any other status needs the history (unless
    the statuses are not sticky: then every status decides)."""
    return code in trigger or code in revoke or not sticky


@dataclass(frozen=True)
class Facts:
    """Everything entitlement depends on, read from the database."""

    statuses_grant: bool  # decided_by_statuses(...)
    revoke_requested: bool  # staff revoked it by hand (until the next trigger or revoke status)
    mapped: bool  # the integration maps the booked object or a parent of it
    integration_runs: bool  # active and not archived
    archived_revoking: bool  # archived with REVOKE_NOW
    window_over: bool


def want(facts: Facts) -> Want:
    if facts.revoke_requested or facts.archived_revoking or not facts.statuses_grant or not facts.mapped:
        return Want.NONE
    if facts.window_over:
        return Want.ENDED
    return Want.LIVE if facts.integration_runs else Want.KEEP

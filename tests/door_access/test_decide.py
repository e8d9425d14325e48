"""The engine's decision, as a pure function of the grant, the plan and what the vendor has."""

from datetime import datetime, timedelta, timezone

from addon.base.public import Message
from addon.booking.public import BookableObject
from addon.door_access.backend import AccessSet
from addon.door_access.decide import (
    Step,
    Wanted,
    choose_adoption,
    decide_active,
    decide_revoked,
    state_while_waiting,
)
from addon.door_access.models import AccessGrant, Desired, GrantState
from addon.door_access.plan import AccessPlan

START = datetime(2030, 6, 1, 13, 0, tzinfo=timezone.utc)
END = START + timedelta(days=2)
WANTED = Wanted(location_id="house", doors=[{"id": "d-main", "name": "Main door"}], valid_from=START, valid_to=END,
                locale="nl")


def grant(**values) -> AccessGrant:
    defaults = dict(booking_id=1, integration_id=1, desired=Desired.ACTIVE, state=GrantState.PENDING, doors=[])
    return AccessGrant(**{**defaults, **values})


def plan(*problems: str, mapped: bool = True) -> AccessPlan:
    return AccessPlan(integration=None, booking=None, action="GRANT", reason=Message("test"),
                      mapped_object=BookableObject(id=1, code="studio", name="Studio", time_zone="UTC") if mapped else None,
                      problems=[Message.verbatim(p) for p in problems])


def live(door_ids=("d-main",), start=START, end=END, active=True) -> AccessSet:
    return AccessSet(id="set-1", active=active, door_ids=tuple(door_ids), valid_from=start, valid_to=end)


def test_nothing_goes_out_while_the_integration_is_inactive():
    decision = decide_active(grant(), False, plan(), None, WANTED)
    assert decision.step == Step.WAIT and "not active" in str(decision.reason)


def test_problems_fail_the_grant_with_every_reason():
    decision = decide_active(grant(), True, plan("no mapping", "no recipient"), None, None)
    assert decision.step == Step.FAIL and str(decision.reason) == "no mapping no recipient"


def test_no_set_yet_is_created_where_the_doors_are():
    decision = decide_active(grant(), True, plan(), None, WANTED)
    assert decision.step == Step.CREATE and decision.location_id == "house"


def test_a_live_set_with_the_wanted_access_is_kept_and_a_superseded_one_revoked():
    decision = decide_active(grant(authorization_id="set-1", superseded_authorization_id="set-0", location_id="house"),
                             True, plan(), live(start=START.replace(microsecond=0)), WANTED)
    assert decision.step == Step.KEEP and decision.revoke_ids == ["set-0"]


def test_other_doors_or_window_replace_the_set():
    for changed in (live(door_ids=("d-side",)), live(end=END + timedelta(hours=1))):
        decision = decide_active(grant(authorization_id="set-1", location_id="house"), True, plan(), changed, WANTED)
        assert decision.step == Step.REPLACE and decision.revoke_ids == ["set-1"]


def test_a_set_gone_at_the_vendor_is_renewed():
    decision = decide_active(grant(authorization_id="set-1", location_id="house"), True, plan(), None, WANTED)
    assert decision.step == Step.RENEW


def test_a_set_without_a_reported_window_is_compared_with_what_the_grant_recorded():
    recorded = grant(authorization_id="set-1", location_id="house", doors=WANTED.doors, valid_from=START,
                     valid_to=END)
    assert decide_active(recorded, True, plan(), live(start=None, end=None), WANTED).step == Step.KEEP
    recorded.valid_to = END + timedelta(days=1)
    assert decide_active(recorded, True, plan(), live(start=None, end=None), WANTED).step == Step.REPLACE


def test_revoke_covers_every_set_the_grant_made_and_any_a_lost_answer_made():
    revoking = grant(desired=Desired.REVOKED, authorization_id="set-2", superseded_authorization_id="set-1")
    decision = decide_revoked(revoking, "house", [live(), AccessSet(id="set-9", active=True)])
    assert decision.step == Step.REVOKE and decision.revoke_ids == ["set-2", "set-1", "set-9"]
    assert decide_revoked(grant(desired=Desired.REVOKED), None, []).revoke_ids == []


def test_revoke_without_knowing_where_fails_visibly():
    decision = decide_revoked(grant(desired=Desired.REVOKED, authorization_id="set-2"), None, [])
    assert decision.step == Step.FAIL


def test_adoption_takes_the_matching_set_and_names_the_stale_ones():
    matching, stale = live(), AccessSet(id="set-2", active=True, door_ids=("d-side",), valid_from=START, valid_to=END)
    assert choose_adoption([stale, matching], WANTED) == (matching, [])
    assert choose_adoption([stale, AccessSet(id="gone", active=False)], WANTED) == (None, [stale])


def test_the_state_shown_while_waiting():
    assert state_while_waiting(grant()) == GrantState.PENDING
    assert state_while_waiting(grant(state=GrantState.ACTIVE)) == GrantState.ACTIVE
    assert state_while_waiting(grant(desired=Desired.REVOKED, state=GrantState.ACTIVE)) == GrantState.REVOKING


def test_an_integration_that_no_longer_maps_the_object_revokes_what_it_made():
    decision = decide_active(grant(authorization_id="set-1", location_id="house"), True, plan(mapped=False), None, None)
    assert decision.step == Step.REVOKE and decision.revoke_ids == ["set-1"]
    assert decide_active(grant(), True, plan(mapped=False), None, None).revoke_ids == []

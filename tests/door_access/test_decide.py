"""The engine's decision, as a pure function of what the booking is entitled to now and what the
journal knows of the sets at the vendor (observed). Whatever the inputs, a decision never leaves a
live set the booking is not entitled to, never two at rest, and never takes the only access away
before a replacement exists."""

from datetime import datetime, timedelta, timezone
from itertools import product

from addon.base.public import Message
from addon.door_access.backend import AccessSet
from addon.door_access.decide import Known, Observed, Wanted, decide
from addon.door_access.entitlement import Want
from addon.door_access.models import GrantState

START = datetime(2030, 6, 1, 13, 0, tzinfo=timezone.utc)
END = START + timedelta(days=2)
WANTED = Wanted(location_id="house", doors=[{"id": "d-main", "name": "Main door"}], valid_from=START, valid_to=END,
                locale="nl")
REASON = Message.verbatim("why")


def live(set_id="set-1", door_ids=("d-main",), start=START, end=END) -> AccessSet:
    return AccessSet(id=set_id, active=True, door_ids=tuple(door_ids), valid_from=start, valid_to=end)


def known(set_id="set-1", **set_values) -> Known[str]:
    return Known(set_id, live(set_id, **set_values))


def run(want=Want.LIVE, wanted=WANTED, problems=(), may_come_later=True, had_access=True, problems_may_pass=False,
        **observed):
    return decide(want, wanted if not problems else None, [Message.verbatim(p) for p in problems],
                  Observed(**observed), reason=REASON, may_come_later=may_come_later, had_access=had_access,
                  problems_may_pass=problems_may_pass)


def keys(items) -> list[str]:
    return [k.key for k in items]


# -- entitled: exactly one set with the wanted doors and window ------------------------------------

def test_no_set_yet_is_created():
    decision = run()
    assert decision.create and decision.state == GrantState.ACTIVE and decision.revoke == []


def test_a_set_with_the_wanted_access_is_kept_and_every_other_one_revoked():
    decision = run(current=known("set-1"), found=[known("set-2")], stale=[Known("set-0")])
    assert decision.keep.key == "set-1" and not decision.create
    assert keys(decision.revoke) == ["set-2", "set-0"]


def test_other_doors_or_window_are_replaced_new_set_first():
    for changed in (known(door_ids=("d-side",)), known(end=END + timedelta(hours=1))):
        decision = run(current=changed)
        assert decision.create and keys(decision.revoke) == ["set-1"]


def test_a_set_gone_at_the_vendor_is_renewed():
    decision = run(current=Known("set-1"), current_gone=True)
    assert decision.create and decision.revoke == []


def test_a_set_a_lost_answer_made_is_adopted_instead_of_a_second_one():
    decision = run(current=known("set-1", door_ids=("d-side",)), found=[known("set-2")])
    assert decision.keep.key == "set-2" and not decision.create and keys(decision.revoke) == ["set-1"]


def test_a_create_of_unknown_fate_is_waited_for_before_anything_new_is_made():
    decision = run(current=known("set-1", door_ids=("d-side",)), undecided=True)
    assert decision.wait and not decision.create and decision.revoke == []
    assert decision.keep.key == "set-1" and decision.state == GrantState.ACTIVE  # the guest keeps what works
    assert run(undecided=True).state == GrantState.PENDING


def test_a_set_without_a_reported_window_is_compared_with_what_the_grant_recorded():
    unreported = Known("set-1", AccessSet(id="set-1", active=True, door_ids=("d-main",)), recorded=WANTED)
    assert run(current=unreported).keep.key == "set-1"
    unreported.recorded = Wanted("house", WANTED.doors, START, END + timedelta(days=1), "nl")
    assert run(current=unreported).create


def test_problems_fail_the_grant_with_every_reason_and_keep_what_works():
    decision = run(problems=("no mapping", "no recipient"), current=known("set-1"), found=[known("set-2")])
    assert decision.state == GrantState.FAILED and str(decision.reason) == "no mapping no recipient"
    assert decision.keep.key == "set-1" and not decision.create and keys(decision.revoke) == ["set-2"]


# -- not entitled: nothing live -------------------------------------------------------------------

def test_no_entitlement_revokes_every_set_the_journal_names():
    decision = run(want=Want.NONE, current=Known("set-1"), found=[known("set-2")], stale=[Known("set-0")])
    assert decision.state == GrantState.REVOKED and keys(decision.revoke) == ["set-1", "set-2", "set-0"]
    assert decision.keep is None and not decision.create


def test_no_entitlement_waits_for_a_create_of_unknown_fate():
    decision = run(want=Want.NONE, current=Known("set-1"), undecided=True)
    assert decision.state == GrantState.REVOKING and decision.wait and keys(decision.revoke) == ["set-1"]


# -- an integration that does not run makes nothing new ------------------------------------------

def test_an_inactive_integration_keeps_what_is_there_and_makes_nothing():
    decision = run(want=Want.KEEP, current=Known("set-1"), found=[known("set-2")])
    assert decision.keep.key == "set-1" and not decision.create and keys(decision.revoke) == ["set-2"]
    assert decision.state == GrantState.ACTIVE
    waiting = run(want=Want.KEEP)
    assert (waiting.state, waiting.create, waiting.wait) == (GrantState.PENDING, False, False)
    assert run(want=Want.KEEP, may_come_later=False).state == GrantState.REVOKED  # archived: nothing will come


def test_an_ended_booking_keeps_no_set_and_fails_only_if_it_never_had_access():
    assert run(want=Want.ENDED, had_access=True).state == GrantState.REVOKED
    never = run(want=Want.ENDED, had_access=False, problems=("ended",))
    assert never.state == GrantState.FAILED and str(never.reason) == "ended"
    # A stay shortened into the past: the set made for the longer stay would still open the doors.
    shortened = run(want=Want.ENDED, current=Known("set-1"))
    assert shortened.keep is None and keys(shortened.revoke) == ["set-1"] and not shortened.create


# -- every combination ----------------------------------------------------------------------------

def test_no_decision_leaves_more_than_one_set_or_one_the_booking_is_not_entitled_to():
    sets = {"matching": known("m"), "other": known("o", door_ids=("d-side",))}
    for want, current, found, stale, undecided, problems in product(
            list(Want), [None, "matching", "other", "gone"], [(), ("matching",), ("other",), ("matching", "other")],
            [(), ("s",)], [False, True], [(), ("a problem",)]):
        observed = dict(undecided=undecided, stale=[Known(s) for s in stale],
                        found=[Known(f"found-{f}", sets[f].seen) for f in found])
        if current == "gone":
            observed.update(current=Known("c"), current_gone=True)
        elif current is not None:
            observed["current"] = Known("c", sets[current].seen)
        decision = run(want=want, problems=problems, **observed)
        revoked = set(keys(decision.revoke))
        live_before = ([] if current in (None, "gone") else ["c"]) + [f"found-{f}" for f in found]
        left = [k for k in live_before if k not in revoked]
        left += ["new"] if decision.create else []
        assert set(keys(observed["stale"])) <= revoked, (want, observed)
        if want in (Want.NONE, Want.ENDED):
            assert left == [] and not decision.create, (want, observed)
            continue
        if decision.wait:  # not at rest: a create of unknown fate is waited for, nothing new is made
            assert not decision.create
            continue
        assert len(left) <= 1, (want, observed, left)
        if decision.create:  # the new set first, then everything else goes: no gap, never two
            assert revoked == set(live_before) | set(keys(observed["stale"]))
            assert not problems and want == Want.LIVE and not undecided
        if decision.keep is not None:
            assert decision.keep.key in live_before and left == [decision.keep.key]


def test_problems_the_vendor_may_clear_keep_the_set_and_ask_again():
    # A refused door list: FAILED with the reason, the set the guest has kept, looked at again.
    decision = run(problems=("The doors could not be looked up: refused",), problems_may_pass=True,
                   current=known("set-1"))
    assert (decision.state, decision.keep.key, decision.revoke, decision.wait) == (GrantState.FAILED, "set-1", [], True)
    # A mapping problem only a person can fix is not asked again by itself.
    assert run(problems=("no mapping",), current=known("set-1")).wait is False

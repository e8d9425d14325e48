"""Scripted failures for the sandbox: what Salto KS and an IQ can do wrong, on demand.

Counted faults fire for the next ``count`` matching calls (``operation`` narrows them to one
operation); a ``random`` fault answers errors at the given rates until cleared:

- ``status``: answer an HTTP error (``status``; ``retryAfter`` for 429/503), doing nothing;
- ``hang``: wait ``seconds`` (past the client's timeout), doing nothing;
- ``drop_answer``: do the work, then answer 504 — a lost answer;
- ``slow``: do the work, then answer after ``seconds`` — a slow open;
- ``iq_offline``: answer as if the IQ were offline (calls that need the IQ);
- ``otp_rejected``: refuse the one-time password, whatever it is (calls that carry one);
- ``pin_changed``: change the IQ's PIN just before the call, as someone elsewhere would.

The scripting itself is the vendor kit's; this module says which modes Salto KS adds and where
they apply.
"""

from __future__ import annotations

from addon.door_access.public import Fault, FaultRules, FaultSpecError, RandomFault
from addon.door_access.public import FaultPlan as _KitFaultPlan

from ..client import OPERATIONS

# The calls an IQ takes part in, and those signed with a one-time password.
IQ_OPERATIONS = frozenset({"get_pin", "set_pin", "open_lock"})
SIGNED_OPERATIONS = frozenset({"set_pin", "open_lock"})
APPLIES_TO = {"iq_offline": IQ_OPERATIONS, "otp_rejected": SIGNED_OPERATIONS, "pin_changed": IQ_OPERATIONS}

RULES = FaultRules(
    operations=OPERATIONS,
    extra_modes=("slow", "iq_offline", "otp_rejected", "pin_changed"),
    timed_modes=("slow",),
    applies_to=APPLIES_TO,
)
MODES = RULES.modes

__all__ = ["APPLIES_TO", "IQ_OPERATIONS", "MODES", "RULES", "SIGNED_OPERATIONS", "Fault", "FaultPlan",
           "FaultSpecError", "RandomFault"]


class FaultPlan(_KitFaultPlan):
    """The faults scripted for a Salto KS sandbox."""

    def __init__(self) -> None:
        super().__init__(RULES)

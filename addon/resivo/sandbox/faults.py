"""Scripted failures for the Resivo sandbox: the common modes (``status``, ``hang``,
``drop_answer``, ``random``) over Resivo's operations; the scripting itself is the vendor kit's."""

from __future__ import annotations

from addon.door_access.public import Fault, FaultRules, FaultSpecError, RandomFault
from addon.door_access.public import FaultPlan as _KitFaultPlan

from ..client import OPERATIONS

RULES = FaultRules(operations=OPERATIONS)
MODES = RULES.modes

__all__ = ["MODES", "RULES", "Fault", "FaultPlan", "FaultSpecError", "RandomFault"]


class FaultPlan(_KitFaultPlan):
    """The faults scripted for a Resivo sandbox."""

    def __init__(self) -> None:
        super().__init__(RULES)

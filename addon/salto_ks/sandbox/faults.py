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
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..client import OPERATIONS

MODES = ("status", "hang", "drop_answer", "slow", "iq_offline", "otp_rejected", "pin_changed", "random")
# The calls an IQ takes part in, and those signed with a one-time password.
IQ_OPERATIONS = frozenset({"get_pin", "set_pin", "open_lock"})
SIGNED_OPERATIONS = frozenset({"set_pin", "open_lock"})
APPLIES_TO = {"iq_offline": IQ_OPERATIONS, "otp_rejected": SIGNED_OPERATIONS, "pin_changed": IQ_OPERATIONS}


class FaultSpecError(ValueError):
    """The fault sent to ``/_sandbox/faults`` is not usable."""


@dataclass
class Fault:
    mode: str
    remaining: int = 1
    operation: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 0.0

    def matches(self, operation: str) -> bool:
        return (self.remaining > 0 and self.operation in (None, operation)
                and operation in APPLIES_TO.get(self.mode, OPERATIONS))

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "count": self.remaining, "operation": self.operation, "status": self.status,
                "retryAfter": self.retry_after, "seconds": self.seconds}


@dataclass
class RandomFault:
    rates: dict[int, float]
    rng: random.Random
    operation: str | None = None
    retry_after: float | None = None
    seed: int | None = None
    fired: int = field(default=0)

    def roll(self, operation: str) -> Fault | None:
        if self.operation not in (None, operation):
            return None
        draw = self.rng.random()
        threshold = 0.0
        for status, rate in self.rates.items():
            threshold += rate
            if draw < threshold:
                self.fired += 1
                return Fault(mode="status", status=status, retry_after=self.retry_after if status == 429 else None)
        return None

    def describe(self) -> dict[str, Any]:
        return {"mode": "random", "rates": {str(s): r for s, r in self.rates.items()}, "operation": self.operation,
                "retryAfter": self.retry_after, "seed": self.seed, "fired": self.fired}


class FaultPlan:
    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._random: RandomFault | None = None

    def clear(self) -> None:
        self._queue.clear()
        self._random = None

    def describe(self) -> list[dict[str, Any]]:
        described = [f.describe() for f in self._queue if f.remaining > 0]
        if self._random is not None:
            described.append(self._random.describe())
        return described

    def take(self, operation: str) -> Fault | None:
        """The fault for this call, if any; a counted one is used up."""
        for fault in self._queue:
            if fault.matches(operation):
                fault.remaining -= 1
                self._queue = [f for f in self._queue if f.remaining > 0]
                return fault
        return self._random.roll(operation) if self._random is not None else None

    def add(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault is a JSON object with a 'mode'")
        mode = spec.get("mode")
        if mode not in MODES:
            raise FaultSpecError(f"mode must be one of {', '.join(MODES)}")
        operation = spec.get("operation")
        if operation is not None and operation not in OPERATIONS:
            raise FaultSpecError(f"operation must be one of {', '.join(OPERATIONS)}")
        if operation is not None and operation not in APPLIES_TO.get(mode, OPERATIONS):
            raise FaultSpecError(f"{mode} applies to {', '.join(sorted(APPLIES_TO[mode]))} only")
        retry_after = _number(spec, "retryAfter")
        if mode == "random":
            self._random = _random_fault(spec, operation, retry_after)
            return
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FaultSpecError("count must be a positive integer")
        fault = Fault(mode=mode, remaining=count, operation=operation, retry_after=retry_after)
        if mode == "status":
            status = spec.get("status")
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                raise FaultSpecError("status must be an HTTP error status (400-599)")
            fault.status = status
        elif mode in ("hang", "slow"):
            seconds = _number(spec, "seconds")
            if seconds is None or seconds <= 0:
                raise FaultSpecError(f"{mode} needs 'seconds' > 0")
            fault.seconds = seconds
        self._queue.append(fault)


def _number(spec: dict[str, Any], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative number")
    return float(value)


def _random_fault(spec: dict[str, Any], operation: str | None, retry_after: float | None) -> RandomFault:
    rates_spec = spec.get("rates")
    if not isinstance(rates_spec, dict) or not rates_spec:
        raise FaultSpecError('random needs \'rates\', e.g. {"503": 0.2, "429": 0.05}')
    rates: dict[int, float] = {}
    for status, rate in rates_spec.items():
        try:
            code = int(status)
        except ValueError:
            raise FaultSpecError(f"rate key {status!r} is not an HTTP status") from None
        if not 400 <= code <= 599:
            raise FaultSpecError(f"rate key {status!r} is not an HTTP error status")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultSpecError(f"rate for {status} must be between 0 and 1")
        rates[code] = float(rate)
    if sum(rates.values()) > 1:
        raise FaultSpecError("rates add up to more than 1")
    seed = spec.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise FaultSpecError("seed must be an integer")
    return RandomFault(rates=rates, rng=random.Random(seed), operation=operation, retry_after=retry_after, seed=seed)

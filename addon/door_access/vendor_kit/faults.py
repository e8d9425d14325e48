"""Scripted failures for a vendor's sandbox: the failures a vendor can show, on demand.

Counted faults fire for the next ``count`` matching calls (``operation`` narrows them to one
operation); a ``random`` fault answers HTTP errors at the given rates until cleared. Every sandbox
knows ``status``, ``hang`` and ``drop_answer``; a vendor adds its own modes (and the operations
each applies to) through ``FaultRules``. What a fault does to a call is the sandbox app's business:
this module only scripts, validates and hands out faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

COMMON_MODES = ("status", "hang", "drop_answer")


class FaultSpecError(ValueError):
    """The fault sent to ``/_sandbox/faults`` is not usable."""


@dataclass(frozen=True)
class FaultRules:
    """What one vendor's sandbox can script: its operations, its own modes (after the common ones),
    which of them wait ``seconds`` as ``hang`` does, and the operations a mode is limited to."""

    operations: tuple[str, ...]
    extra_modes: tuple[str, ...] = ()
    timed_modes: tuple[str, ...] = ()
    applies_to: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def modes(self) -> tuple[str, ...]:
        return (*COMMON_MODES, *self.extra_modes, "random")

    def applies(self, mode: str, operation: str) -> bool:
        return mode not in self.applies_to or operation in self.applies_to[mode]


@dataclass
class Fault:
    mode: str
    remaining: int = 1
    operation: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 0.0

    def matches(self, operation: str) -> bool:
        return self.remaining > 0 and self.operation in (None, operation)

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
                retry_after = self.retry_after if status == 429 else None
                return Fault(mode="status", status=status, retry_after=retry_after)
        return None

    def describe(self) -> dict[str, Any]:
        return {"mode": "random", "rates": {str(status): rate for status, rate in self.rates.items()},
                "operation": self.operation, "retryAfter": self.retry_after, "seed": self.seed, "fired": self.fired}


class FaultPlan:
    """The faults scripted for one sandbox, under its vendor's ``FaultRules``."""

    def __init__(self, rules: FaultRules) -> None:
        self.rules = rules
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
        taken = next((f for f in self._queue if f.matches(operation) and self.rules.applies(f.mode, operation)), None)
        if taken is not None:
            taken.remaining -= 1
        self._queue = [f for f in self._queue if f.remaining > 0]
        if taken is not None:
            return taken
        return self._random.roll(operation) if self._random is not None else None

    def add(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault is a JSON object with a 'mode'")
        rules = self.rules
        mode = spec.get("mode")
        if mode not in rules.modes:
            raise FaultSpecError(f"mode must be one of {', '.join(rules.modes)}")
        operation = spec.get("operation")
        if operation is not None and operation not in rules.operations:
            raise FaultSpecError(f"operation must be one of {', '.join(rules.operations)}")
        if operation is not None and not rules.applies(mode, operation):
            raise FaultSpecError(f"{mode} applies to {', '.join(sorted(rules.applies_to[mode]))} only")
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
        elif mode == "hang" or mode in rules.timed_modes:
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

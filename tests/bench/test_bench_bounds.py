"""The drain benchmark's bound with the retry schedule: what no schedule can beat, given the attempts
each grant needed and the configured backoff."""

from __future__ import annotations

import pytest

from bench.worker_drain import retry_schedule_bound


def test_a_grant_that_needed_retries_waits_at_least_the_low_end_of_each_backoff():
    # 3 attempts: 3 calls of 20 ms, and before the retries at least 0.1/2 and 0.2/2 seconds.
    assert retry_schedule_bound([1, 3, 1], 0.02, 0.1, 2.0, 8) == pytest.approx(0.06 + 0.05 + 0.1)


def test_the_backoff_stops_growing_at_its_maximum():
    # Waits before retries 1..5: 0.05, 0.1, 0.2, 0.4, then the 1 s maximum halved: 0.5.
    assert retry_schedule_bound([6], 0.0, 0.1, 1.0, 8) == pytest.approx(0.05 + 0.1 + 0.2 + 0.4 + 0.5)


def test_without_retries_the_shared_slots_are_the_bound():
    assert retry_schedule_bound([1] * 100, 0.02, 0.1, 2.0, 4) == pytest.approx(100 * 0.02 / 4)
    assert retry_schedule_bound([], 0.02, 0.1, 2.0, 4) == 0.0

"""Fixtures of the door-access core's tests: a host with the in-memory lock vendor."""

from __future__ import annotations

import pytest

from addon.door_access.backend import register_backend
from tests.door_access.memory_backend import MemoryBackend, MemoryVendor


@pytest.fixture
def vendor() -> MemoryVendor:
    return MemoryVendor()


@pytest.fixture
def memory(host, vendor) -> MemoryBackend:
    """The in-memory backend, registered on the test's host under the name ``memory``."""
    backend = MemoryBackend(vendor)
    register_backend(host, backend)
    return backend

"""The walls between the addons hold: the manifests layer them (base ← booking ← door_access ←
lock vendors), and the door-access core names no vendor, not even in a comment. Which imports
may cross the walls is import-linter's (pyproject.toml; tests/base/test_import_contracts.py)."""

from __future__ import annotations

import re

import pytest

from addon.base.core.addons import ADDONS_PATH, discover
from addon.base.core.host import Host

SOURCES = {name: sorted((ADDONS_PATH / name).rglob("*.py")) for name in discover()}


def test_the_layers():
    manifests = discover()
    assert manifests["base"].depends == ()
    assert manifests["booking"].depends == ("base",)
    assert set(manifests["door_access"].depends) == {"base", "booking"}
    assert "door_access" in manifests["resivo"].depends


@pytest.mark.parametrize("addon", ["base", "booking", "door_access"])
def test_no_vendor_is_named_below_the_vendors(addon):
    """Not in code, not in comments: a second vendor must find nothing to change in the core."""
    vendors = [name for name, m in discover().items() if "door_access" in m.depends]
    pattern = re.compile("|".join(re.escape(v) for v in vendors), re.IGNORECASE)
    for path in SOURCES[addon]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not pattern.search(line), f"{path.relative_to(ADDONS_PATH)}:{number} names a lock vendor: {line.strip()}"


def test_booking_knows_nothing_of_door_access():
    for path in SOURCES["booking"]:
        text = path.read_text(encoding="utf-8")
        assert "door_access" not in text and "access grant" not in text.lower(), path


def test_services_are_typed_not_string_keyed():
    assert not hasattr(Host(environ={}), "services"), "per-process services are looked up by type (host.service)"
    for addon, paths in SOURCES.items():
        for path in paths:
            assert re.search(r"\bservices\[", path.read_text(encoding="utf-8")) is None, path

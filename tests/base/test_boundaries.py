"""The walls between the addons hold: imports only run downward (base ← booking ← door_access ←
lock vendors), and the door-access core names no vendor."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from addon.base.core.addons import ADDONS_PATH, discover, load_order
from addon.base.core.host import Host

SOURCES = {name: sorted((ADDONS_PATH / name).rglob("*.py")) for name in discover()}


def imported_addons(path: Path) -> set[str]:
    """The addons a module imports (``addon.<name>`` absolute imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found |= {name.split(".")[1] for name in names if name.startswith("addon.") and name.count(".") >= 1}
    return found


@pytest.mark.parametrize("addon", sorted(SOURCES))
def test_an_addon_imports_only_itself_and_what_it_depends_on(addon):
    manifests = discover()
    allowed = {m.name for m in load_order(manifests, [addon])}
    for path in SOURCES[addon]:
        wrong = imported_addons(path) - allowed
        assert not wrong, f"{path.relative_to(ADDONS_PATH)} imports {sorted(wrong)}, which {addon} does not depend on"


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

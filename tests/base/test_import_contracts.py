"""The import contracts of pyproject.toml (checked by `lint-imports` in `make test`) stay
complete, and the contract type written for them catches what it is there to catch."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from addon.base.core.addons import discover
from addon.base.core.settings import REPO_ROOT

CONTRACTS = {c["id"]: c for c in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_door_access_is_kept_apart_from_every_addon_built_on_it():
    above = {f"addon.{name}" for name, manifest in discover().items() if "door_access" in manifest.depends}
    assert above, "the backends and the console depend on door_access"
    assert above <= set(CONTRACTS["door-access-names-no-backend"]["forbidden_modules"])
    assert above <= set(CONTRACTS["booking-knows-no-door-access"]["forbidden_modules"])


def test_every_floor_of_base_is_a_layer():
    floors = {p.name for p in (REPO_ROOT / "addon" / "base").iterdir() if (p / "__init__.py").exists()}
    layers = {name.strip() for layer in CONTRACTS["base-floors"]["layers"] for name in layer.split("|")}
    assert floors - {"migrations"} <= layers


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_public_face_contract_finds_an_inner_import_and_an_undeclared_dependency(tmp_path):
    write(tmp_path, {
        "shop/__init__.py": "",
        "shop/low/__init__.py": "", "shop/low/__manifest__.py": '{"name": "low", "depends": []}',
        "shop/low/public.py": "from .inner import thing\n", "shop/low/inner.py": "thing = 1\n",
        "shop/high/__init__.py": "", "shop/high/__manifest__.py": '{"name": "high", "depends": ["low"]}',
        "shop/high/good.py": "from shop.low.public import thing\n",
        "shop/high/bad.py": "from shop.low.inner import thing\n",
        "shop/low/upward.py": "from shop.high.public import nothing\n",
        "shop/high/public.py": "nothing = None\n",
        "contracts.toml": ('[tool.importlinter]\nroot_packages = ["shop"]\n'
                           'contract_types = ["public_faces: tests.support.import_contracts.PublicFaceContract"]\n'
                           '[[tool.importlinter.contracts]]\nname = "faces"\ntype = "public_faces"\n'
                           'container = "shop"\nface = "public"\n'),
    })
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    found = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "contracts.toml"], cwd=tmp_path,
                           env=environ, capture_output=True, text=True, timeout=120)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "shop.high.bad -> shop.low.inner" in found.stdout and "not low's public face" in found.stdout
    assert "shop.low.upward -> shop.high.public" in found.stdout and "low does not depend on high" in found.stdout
    assert "shop.high.good" not in found.stdout

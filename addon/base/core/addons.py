"""Addon discovery and load order: Odoo-style ``__manifest__.py`` files ordered by ``depends``."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ADDONS_PATH = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = ("name", "version", "depends", "summary")


class AddonError(RuntimeError):
    """The addons cannot be loaded as configured (bad manifest, missing or circular dependency)."""


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    depends: tuple[str, ...]
    summary: str
    path: Path = field(compare=False)

    @property
    def module(self) -> str:
        return f"{self.path.parent.name}.{self.path.name}"


def read_manifest(folder: Path) -> Manifest:
    source = (folder / "__manifest__.py").read_text(encoding="utf-8")
    try:
        data = ast.literal_eval(source)  # a manifest is data, never executed
    except (ValueError, SyntaxError) as exc:
        raise AddonError(f"addon {folder.name}: __manifest__.py is not a plain dict literal ({exc})") from None
    if not isinstance(data, dict):
        raise AddonError(f"addon {folder.name}: __manifest__.py must be a dict")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise AddonError(f"addon {folder.name}: __manifest__.py lacks {', '.join(missing)}")
    if data["name"] != folder.name:
        raise AddonError(f"addon folder {folder.name!r} declares the name {data['name']!r}")
    depends = data["depends"]
    if not isinstance(depends, list | tuple) or not all(isinstance(d, str) for d in depends):
        raise AddonError(f"addon {folder.name}: depends must be a list of addon names")
    return Manifest(str(data["name"]), str(data["version"]), tuple(depends), str(data["summary"]), folder)


def discover(addons_path: Path = ADDONS_PATH) -> dict[str, Manifest]:
    manifests = {}
    for folder in sorted(p for p in addons_path.iterdir() if (p / "__manifest__.py").is_file()):
        manifest = read_manifest(folder)
        manifests[manifest.name] = manifest
    return manifests


def load_order(available: dict[str, Manifest], wanted: list[str] | None = None) -> list[Manifest]:
    """Depth-first topological order of ``wanted`` (default: all) and everything they depend on."""
    ordered: list[Manifest] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join(chain[chain.index(name):] + (name,))
            raise AddonError(f"circular addon dependency: {cycle}")
        if name not in available:
            needed_by = f" (needed by {chain[-1]})" if chain else ""
            searched = ", ".join(sorted({str(m.path.parent) for m in available.values()})) or str(ADDONS_PATH)
            raise AddonError(f"addon {name!r} not found in {searched}{needed_by}")
        state[name] = "visiting"
        for dependency in available[name].depends:
            visit(dependency, chain + (name,))
        state[name] = "done"
        ordered.append(available[name])

    for name in wanted if wanted is not None else sorted(available):
        visit(name, ())
    return ordered

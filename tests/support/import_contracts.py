"""A contract type for import-linter: addons meet only through each other's public face.

For every import from one addon into another (``addon.<a>…`` importing ``addon.<b>…``):

* ``b`` is one of the addons ``a``'s manifest depends on (directly or through them), so a lower
  addon never imports a higher one — door access no backend, booking no door access; and
* what is imported is ``addon.<b>.public``, the face ``b`` keeps stable, never one of its inner
  modules.

Written as a contract of its own because it holds for every addon, those to come included:
import-linter's own contract types name their modules one by one. Configured in pyproject.toml
(``[tool.importlinter]``); ``lint-imports`` finds this module from the checkout's root.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _manifests(container: Path) -> dict[str, tuple[str, ...]]:
    """Each addon's declared dependencies, read from its ``__manifest__.py`` (a dict literal)."""
    found = {}
    for manifest in sorted(container.glob("*/__manifest__.py")):
        found[manifest.parent.name] = tuple(ast.literal_eval(manifest.read_text(encoding="utf-8")).get("depends", ()))
    return found


def _reachable(depends: dict[str, tuple[str, ...]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(depends.get(name, ()))
    while todo:
        found = todo.pop()
        if found not in seen:
            seen.add(found)
            todo.extend(depends.get(found, ()))
    return seen


class PublicFaceContract(Contract):
    type_name = "public_faces"

    container = fields.StringField()  # the addons' package, e.g. "addon"
    face = fields.StringField()  # the module every addon shows the others, e.g. "public"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        import importlib.util

        container, face = str(self.container), str(self.face)
        spec = importlib.util.find_spec(container)
        depends = _manifests(Path(next(iter(spec.submodule_search_locations))))
        wrong = []
        for importer in sorted(m for m in graph.modules if m.startswith(container + ".")):
            owner = importer.split(".")[1]
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                parts = imported.split(".")
                if parts[0] != container or len(parts) < 2 or parts[1] == owner:
                    continue
                other = parts[1]
                reasons = []
                if other not in _reachable(depends, owner):
                    reasons.append(f"{owner} does not depend on {other}")
                if imported != f"{container}.{other}.{face}":
                    reasons.append(f"not {other}'s public face ({container}.{other}.{face})")
                if reasons:
                    lines = [d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)]
                    wrong.append((importer, imported, lines, "; ".join(reasons)))
        return ContractCheck(kept=not wrong, metadata={"wrong": wrong})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines, reason in check.metadata["wrong"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(f"{importer} -> {imported} ({where}): {reason}", bold=False)
            output.new_line()

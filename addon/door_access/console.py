"""What a backend adds to the admin console: the tabs of an integration of its kind that only it
can fill (the set-up guide's Authentication tab, and any other step only its guide has, such as an
IQ OTP setup), as browser modules it ships itself, and the GraphQL fields of ``DoorIntegration``
those tabs read.

A backend registers its part on the host (``register_console_part``, beside ``register_backend``);
the admin console serves each part's files and asks for its fields, so the
console names no vendor and a second vendor changes nothing in it. A backend without a part still
works: its integrations show the console's own tabs and a note that it has nothing to set there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SCRIPT = re.compile(r"^[A-Za-z0-9_-]+\.js$")


@dataclass(frozen=True)
class ConsolePart:
    """``script`` (an ES module in ``static_dir``; it may import others beside it) exports
    ``tabs``: a list of ``{key, label(t), render(panel, integration, kit)}``, shown in that order
    before the console's Details, Mapping and Activate (the first is the Authentication tab);
    ``kit`` holds the console's helpers (``gql``, ``h``, ``field``, ``notice``, ``show``,
    ``errorsByField``, ``confirmDialog``, ``word``, ``formatTime``, ``t``, ``tn``). It may also
    export ``fieldLabels(t)``, ``valueLabels(t)`` (``{key: {value: word}}``), ``actionLabels(t)``
    and ``operationLabels(t)``: words for the audit trail's keys of its settings, their recorded
    values, its own audit actions and the calls its call log lists (the console shows codes as
    words). Its texts are marked with ``t("…")`` / ``tn("…", "…", n)`` and translated with the
    console's (``make i18n`` extracts them)."""

    backend: str  # the backend's name (DoorBackend.name): the integrations that show these tabs
    static_dir: Path  # served by the console at /admin/parts/<backend>/
    script: str  # the module the console imports, e.g. "authentication.js"
    fields: str = ""  # the selection on DoorIntegration the tabs read, e.g. "acme { apiKeySet }"

    def __post_init__(self) -> None:
        if not _NAME.match(self.backend):
            raise ValueError(f"a console part's backend must be a plain name, not {self.backend!r}")
        if not _SCRIPT.match(self.script) or not (Path(self.static_dir) / self.script).is_file():
            raise ValueError(f"console part of {self.backend}: no script {self.script!r} in {self.static_dir}")


class ConsoleParts:
    """The host's console parts, one per backend."""

    def __init__(self) -> None:
        self._by_backend: dict[str, ConsolePart] = {}

    def add(self, part: ConsolePart) -> None:
        if part.backend in self._by_backend:
            raise ValueError(f"backend {part.backend!r} already has a console part")
        self._by_backend[part.backend] = part

    def all(self) -> list[ConsolePart]:
        return list(self._by_backend.values())


def console_parts(host) -> ConsoleParts:
    return host.service(ConsoleParts, ConsoleParts)


def register_console_part(host, part: ConsolePart) -> None:
    console_parts(host).add(part)

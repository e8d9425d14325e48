"""Build the manifest of trusted documents (``make trusted-documents``): the hash of each file of
``graphql/operations/``. The server only reads it (``server/trusted_documents.py``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from ..server.trusted_documents import (
    MANIFEST,
    MANIFEST_FORMAT,
    OPERATIONS_DIR,
    read_operations,
)


def build_manifest(folder: Path = OPERATIONS_DIR) -> dict:
    documents = read_operations(folder)
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "algorithm": "sha256",
        "documents": {d.hash: {"name": d.name, "type": d.kind, "file": d.file}
                      for d in sorted(documents, key=lambda d: d.file)},
    }


def render_manifest(manifest: Mapping) -> str:
    return json.dumps(manifest, indent=2, sort_keys=False) + "\n"


def write_manifest(path: Path = MANIFEST, folder: Path = OPERATIONS_DIR) -> int:
    manifest = build_manifest(folder)
    path.write_text(render_manifest(manifest), encoding="utf-8")
    return len(manifest["documents"])



def main(argv: list[str]) -> int:
    """``python -m addon.base.tools.trusted_documents [--check]``: rebuild the manifest, or only check it."""
    if "--check" in argv:
        expected = render_manifest(build_manifest())
        current = MANIFEST.read_text(encoding="utf-8") if MANIFEST.exists() else ""
        if current != expected:
            print(f"{MANIFEST} is out of date: run 'make trusted-documents'", file=sys.stderr)
            return 1
        print(f"{MANIFEST} is up to date")
        return 0
    count = write_manifest()
    print(f"{count} trusted documents written to {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

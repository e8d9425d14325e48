"""``make vendor``: refresh the third-party browser files shipped in the package (GraphiQL and the
React it runs on) from the npm registry, at the pinned versions below.

Each package is fetched with ``npm pack`` (the registry's own tarball, which npm checks against the
integrity the registry publishes); its SHA-512 must equal the one pinned here, so a changed
tarball is refused rather than shipped. The files we serve are copied into ``static/vendor`` and
``VENDORED.json`` records, for each, the package, version, licence, tarball integrity and the
file's SHA-256 (a test checks the committed files against it, with no network). Nothing is fetched
at run time: the server only serves these files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"
MANIFEST = VENDOR_DIR / "VENDORED.json"


@dataclass(frozen=True)
class Pinned:
    name: str
    version: str
    integrity: str  # the registry tarball's "sha512-<base64>"
    files: dict[str, str]  # path inside the tarball -> file name under static/vendor


PINNED = (
    Pinned("react", "18.3.1",
           "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
           {"package/umd/react.production.min.js": "react.production.min.js",
            "package/LICENSE": "react.LICENSE"}),
    Pinned("react-dom", "18.3.1",
           "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
           {"package/umd/react-dom.production.min.js": "react-dom.production.min.js",
            "package/LICENSE": "react-dom.LICENSE"}),
    Pinned("graphiql", "3.8.3",
           "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
           {"package/graphiql.min.js": "graphiql.min.js",
            "package/graphiql.min.css": "graphiql.min.css",
            "package/LICENSE": "graphiql.LICENSE"}),
)


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(pinned: Pinned, workdir: Path) -> Path:
    """The package's registry tarball, through npm's own client."""
    spec = f"{pinned.name}@{pinned.version}"
    out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
                         check=True, capture_output=True, text=True, timeout=300)
    return workdir / json.loads(out.stdout)[0]["filename"]


def unpack(pinned: Pinned, tarball: Path) -> dict:
    data = tarball.read_bytes()
    integrity = sri(data)
    if integrity != pinned.integrity:
        raise SystemExit(f"{pinned.name}@{pinned.version}: tarball integrity {integrity} is not the pinned "
                         f"{pinned.integrity}; refusing it")
    entry = {"package": pinned.name, "version": pinned.version, "integrity": integrity, "files": {}}
    with tarfile.open(tarball) as archive:
        meta = json.load(archive.extractfile("package/package.json"))
        entry["license"] = meta.get("license")
        for inner, target in pinned.files.items():
            content = archive.extractfile(inner).read()
            (VENDOR_DIR / target).write_bytes(content)
            entry["files"][target] = hashlib.sha256(content).hexdigest()
    return entry


def main() -> int:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory() as temp:
        for pinned in PINNED:
            entries.append(unpack(pinned, fetch(pinned, Path(temp))))
            print(f"{pinned.name}@{pinned.version}: {', '.join(pinned.files.values())}")
    MANIFEST.write_text(json.dumps({"packages": entries}, indent=2) + "\n")
    print(f"recorded in {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

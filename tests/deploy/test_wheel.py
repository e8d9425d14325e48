"""The heavy one: the wheel, built from the files the Dockerfile copies, installed into a fresh
virtual environment outside the checkout with its dependencies from the runtime lock, runs `db
upgrade`, `seed` and `serve` (with the sandbox mounted, which reads its data from the wheel) and
answers a request in Dutch (compiled catalogs). It serves on another port than the one in force
when the demo was seeded: the demo integration follows the served port, and the demo bookings
already confirmed get their door links from the sandbox there."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from addon.base.public import REPO_ROOT
from tests.support.processes import free_port

pytestmark = pytest.mark.heavy

UNSIGNED = '{ bookings(first: 1) { edges { node { id } } } }'


def build_context(into: Path) -> None:
    """What the Dockerfile's build stage copies, and nothing else (no compiled catalogs)."""
    build_stage = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ")[1]
    for line in re.findall(r"^COPY (?!--)(.+)$", build_stage, flags=re.M):
        *sources, _destination = line.split()
        for source in sources:
            path = REPO_ROOT / source
            if path.is_dir():
                shutil.copytree(path, into / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
            else:
                shutil.copy2(path, into / source)


def checked(arguments: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=600, **options)
    assert done.returncode == 0, f"{arguments}:\n{done.stdout}\n{done.stderr}"
    return done


def dutch(english: str) -> str:
    with (REPO_ROOT / "i18n" / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="nl")[english].string


def test_the_wheel_runs_outside_the_checkout():
    with tempfile.TemporaryDirectory(prefix="ireserve-wheel-") as scratch:
        scratch = Path(scratch)
        source, wheels, venv, home = scratch / "src", scratch / "wheels", scratch / "venv", scratch / "home"
        source.mkdir(), home.mkdir()
        build_context(source)
        # As the Dockerfile does: the locked build tools (this environment has them: the test lock
        # holds the build lock), no isolated build environment resolved afresh.
        checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels),
                 str(source)])
        [wheel] = wheels.glob("ireserve_addons-*.whl")
        checked([sys.executable, "-m", "venv", str(venv)])
        # Its dependencies come from the runtime lock, hashes checked (the package index or pip's
        # cache), then the wheel without resolving anything: nothing from the checkout, and the
        # lock is shown to hold everything the application needs to run.
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        checked([*pip, "--require-hashes", "-r", str(source / "requirements" / "runtime.txt")])
        checked([*pip, "--no-deps", str(wheel)])

        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("IRESERVE_", "RESIVO_", "PYTHON")) and k != "DATABASE_URL"}
        port, seeded_port = free_port(), free_port()
        environ.update(IRESERVE_VAR_DIR=str(home / "var"), IRESERVE_PORT=str(seeded_port), IRESERVE_SANDBOX="true",
                       RESIVO_ALLOW_PRIVATE_BASE_URL="true", IRESERVE_LOG_FORMAT="json", IRESERVE_WORKER_INTERVAL="0.2")
        ireserve = str(venv / "bin" / "ireserve")
        where = checked([str(venv / "bin" / "python"), "-c", "import addon, sys; print(addon.__path__[0])"],
                        cwd=home, env=environ).stdout.strip()
        assert where.startswith(str(venv)), where
        checked([ireserve, "db", "upgrade"], cwd=home, env=environ)
        assert "demo data loaded" in checked([ireserve, "seed"], cwd=home, env=environ).stdout
        log = (home / "serve.log").open("w")
        server = subprocess.Popen([ireserve, "serve", "--port", str(port)], cwd=home, env=environ, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, (home / "serve.log").read_text()
                time.sleep(0.2)
            answers = {language: httpx.post(f"{url}/graphql", json={"query": UNSIGNED},
                                            headers={"Accept-Language": language}).json()
                       for language in ("en", "nl")}
            sites = httpx.get(f"{url}/resivo-sandbox/_sandbox/sites")
            # The demo's confirmed and paid bookings get their door links through the served port.
            while not (granted := httpx.get(f"{url}/resivo-sandbox/_sandbox/authorizations").json()):
                assert time.monotonic() < deadline + 60 and server.poll() is None, (home / "serve.log").read_text()
                time.sleep(0.2)
            with sqlite3.connect(home / "var" / "ireserve.sqlite3") as database:
                base_urls = [row[0] for row in database.execute("SELECT base_url FROM resivo_credentials")]
        finally:
            server.terminate()
            assert server.wait(timeout=30) == 0
            log.close()
    english = answers["en"]["errors"][0]["message"]
    assert answers["nl"]["errors"][0]["message"] == dutch(english) != english
    assert sites.status_code == 200 and sites.json(), "the sandbox found its data in the wheel"
    assert base_urls == [f"http://127.0.0.1:{port}/resivo-sandbox"], "seeded on another port: it follows the served one"
    assert granted and all(grant["status"] == "active" for grant in granted)

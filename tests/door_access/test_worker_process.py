"""``ireserve worker``: the access worker as a process of its own; killed, it is reported missing."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from addon.base.public import create_app, load_host
from tests.conftest import base_environ

IRESERVE = Path(sys.executable).with_name("ireserve")


def command() -> list[str]:
    return [str(IRESERVE)] if IRESERVE.exists() else [sys.executable, "-m", "addon.base.runtime.cli"]


def test_ireserve_worker_runs_until_sigterm(tmp_path, sqlite_template):
    database = tmp_path / "worker.sqlite3"
    shutil.copyfile(sqlite_template, database)
    env = base_environ(tmp_path, f"sqlite+aiosqlite:///{database}", IRESERVE_WORKER_INTERVAL="0.1",
                       IRESERVE_LOG_LEVEL="INFO")
    process = subprocess.Popen(command() + ["worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = rest = ""
    try:
        deadline = time.monotonic() + 30
        while "started" not in output and time.monotonic() < deadline and process.poll() is None:
            output += process.stdout.readline()
        assert "access worker" in output and "started" in output, output
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output + rest
    assert "stopped" in rest


def test_ireserve_worker_help(tmp_path):
    result = subprocess.run(command() + ["worker", "--help"], capture_output=True, text=True,
                            env=base_environ(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "worker" in result.stdout


SCRAPE_TOKEN = "worker-test-scrape-token-0123456789"
MISSING_AFTER = 2.0


def gauges(text: str) -> dict[tuple[str, tuple], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.anyio
async def test_a_killed_worker_is_reported_missing_within_the_documented_time(tmp_path, sqlite_template):
    """The only worker dies (SIGKILL: no goodbye). A web process without a worker of its own
    (IRESERVE_WORKER=false) reads the heartbeat: within IRESERVE_WORKER_MISSING_AFTER of the kill,
    ireserve_workers_alive is 0, the worker's ireserve_worker_last_round_seconds is past the
    limit, and /readyz says degraded."""
    database = tmp_path / "worker.sqlite3"
    shutil.copyfile(sqlite_template, database)
    env = base_environ(tmp_path, f"sqlite+aiosqlite:///{database}", IRESERVE_WORKER_INTERVAL="0.1",
                       IRESERVE_WORKER_MISSING_AFTER=str(MISSING_AFTER), IRESERVE_METRICS_TOKEN=SCRAPE_TOKEN)
    web = load_host(environ=env)  # the real clock: the worker process writes with its own
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(command() + ["worker"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(web)),
                                     base_url="http://web") as http:
            async def scrape() -> dict:
                answer = await http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
                assert answer.status_code == 200, answer.text
                return gauges(answer.text)

            deadline = time.monotonic() + 120
            while (await scrape()).get(("ireserve_workers_alive", ())) != 1:
                assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
                await asyncio.sleep(0.1)
            assert (await http.get("/readyz")).json()["status"] == "ready"

            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            await asyncio.sleep(MISSING_AFTER + 0.2)  # its last round was no later than the kill
            scraped = await scrape()
            assert scraped[("ireserve_workers_alive", ())] == 0
            [(_, labels)] = [key for key in scraped if key[0] == "ireserve_worker_last_round_seconds"]
            assert scraped[("ireserve_worker_last_round_seconds", labels)] > MISSING_AFTER
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
            assert "no access worker has gone round" in ready.json()["checks"]["access_workers"]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        await web.database.dispose()

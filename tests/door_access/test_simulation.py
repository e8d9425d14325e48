"""Simulation tests: search for a schedule of changes and faults after which door access does not
converge (see ``simulation.py`` for the rules and the invariant). ``make test`` runs a bounded,
seeded search on SQLite and a smaller one on PostgreSQL; ``make simulate`` runs long
(``SIMULATE_EXAMPLES``, default 20,000, split over ``SIMULATE_SHARDS`` processes) and prints how many
schedules, steps and faults it tried. A failure shrinks to a minimal schedule and prints it; each
one found becomes a named regression test (``test_convergence.py``)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.conftest import _postgres_admin
from tests.door_access.simulation import COUNTS, AccessSimulation

# make simulate sets these; make test runs the bounded budget below.
EXAMPLES = int(os.environ.get("SIMULATE_EXAMPLES", "0"))
SHARDS = int(os.environ.get("SIMULATE_SHARDS", "1"))
REPORT_DIR = os.environ.get("SIMULATE_REPORT_DIR")
BOUNDED = {"sqlite": 80, "postgres": 8}  # schedules in make test (about a minute in all on 2 cores)
STEPS = 30


def machine_on(url_for, reuse_world: bool = False):
    class Simulation(AccessSimulation):
        database = staticmethod(url_for)

    Simulation.reuse_world = reuse_world
    return Simulation


def search(machine, examples: int, derandomize: bool) -> None:
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=STEPS, deadline=None, database=None, derandomize=derandomize,
        suppress_health_check=list(HealthCheck), print_blob=True))


def report(shard: int, database: str) -> None:
    if REPORT_DIR:
        Path(REPORT_DIR).mkdir(parents=True, exist_ok=True)
        Path(REPORT_DIR, f"{database}-{shard}.json").write_text(json.dumps(COUNTS.__dict__))


@pytest.mark.parametrize("shard", range(SHARDS))
def test_door_access_converges_under_every_fault_schedule_on_sqlite(sqlite_template, shard):
    async def copy(folder: Path):
        target = folder / "simulation.sqlite3"
        shutil.copyfile(sqlite_template, target)

        async def drop():
            pass

        return f"sqlite+aiosqlite:///{target}", drop

    examples = EXAMPLES // SHARDS if EXAMPLES else BOUNDED["sqlite"]
    try:
        search(machine_on(copy, reuse_world=True), examples, derandomize=not EXAMPLES)
    finally:
        report(shard, "sqlite")


def test_door_access_converges_under_fault_schedules_on_postgres(postgres_server, postgres_template):
    async def create(folder: Path):
        name = "sim_" + uuid.uuid4().hex[:12]
        await _postgres_admin(postgres_server, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')

        async def drop():
            await _postgres_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return postgres_server.url(database=name), drop

    search(machine_on(create), BOUNDED["postgres"], derandomize=True)

"""The container files, read as text (no Docker engine here): compose.yaml runs exactly the CLI
commands the several-processes test runs, checks health with `ireserve probe`, and shares the
secret key; the Dockerfile builds the wheel in one stage and installs it, without compilers, as a
non-root user in the next."""

from __future__ import annotations

import re

import yaml

from addon.base.public import REPO_ROOT
from tests.support.processes import DEPLOYMENT_COMMANDS, HEALTH_CHECK

COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_compose_runs_the_commands_the_process_test_runs():
    services = COMPOSE["services"]
    assert set(DEPLOYMENT_COMMANDS) | {"postgres"} == set(services)
    for name, arguments in DEPLOYMENT_COMMANDS.items():
        assert services[name]["command"] == ["ireserve", *arguments], name
    for name in ("web", "worker"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "ireserve", *HEALTH_CHECK], name


def test_compose_orders_start_up_and_shares_one_secret_key():
    services = COMPOSE["services"]
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    keys = {services[name]["environment"]["IRESERVE_SECRET_KEY"] for name in DEPLOYMENT_COMMANDS}
    urls = {services[name]["environment"]["DATABASE_URL"] for name in DEPLOYMENT_COMMANDS}
    assert len(keys) == 1 and len(urls) == 1 and next(iter(urls)).startswith("postgresql://")
    assert services["web"]["environment"]["IRESERVE_WORKER"] == "false", "the worker service does that work"
    assert services["worker"]["environment"]["IRESERVE_HEALTH_PORT"]


def test_the_dockerfile_builds_the_wheel_then_installs_it_slim_and_unprivileged():
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and the final stage"
    build, final = stages
    assert build.startswith("python:3.11-slim AS build") and "python -m build --wheel" in build
    assert final.startswith("python:3.11-slim\n")
    assert "COPY --from=build /wheels" in final and "--no-index --find-links /tmp/wheels ireserve-addons" in final
    assert not re.search(r"\b(gcc|build-essential|apt-get install)\b", final), "no compiler in the final image"
    users = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert users == ["ireserve"]
    assert re.search(r'^CMD \["ireserve", "serve"', final, flags=re.M)
    assert 'HEALTHCHECK' in final and '"ireserve", "probe"' in final

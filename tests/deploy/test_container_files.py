"""The container files, read as text (no Docker engine here), and the README's commands for them:
compose.yaml runs exactly the CLI commands the several-processes test runs, checks health on
liveness only, gives the database in parts and the secrets as files mounted only where they are
read, needs no variable to be read at all (so `docker compose down` works without secrets), makes
the worker's metrics reachable on its network and sizes PostgreSQL's max_connections by the
README's rule; the Dockerfile builds the wheel in one stage and installs it, without compilers,
as a non-root user in the next, with a volume and one process by default."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from addon.base.public import REPO_ROOT
from tests.support.processes import CONTAINER_HEALTH_BIND, DEPLOYMENT_COMMANDS, HEALTH_CHECK, IRESERVE

COMPOSE_TEXT = (REPO_ROOT / "compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
APPLICATION = ("migrate", "web", "worker")
SECRETS_DIR = "/run/secrets/"


def final_stage() -> str:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.M)[-1]


def section(title: str) -> str:
    """A "### title" section of the README, up to the next heading of its level or above."""
    match = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^#{{2,3}} )", README, flags=re.M | re.S)
    assert match, title
    return match.group(1)


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $$. A required variable that is missing raises, as compose refuses the file."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group("name"), match.group("operator"), match.group("argument") or ""
        value = environ.get(name)
        empty = value is None or (value == "" and operator and operator.startswith(":"))
        if operator in (":?", "?") and empty:
            raise LookupError(f"required variable {name} is missing a value: {argument}")
        if operator in (":-", "-") and empty:
            return argument
        return value or ""

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}", one, value)


def strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return []


def replicas(name: str) -> int:
    return int(SERVICES[name].get("deploy", {}).get("replicas", 1))


# -- compose.yaml and the process test


def test_compose_runs_the_commands_the_process_test_runs():
    assert set(DEPLOYMENT_COMMANDS) | {"postgres", "prometheus"} == set(SERVICES)
    for name, arguments in DEPLOYMENT_COMMANDS.items():
        extra = CONTAINER_HEALTH_BIND if name == "worker" else ()
        assert SERVICES[name]["command"] == ["ireserve", *arguments, *extra], name


def test_health_checks_ask_liveness_only():
    assert HEALTH_CHECK == ("probe", "/healthz")
    for name in ("web", "worker"):
        assert SERVICES[name]["healthcheck"]["test"] == ["CMD", "ireserve", *HEALTH_CHECK], name
    [check] = re.findall(r"^HEALTHCHECK .*$", final_stage(), flags=re.M)
    assert check.endswith('CMD ["ireserve", "probe", "/healthz"]'), check
    for name, service in SERVICES.items():
        if "healthcheck" in service:
            assert "/readyz" not in " ".join(service["healthcheck"]["test"]), "readiness is for the load balancer"


def test_compose_orders_start_up_and_shares_one_secret_key_and_database():
    assert SERVICES["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    for setting in ("IRESERVE_SECRET_KEY_FILE", "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER",
                    "DATABASE_PASSWORD_FILE", "IRESERVE_DB_POOL_SIZE"):
        assert len({SERVICES[name]["environment"][setting] for name in APPLICATION}) == 1, setting
    assert SERVICES["web"]["environment"]["IRESERVE_WORKER"] == "false", "the worker service does that work"
    assert SERVICES["worker"]["environment"]["IRESERVE_HEALTH_PORT"]
    for name in APPLICATION:
        assert SERVICES[name]["environment"].get("IRESERVE_SANDBOX", "false") == "false", "never in production"


def test_the_database_is_given_in_parts_so_any_password_works():
    """The password reaches PostgreSQL and the application only as a file: nothing pastes it into
    a URL, so `@`, `/` or `#` in it cannot break one."""
    database = SERVICES["postgres"]["environment"]
    for name in APPLICATION:
        environment = SERVICES[name]["environment"]
        assert "DATABASE_URL" not in environment and "DATABASE_PASSWORD" not in environment, name
        assert environment["DATABASE_HOST"] == "postgres" and environment["DATABASE_PORT"] == "5432"
        assert environment["DATABASE_NAME"] == database["POSTGRES_DB"]
        assert environment["DATABASE_USER"] == database["POSTGRES_USER"]
        assert environment["DATABASE_PASSWORD_FILE"] == database["POSTGRES_PASSWORD_FILE"] \
            == SECRETS_DIR + "postgres_password"
    assert "POSTGRES_PASSWORD" not in database
    assert not re.search(r"\w+://[^\s/]*:[^\s/]*@", COMPOSE_TEXT), "no credentials in a URL anywhere"


def test_reading_compose_needs_no_variable_and_no_secret():
    """Compose interpolates the whole file for every command (`down` too): nothing may be required."""
    assert not re.search(r"\$\{\w+:?\?", COMPOSE_TEXT), "no ${VAR:?…}: it would be demanded by every command"
    for text in strings(COMPOSE):
        interpolate(text, {})  # raises on a required variable
    assert interpolate(SERVICES["web"]["environment"]["DATABASE_NAME"], {}) == "ireserve"
    assert interpolate(SERVICES["web"]["environment"]["DATABASE_NAME"], {"POSTGRES_DB": "park"}) == "park"
    assert interpolate("$${POSTGRES_USER} ${A:?x}", {"A": "1"}) == "${POSTGRES_USER} 1"
    with pytest.raises(LookupError):
        interpolate("${A:?set A}", {})


def test_secrets_are_files_mounted_only_where_they_are_read():
    declared = COMPOSE["secrets"]
    assert set(declared) == {"postgres_password", "ireserve_secret_key", "ireserve_metrics_token"}
    for name, secret in declared.items():
        assert secret == {"file": f"./secrets/{name}"}, name
    prometheus_config = (REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    for name, service in SERVICES.items():
        mounted = set(service.get("secrets", []))
        assert mounted <= set(declared), name
        read = {value[len(SECRETS_DIR):] for value in strings(service.get("environment", {}))
                if value.startswith(SECRETS_DIR)}
        if name == "prometheus":
            read = set(re.findall(r"credentials_file: /run/secrets/(\w+)", prometheus_config))
        assert mounted == read, f"{name} mounts {sorted(mounted)} but reads {sorted(read)}"
    assert SERVICES["migrate"]["secrets"] == ["postgres_password", "ireserve_secret_key"]
    assert "secrets" in (REPO_ROOT / ".dockerignore").read_text().split(), "never in the build context"
    assert "secrets/" in (REPO_ROOT / ".gitignore").read_text().split(), "never committed"


def test_make_secrets_makes_the_files_compose_mounts_once(tmp_path):
    target = tmp_path / "secrets"
    script = REPO_ROOT / "deploy" / "make-secrets.sh"
    done = subprocess.run([str(script), str(target)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert {path.name for path in target.iterdir()} == set(COMPOSE["secrets"])
    assert target.stat().st_mode & 0o777 == 0o700, "the directory is private"
    values = {path.name: path.read_text() for path in target.iterdir()}
    for path in target.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, "readable by the containers' users"
        assert values[path.name] and values[path.name] == values[path.name].strip(), "no newline, no blank"
    Fernet(values["ireserve_secret_key"].encode())  # a valid key
    assert len(values["postgres_password"]) >= 32 and len(values["ireserve_metrics_token"]) >= 40
    again = subprocess.run([str(script), str(target)], capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and again.stdout.count("kept") == 3
    assert {path.name: path.read_text() for path in target.iterdir()} == values, "never overwritten"


def test_the_worker_metrics_are_reachable_on_the_compose_network():
    worker = SERVICES["worker"]
    port = worker["environment"]["IRESERVE_HEALTH_PORT"]
    assert worker["command"][-2:] == ["--health-host", "0.0.0.0"]
    assert worker["expose"] == [port] and "ports" not in worker, "reachable inside, not published to the host"
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    [discovery] = jobs["ireserve-worker"]["dns_sd_configs"]
    assert discovery["names"] == ["worker"] and str(discovery["port"]) == port
    web_port = re.search(r"IRESERVE_PORT=(\d+)", DOCKERFILE).group(1)
    assert jobs["ireserve-web"]["static_configs"] == [{"targets": [f"web:{web_port}"]}]
    assert SERVICES["web"]["ports"] == [f"127.0.0.1:{web_port}:{web_port}"], "for a proxy on this machine only"
    assert SERVICES["prometheus"]["profiles"] == ["monitoring"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in SERVICES["prometheus"]["volumes"]


def test_the_web_trusts_forwarded_addresses_from_its_network_only():
    [network] = COMPOSE["networks"]["default"]["ipam"]["config"]
    assert SERVICES["web"]["environment"]["FORWARDED_ALLOW_IPS"] == network["subnet"]
    assert "*" not in SERVICES["web"]["environment"]["FORWARDED_ALLOW_IPS"]


def test_max_connections_follows_the_sizing_rule():
    """(web processes + workers) × (1.5 × IRESERVE_DB_POOL_SIZE + 1) + 10, from the file's own numbers."""
    web_arguments = SERVICES["web"]["command"]
    processes = {"web": replicas("web") * int(web_arguments[web_arguments.index("--workers") + 1]),
                 "worker": replicas("worker")}
    needed = 10 + sum(count * (pool + pool // 2 + 1) for name, count in processes.items()
                      for pool in [int(SERVICES[name]["environment"]["IRESERVE_DB_POOL_SIZE"])])
    assert processes == {"web": 2, "worker": 2} and needed == 134
    command = SERVICES["postgres"]["command"]
    assert command[:1] == ["postgres"] and f"max_connections={needed}" in command
    rule = "(web processes + workers) × (1.5 × IRESERVE_DB_POOL_SIZE + 1) + 10"
    assert rule in section("PostgreSQL") and rule in COMPOSE_TEXT
    assert f"= **{needed}**" in section("PostgreSQL") and f"max_connections={needed}" in section("Container")


# -- the Dockerfile


def test_the_dockerfile_builds_the_wheel_then_installs_it_slim_and_unprivileged():
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and the final stage"
    build, final = stages
    assert build.startswith("python:3.11-slim AS build") and "pip wheel --no-cache-dir --no-deps" in build
    assert final.startswith("python:3.11-slim\n")
    assert "COPY --from=build /wheels /tmp/wheels" in final and "--no-index --find-links /tmp/wheels" in final
    assert not re.search(r"\b(gcc|build-essential|apt-get install)\b", final), "no compiler in the final image"
    users = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert users == ["ireserve"]


def test_the_image_runs_one_process_and_keeps_its_var_directory():
    final = final_stage()
    assert re.findall(r"^CMD (.+)$", final, flags=re.M) == ['["ireserve", "serve"]'], "one process by default"
    var_dir = re.search(r"IRESERVE_VAR_DIR=(\S+)", final).group(1)
    assert re.findall(r"^VOLUME (.+)$", final, flags=re.M) == [f'["{var_dir}"]']
    assert final.index("chown -R ireserve:ireserve " + var_dir) < final.index("VOLUME"), \
        "owned by the user before it becomes a volume"
    assert "IRESERVE_SANDBOX" not in DOCKERFILE, "the sandbox is the demo's, asked for with -e"


# -- the README's commands


def compose_commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", section("Container"), flags=re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line)[2:] for line in lines if line.startswith("docker compose ")]


def test_the_readme_compose_commands_name_what_compose_has():
    commands = compose_commands()
    assert len(commands) >= 5
    profiles = {profile for service in SERVICES.values() for profile in service.get("profiles", [])}
    ireserve_commands = []
    for words in commands:
        while words[0].startswith("-"):
            option = words.pop(0)
            if option == "--profile":
                assert words.pop(0) in profiles
        subcommand = words.pop(0)
        assert subcommand in {"up", "down", "run", "exec", "logs", "ps", "stop", "restart", "build", "pull"}
        if subcommand in ("run", "exec"):
            while words[0].startswith("-"):  # compose's own options (--rm, -T); none takes a value here
                words.pop(0)
            service, program, *arguments = words
            assert service in SERVICES and program == "ireserve", words
            ireserve_commands.append(arguments)
        else:
            names = [word for word in words if not word.startswith("-")]
            assert set(names) <= set(SERVICES), names
    assert ireserve_commands, "the README shows a command run in a container"
    for arguments in ireserve_commands:
        subcommands = [word for word in arguments if not word.startswith("-")][:2]
        done = subprocess.run([str(IRESERVE) if IRESERVE.exists() else sys.executable, *(
            [] if IRESERVE.exists() else ["-m", "addon.base.runtime.cli"]), *subcommands, "--help"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "IRESERVE_LOG_FORMAT": "text"})
        assert done.returncode == 0, f"ireserve {' '.join(subcommands)}: {done.stderr}"
        for option in (word.split("=")[0] for word in arguments if word.startswith("--")):
            assert option in done.stdout, f"ireserve {' '.join(subcommands)} has no {option}"
    assert Path(REPO_ROOT / "deploy" / "make-secrets.sh").stat().st_mode & 0o111
    assert "deploy/make-secrets.sh" in section("Container")


def test_every_variable_the_container_section_names_is_set_and_documented():
    text = section("Container")
    named = set(re.findall(r"\b((?:DATABASE|IRESERVE|POSTGRES|RESIVO|PROMETHEUS)_[A-Z_]+|FORWARDED_ALLOW_IPS)\b", text))
    assert {"DATABASE_HOST", "DATABASE_PASSWORD_FILE", "IRESERVE_METRICS_TOKEN_FILE", "FORWARDED_ALLOW_IPS"} <= named
    run_options = set(re.findall(r"-e (\w+)=", text))
    settings = section_of_settings()
    for name in named:
        assert name in COMPOSE_TEXT or name in DOCKERFILE or name in run_options, f"{name} is set nowhere"
        assert name.startswith("POSTGRES_") or f"`{name}`" in settings, f"{name} is not in the Settings table"
    for name in APPLICATION:
        for variable in SERVICES[name]["environment"]:
            assert f"`{variable}`" in settings, f"compose sets {variable}, which Settings does not document"


def section_of_settings() -> str:
    match = re.search(r"^## Settings\n(.*?)(?=^## )", README, flags=re.M | re.S)
    return match.group(1)

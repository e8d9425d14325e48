"""The shipped alerting (deploy/prometheus, deploy/grafana): the scrape configuration and the rules
check out with promtool, every alert fires and stays quiet where its unit tests say, the
dashboard's queries parse, and everything names only metrics the application exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from addon.base.public import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "ireserve.json"
TOKEN_PATH = "/run/secrets/ireserve_metrics_token"

# Series Prometheus makes itself for every target.
PROMETHEUS_METRICS = {"up"}

PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                "offset", "bool", "inf", "nan", "atan2"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: run tools/system-deps.sh (it installs Debian's prometheus package)")
    return found


def run_promtool(*arguments, cwd) -> str:
    done = subprocess.run([promtool(), *arguments], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool {' '.join(arguments)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def rules() -> list[dict]:
    document = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel's query, with Grafana's own variables as Grafana fills them."""
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [(f"panel {panel['id']} ({panel['title']}) {target['refId']}",
             target["expr"].replace("$__rate_interval", "5m"))
            for panel in document["panels"] for target in panel.get("targets", [])]


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, keywords or labels)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expression)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.groups()
        if not call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def test_metric_names_are_found_in_promql():
    assert metric_names('sum by (outcome) (rate(a_total{outcome!="ok", x=~"a|b"}[10m])) / on(le) b offset 1h'
                        ' > 0.2 and max(c) or vector(0) unless histogram_quantile(0.9, d_bucket[5m:1m])') \
        == {"a_total", "b", "c", "d_bucket"}


def test_the_scrape_config_and_its_rules_check_out(tmp_path):
    """promtool checks the configuration and the rule files it names (the token file must exist:
    a copy points at one here)."""
    token = tmp_path / "token"
    token.write_text("scrape-token")
    for path in PROMETHEUS.iterdir():
        text = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(text.replace(TOKEN_PATH, str(token)), encoding="utf-8")
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"ireserve-web", "ireserve-worker"}, "the rules' up{job=~\"ireserve-.*\"} covers them"
    for job in jobs.values():
        assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_PATH}, "the metrics token"
    output = run_promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS" in output and f"{len(rules())} rules found" in output, output


def test_every_alert_fires_and_stays_quiet_in_its_unit_tests():
    run_promtool("test", "rules", "alerts.test.yml", cwd=PROMETHEUS)
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text(encoding="utf-8"))["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]
    for rule in rules():
        mine = [check for check in checks if check["alertname"] == rule["alert"]]
        assert any(check["exp_alerts"] for check in mine), f"{rule['alert']}: no test where it fires"
        assert any(not check["exp_alerts"] for check in mine), f"{rule['alert']}: no test where it stays quiet"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_dashboard_queries_parse(tmp_path):
    """Each query of the dashboard becomes a recording rule, so that promtool parses it."""
    queries = dashboard_queries()
    assert len(queries) >= 10
    recorded = [{"record": f"dashboard:query_{number}", "expr": expression}
                for number, (_where, expression) in enumerate(queries)]
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard",
                                                                              "rules": recorded}]}))
    run_promtool("check", "rules", "dashboard.rules.yml", cwd=tmp_path)


def test_the_dashboard_is_importable_as_is():
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert document["uid"] and document["title"] and document["schemaVersion"] >= 36
    [variable] = document["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in document["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def exported_names(text: str) -> set[str]:
    """Every series name the exposition can have: a family's samples, also while it has none."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("_count", "_sum", "_created"), "gauge": ("",), "untyped": ("",), "info": ("_info",)}
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


@pytest.mark.anyio
async def test_rules_and_dashboard_name_only_metrics_the_application_exports(http, tokens):
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert answer.status_code == 200, answer.text
    exported = exported_names(answer.text)
    assert "ireserve_request_duration_seconds_count" in exported and "ireserve_access_due_grants" in exported
    assert {"ireserve_worker_last_round_seconds", "ireserve_workers_alive", "ireserve_database_up"} <= exported
    known = exported | PROMETHEUS_METRICS

    used = {f"alert {rule['alert']}": metric_names(rule["expr"]) for rule in rules()}
    used |= {where: metric_names(expression) for where, expression in dashboard_queries()}
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text(encoding="utf-8"))["tests"]
    used |= {f"test {test['name']}": {series["series"].split("{")[0] for series in test["input_series"]}
             for test in tests}
    unknown = {where: sorted(names - known) for where, names in used.items() if names - known}
    assert not unknown, f"names no part of the application exports: {unknown}"

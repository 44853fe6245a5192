"""deploy/, Dockerfile and docker-compose.yml: the files operators run, checked without running
them.

Alert rules go through ``promtool check`` and their unit tests (``promtool test rules``);
the compose file through ``docker-compose config``; both are skipped, with the reason, where
the tool is not installed. Everything else reads the files: each dashboard panel explains
itself, every PromQL expression names only metrics the workers export, counters are only
ever rated, and the wiring between compose, Prometheus and Grafana is consistent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.metrics import PipelineMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD_DIR = DEPLOY / "grafana" / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# Series Prometheus makes itself for every target.
PROMETHEUS_SERIES = frozenset({"up"})
SEVERITIES = {"critical", "warning"}


def implemented_metrics() -> set[str]:
    """Every series name a worker can expose, including labelled metrics with no child yet."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in PipelineMetrics().registry.collect():
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


# --- PromQL, read just enough to name the series an expression selects ----------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"bool", "offset", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = _VARIABLE.sub("1m", text)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = (
        "sum by (rule_id) "
        '(rate(screening_rule_hits_total{rule_id=~"FOREIGN-.*"}[$__rate_interval]))'
        " / ignoring (rule_id) group_left () "
        'sum(label_replace(up{job="x"} offset 5m, "a", "$1", "b", "(.*)")) > bool 1e3'
    )
    assert metric_names(expr) == {"screening_rule_hits_total", "up"}


# --- the files ----------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def dashboard(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # panels inside a collapsed row
    return found


def dashboard_expressions(path: Path) -> list[str]:
    return [
        target["expr"]
        for panel in panels(dashboard(path))
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def expressions_of(path: Path) -> list[str]:
    if path == ALERTS:
        return [rule["expr"] for rule in alert_rules()]
    return dashboard_expressions(path)


QUERY_FILES = [*DASHBOARDS, ALERTS]


def file_id(path: Path) -> str:
    return path.name


def test_both_dashboards_are_there() -> None:
    assert [p.name for p in DASHBOARDS] == ["foreign-ior.json", "pipeline.json"]


# --- metric names -------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUERY_FILES, ids=file_id)
def test_queries_use_only_metrics_the_workers_export(path: Path) -> None:
    known = implemented_metrics() | PROMETHEUS_SERIES
    missing = {name for expr in expressions_of(path) for name in metric_names(expr) - known}
    assert not missing, f"{path.name} uses metrics not in streams/metrics.py: {sorted(missing)}"


@pytest.mark.parametrize("path", QUERY_FILES, ids=file_id)
def test_counters_and_histograms_are_only_read_through_rate_or_increase(path: Path) -> None:
    # A raw counter restarts at zero with its worker; only rate()/increase() survive that,
    # and only they can be summed across workers.
    cumulative = re.compile(r"\b(screening_\w+_(?:total|bucket|sum|count))\b")
    for expr in expressions_of(path):
        for match in cumulative.finditer(expr):
            before = expr[: match.start()].rstrip()
            assert re.search(r"\b(?:rate|increase)\($", before), (
                f"{path.name}: {match.group(1)} outside rate()/increase() in {expr!r}"
            )


@pytest.mark.parametrize("path", QUERY_FILES, ids=file_id)
def test_quantiles_aggregate_buckets_by_le(path: Path) -> None:
    for expr in expressions_of(path):
        for quantile in re.finditer(r"histogram_quantile\(", expr):
            tail = expr[quantile.end() :]
            assert re.match(r"\s*[\d.]+\s*,\s*sum by \((?:[\w, ]*\b)?le\b", tail), (
                f"{path.name}: {expr!r} must be histogram_quantile(q, sum by (le, ...) (rate(...)))"
            )


# --- dashboards ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", DASHBOARDS, ids=file_id)
def test_every_panel_has_a_title_a_unit_and_a_description(path: Path) -> None:
    for panel in panels(dashboard(path)):
        name = f"{path.name} panel {panel.get('id')} {panel.get('title')!r}"
        assert panel.get("title", "").strip(), f"{name}: no title"
        assert panel.get("description", "").strip(), f"{name}: no description"
        if panel["type"] == "row":  # a row only groups panels: it shows no value
            continue
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        assert unit.strip(), f"{name}: no unit"
        assert panel.get("targets"), f"{name}: no query"


@pytest.mark.parametrize("path", DASHBOARDS, ids=file_id)
def test_dashboards_use_the_provisioned_prometheus_datasource(path: Path) -> None:
    board = dashboard(path)
    assert board["schemaVersion"] >= 38
    assert board["uid"] and board["title"] and board["description"]
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "prometheus"


def test_dashboard_uids_differ() -> None:
    uids = [dashboard(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_the_foreign_ior_dashboard_follows_the_five_foreign_ior_rules() -> None:
    text = " ".join(dashboard_expressions(DASHBOARD_DIR / "foreign-ior.json"))
    for rule_id in (
        "FOREIGN-INFORMAL",
        "FOREIGN-CTPAT",
        "FOREIGN-CONTINUOUS-BOND",
        "FOREIGN-INBOND",
        "FOREIGN-ADCVD",
    ):
        assert rule_id in text


# --- alert rules --------------------------------------------------------------------------


def test_every_alert_has_a_delay_a_severity_and_instructions() -> None:
    rules = alert_rules()
    assert len(rules) >= 7
    for rule in rules:
        assert rule.get("for"), f"{rule['alert']}: no `for:`, it would fire on one blip"
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 80, rule["alert"]


def test_the_alerts_the_issue_asks_for_exist() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert names >= {
        "ScreeningStalled",  # no throughput while lag > 0
        "ScreeningConsumerLagGrowing",
        "ScreeningDeadLetterRateHigh",
        "ScreeningLatencyHigh",  # p99
        "ScreeningRegistryStale",
        "ScreeningHoldBacklogHigh",
        "ScreeningWorkerDown",
    }


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(ALERT_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "never tested firing"
    assert names - quiet == set(), "never tested staying quiet"


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def test_promtool_accepts_the_config_and_the_alert_rules() -> None:
    result = run([promtool(), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([promtool(), "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = run([promtool(), "test", "rules", str(ALERT_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses recording rules: one per dashboard query, Grafana's variables replaced.
    rules = [
        {"record": f"dashboard:query:{n}", "expr": _VARIABLE.sub("5m", expr)}
        for n, expr in enumerate(e for path in DASHBOARDS for e in dashboard_expressions(path))
    ]
    checked = tmp_path / "dashboard_queries.yml"
    checked.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run([promtool(), "check", "rules", str(checked)])
    assert result.returncode == 0, result.stdout + result.stderr


# --- Prometheus, Grafana and compose wired together ----------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def worker_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("command") == ["worker"]
    }


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path, for bind mounts of repository files."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            found[target] = source[2:]
    return found


def test_prometheus_scrapes_every_worker_of_compose_on_its_metrics_port() -> None:
    (job,) = [
        j
        for j in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
        if j["job_name"] == "entry-screening"
    ]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    workers = worker_services()
    assert len(workers) == 2
    assert targets == {
        f"{name}:{service['environment']['SCREENING_METRICS_PORT']}"
        for name, service in workers.items()
    }
    for service in workers.values():
        assert service["environment"]["SCREENING_METRICS_HOST"] == "0.0.0.0"


def test_workers_reach_kafka_idempotently_with_the_default_session_timeout() -> None:
    services = compose()["services"]
    for service in [*worker_services().values(), services["topics"]]:
        env = service["environment"]
        assert env["SCREENING_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["SCREENING_PRODUCER_IDEMPOTENCE"] == "true"
        assert "SCREENING_SESSION_TIMEOUT_MS" not in env
    assert services["topics"]["command"] == ["topics", "create"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for service in worker_services().values():
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_prometheus_gets_its_config_and_the_alert_rules_side_by_side() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    mounted = mounts(compose()["services"]["prometheus"])
    config_path = "/etc/prometheus/prometheus.yml"
    assert mounted[config_path] == "deploy/prometheus/prometheus.yml"
    for rule_file in config["rule_files"]:
        in_container = str(Path(config_path).parent / rule_file)
        assert mounted[in_container] == f"deploy/prometheus/{rule_file}"


def test_grafana_provisioning_points_at_the_dashboard_folder() -> None:
    grafana = compose()["services"]["grafana"]
    mounted = mounts(grafana)
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert mounted[provider["options"]["path"]] == "deploy/grafana/dashboards"
    assert mounted["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent == Path(provider["options"]["path"])
    assert (DASHBOARD_DIR / Path(home).name).is_file()


def test_the_datasource_is_the_compose_prometheus_under_the_uid_dashboards_use() -> None:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    assert source["uid"] == "prometheus"
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose()["services"]
    scrape = load_yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape


def test_grafana_lets_anonymous_viewers_in_and_takes_the_admin_password_from_env() -> None:
    env = compose()["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    return path


def test_the_image_carries_the_native_core_built_in_a_stage_of_its_own() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    assert stages[0] == ("rust:1-slim-bookworm", "native")
    build = text[text.index("AS build") : text.rindex("\nFROM ")]
    assert "COPY --from=native /wheels /wheels" in build
    assert "/wheels/*.whl" in build
    # Only the installed wheel reaches the runtime image, not the toolchain.
    assert "cargo" not in text[text.rindex("\nFROM ") :]


def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "GRAFANA_ADMIN_PASSWORD": "only-for-this-check"}
    result = run([docker_compose(), "-f", str(COMPOSE), "config", "--quiet"], env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_refuses_to_start_grafana_without_an_admin_password() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    result = run([docker_compose(), "-f", str(COMPOSE), "config", "--quiet"], env=env, cwd=ROOT)
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


# --- the image ----------------------------------------------------------------------------


def test_the_image_runs_the_worker_as_a_non_root_user_and_checks_its_metrics() -> None:
    text = DOCKERFILE.read_text()
    final_stage = text[text.rindex("\nFROM ") :]
    assert final_stage.startswith("\nFROM python:3.11-slim\n")
    user = re.search(r"^USER (\S+)$", final_stage, re.M)
    assert user is not None and user.group(1) not in {"root", "0"}
    assert 'ENTRYPOINT ["entry-screening"]' in final_stage
    assert 'CMD ["worker"]' in final_stage
    assert re.search(r"^EXPOSE 9464$", final_stage, re.M)
    assert "SCREENING_METRICS_HOST=0.0.0.0" in final_stage
    healthcheck = final_stage[final_stage.index("HEALTHCHECK") :]
    assert "/metrics" in healthcheck.split("ENTRYPOINT")[0]

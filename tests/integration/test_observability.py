"""The dashboards and alert rules against a real Prometheus scraping a live worker.

A worker runs in this process on the test broker and screens a small generated feed; the
Debian ``prometheus`` binary scrapes its /metrics every second and loads
deploy/prometheus/alerts.yml. Every query of both dashboards then goes through Prometheus'
HTTP API: each must be accepted, and the main ones (throughput, outcomes, latency, lag,
registry size) must return data. Skipped where ``prometheus`` is not installed.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from entry_screening.synthetic import FeedSpec, write_dataset
from screening.native import NATIVE
from streams import loaders
from tests.integration.harness import BrokerUnderTest, prepare, running_worker

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
# Grafana fills these in; a fixed window stands in for them, wide enough (at 1 s scrapes) to
# hold the whole short run, so rates over it see the feed.
GRAFANA_VARIABLE = re.compile(r"\$__(?:rate_interval|interval|range)\b")
WINDOW = "2m"
# Panels whose every query must return data once the worker has screened a feed.
MAIN_PANELS = {
    ("pipeline.json", "Entries screened"),
    ("pipeline.json", "Records in and out"),
    ("pipeline.json", "Decisions by outcome"),
    ("pipeline.json", "Filing to decision latency"),
    ("pipeline.json", "Waiting filings per partition"),
    ("pipeline.json", "IOR records per worker"),
}
ENTRIES = 300
MALFORMED = 10

pytestmark = pytest.mark.timeout(300)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Prometheus:
    """A Prometheus server on loopback, talked to through its HTTP API."""

    def __init__(self, binary: str, directory: Path, worker_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {
                    "job_name": "entry-screening",
                    "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
                }
            ],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (directory / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str, **params: str) -> dict[str, Any]:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
                body: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:  # a refused query answers 400 with a body
            with error:
                body = json.loads(error.read())
        return body

    def query(self, expr: str) -> dict[str, Any]:
        return self.get("/api/v1/query", query=expr)

    def value(self, expr: str) -> float | None:
        answer = self.query(expr)
        result = answer.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    def ready(self) -> bool:
        if self.process.poll() is not None:
            self.log.flush()
            log = Path(self.log.name).read_text()[-3000:]
            raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def prometheus_binary() -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    yield binary


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, query) for every query of every dashboard."""
    queries = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                queries.append(
                    (path.name, panel["title"], GRAFANA_VARIABLE.sub(WINDOW, target["expr"]))
                )
    return queries


async def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Polls ``condition`` (a blocking call, run off the event loop) until it is true."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.5)


def test_every_dashboard_query_runs_on_prometheus_scraping_a_live_worker(
    broker: BrokerUnderTest, tmp_path: Path, prometheus_binary: str
) -> None:
    queries = dashboard_queries()
    assert {(board, title) for board, title, _ in queries} >= MAIN_PANELS
    settings = broker.settings(tmp_path, metrics_port=0)
    data = write_dataset(
        FeedSpec(iors=60, entries=ENTRIES, malformed=MALFORMED, seed=11), tmp_path / "data"
    )
    answers: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def scenario() -> None:
        await prepare(settings)
        await loaders.load_dataset(settings, data)
        async with running_worker(settings) as runtime:
            assert runtime.metrics_port is not None
            prometheus = Prometheus(prometheus_binary, tmp_path, runtime.metrics_port)
            try:
                # Bounds: generous for 2 shared cores running a broker, a worker and
                # Prometheus; a healthy run needs a few seconds for each step.
                await wait_until(prometheus.ready, 60, "Prometheus to start")
                await wait_until(
                    lambda: prometheus.value('up{job="entry-screening"}') == 1.0,
                    60,
                    "the first scrape of the worker",
                )
                fed = await loaders.feed(settings, data.entries)
                assert fed.produced == ENTRIES
                await wait_until(
                    lambda: (
                        (prometheus.value("sum(screening_entries_consumed_total)") or 0) >= ENTRIES
                    ),
                    120,
                    "Prometheus to see every entry consumed",
                )
                # The registry gauges refresh every 5 s: wait for one scrape after that.
                await wait_until(
                    lambda: (prometheus.value("max(screening_registry_iors)") or 0) > 0,
                    30,
                    "the registry size to be scraped",
                )
                for key in queries:
                    answers[key] = await asyncio.to_thread(prometheus.query, key[2])
                build = await asyncio.to_thread(prometheus.query, "screening_build_info")
                answers[("metrics", "build", "")] = build
                rules = await asyncio.to_thread(prometheus.get, "/api/v1/rules")
                answers[("alerts.yml", "rule groups", "")] = rules
            finally:
                await asyncio.to_thread(prometheus.stop)

    asyncio.run(scenario())

    refused = {key: answer for key, answer in answers.items() if answer.get("status") != "success"}
    assert not refused, f"Prometheus refused: {refused}"
    empty = [
        (board, title, expr)
        for (board, title, expr), answer in answers.items()
        if (board, title) in MAIN_PANELS and not answer["data"]["result"]
    ]
    assert not empty, f"no data for: {empty}"
    throughput = answers[next(k for k in answers if k[:2] == ("pipeline.json", "Entries screened"))]
    assert float(throughput["data"]["result"][0]["value"][1]) > 0
    groups = answers[("alerts.yml", "rule groups", "")]["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    alert_names = {
        rule["alert"]
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
    }
    assert loaded == alert_names
    # The worker says which screening core decides (native when it is installed).
    (build,) = answers[("metrics", "build", "")]["data"]["result"]
    assert build["metric"]["core"] == ("native" if NATIVE is not None else "python")

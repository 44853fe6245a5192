"""Fault tests on real Apache Kafka, run only on request.

They start Kafka JVMs and worker processes and take minutes, so a plain ``pytest`` leaves
this folder uncollected; ``SCREENING_RUN_APACHE_KAFKA=1`` (set by ``make test-kafka``)
brings them back.

Brokers: the tests that keep the broker up share one single-node cluster per module; when
``make test-kafka`` already runs one for the integration tests (``SCREENING_TEST_BOOTSTRAP``
with ``SCREENING_TEST_BROKER_KIND=apache``) they use that one instead of starting another
JVM. Tests that stop brokers get a cluster of their own. Clusters are never started while
another one of this folder runs: two modules, each cluster torn down before the next starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import BrokerUnderTest
from tests.reliability.workers import WorkerPool
from tools.kraft import KafkaCluster

# Ignoring the test files (rather than skipping their tests) keeps them from being imported
# and listed at all in the default run; this conftest is still read, so setting the
# variable is all it takes to bring them back.
if os.environ.get("SCREENING_RUN_APACHE_KAFKA") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="module")
def stable_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerUnderTest]:
    """A single Apache Kafka node that no test stops: each test uses its own topics."""
    external = os.environ.get("SCREENING_TEST_BOOTSTRAP")
    if external and os.environ.get("SCREENING_TEST_BROKER_KIND", "apache") == "apache":
        yield BrokerUnderTest(external, "apache")
        return
    with KafkaCluster(brokers=1, work_dir=tmp_path_factory.mktemp("kafka")) as cluster:
        yield BrokerUnderTest(cluster.bootstrap, "apache")


@pytest.fixture
def single_node(tmp_path: Path) -> Iterator[KafkaCluster]:
    """A single Apache Kafka node of this test's own, to stop and start again."""
    with KafkaCluster(brokers=1, work_dir=tmp_path / "kafka") as cluster:
        yield cluster


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[KafkaCluster]:
    """Three Apache Kafka nodes (replication factor 3, min.insync.replicas 2)."""
    with KafkaCluster(brokers=3, work_dir=tmp_path / "kafka") as cluster:
        yield cluster


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerPool]:
    """Starts `entry-screening worker` processes; whatever still runs at the end is
    stopped, so a failing test leaves no worker behind. Workers log at INFO (one line per
    batch, with its offsets) into their folders, to explain a failure afterwards."""
    monkeypatch.setenv("SCREENING_LOG_LEVEL", os.environ.get("SCREENING_LOG_LEVEL", "INFO"))
    pool = WorkerPool(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()

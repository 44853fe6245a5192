"""Broker faults while a worker screens: the only broker restarted, and one broker of three
stopped and brought back. The worker is never restarted by the test: it has to find its
way back by itself. Each test has a cluster of its own and ends in the reconciliation of
everything fed against everything produced (tests/reliability/reconcile.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka import client_options
from streams.settings import Settings
from tests.integration.harness import BrokerUnderTest
from tests.reliability.feeds import dataset, feed, prepare, split
from tests.reliability.progress import GroupProgress
from tests.reliability.reconcile import Feed, Outputs, lines, read_to_end, reconcile, record_result
from tests.reliability.workers import WorkerPool
from tools.kraft import KafkaCluster

pytestmark = [
    pytest.mark.reliability,
    # Each test here takes 40-70 s on a 2-core machine (a 3-node cluster alone starts in
    # 10-15 s); 300 s absorbs a slow CI machine and still ends a hung test.
    pytest.mark.timeout(300),
]

SEED = 20_260_603
ENTRIES = 20_000
# The worker's first commit comes within seconds of its start (see test_worker_faults).
FIRST_COMMIT_S = 90.0
# After the fault, a worker that recovered works through what is left in seconds; 120 s
# covers a slow machine plus the clients' reconnection backoff, and a worker that never
# recovers does not pass it.
CATCH_UP_S = 120.0


def settings_for(cluster: KafkaCluster, tmp_path: Path, **overrides: object) -> Settings:
    return BrokerUnderTest(cluster.bootstrap, "apache").settings(
        tmp_path, batch_size=1_000, **overrides
    )


async def coordinator(settings: Settings) -> int:
    """The id of the broker that coordinates the worker's consumer group."""
    admin = AIOKafkaAdminClient(**client_options(settings, role="test-admin"))
    await admin.start()
    try:
        node: int = await admin.find_coordinator(settings.consumer_group)
        return node
    finally:
        await admin.close()


def test_the_worker_rides_out_a_restart_of_the_only_broker(
    single_node: KafkaCluster, workers: WorkerPool, tmp_path: Path
) -> None:
    """A backlog is being screened when the single broker stops (controlled shutdown) and
    starts again on its log directory; more entries arrive after it is back."""
    rng = random.Random(SEED + 2)
    settings = settings_for(single_node, tmp_path)
    data = dataset(tmp_path / "data", entries=ENTRIES, malformed=20, seed=15)
    backlog, later = split(data.entries, 16_000)
    fed = Feed(settings.max_message_bytes).add(lines(data.entries))
    # Somewhere in the first part of the backlog, so the worker is busy when it happens.
    threshold = rng.randint(1_000, 4_000)

    async def scenario() -> tuple[float, float, Outputs]:
        await prepare(settings, data)
        await feed(settings, backlog)
        async with GroupProgress(settings) as progress:
            worker = workers.start(settings)
            await worker.ready()
            await progress.wait(
                lambda s: s.total >= threshold, FIRST_COMMIT_S, "the worker to be at work"
            )
            fault_at = time.monotonic()
            await asyncio.to_thread(single_node.stop_node, 0)
            down_at = time.monotonic()
            await asyncio.to_thread(single_node.start_node, 0)
            outage = time.monotonic() - fault_at
            worker.check_alive()
            await feed(settings, later)
            await progress.all_committed(fed.records, CATCH_UP_S, worker.check_alive)
            worker.check_alive()
            return progress.recovery_after(fault_at, down_at), outage, await read_to_end(settings)

    recovery, outage, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "c",
        "the single broker restarted mid-run (stop, start on the same log directory)",
        result,
        recovery_s=[recovery],
        recovery="broker stop -> every partition with pending entries committed again "
        "(includes the broker's own downtime)",
        notes=f"broker down and back in {outage:.1f} s; the same worker process throughout",
    )
    result.check()
    assert (result.fed, result.dlq) == (ENTRIES, 20)


def test_a_three_broker_cluster_loses_nothing_when_a_broker_stops_and_returns(
    three_nodes: KafkaCluster, workers: WorkerPool, tmp_path: Path
) -> None:
    """Replication factor 3, min.insync.replicas 2: the broker coordinating the worker's
    group stops mid-run, entries keep arriving on the two left, then it comes back."""
    rng = random.Random(SEED + 3)
    settings = settings_for(three_nodes, tmp_path, replication_factor=3)
    data = dataset(tmp_path / "data", entries=ENTRIES, malformed=20, seed=16)
    backlog, during, after = split(data.entries, 12_000, 4_000)
    fed = Feed(settings.max_message_bytes).add(lines(data.entries))
    threshold = rng.randint(1_000, 4_000)

    async def scenario() -> tuple[float, int, Outputs]:
        await prepare(settings, data)
        await feed(settings, backlog)
        async with GroupProgress(settings) as progress:
            worker = workers.start(settings)
            await worker.ready()
            await progress.wait(
                lambda s: s.total >= threshold, FIRST_COMMIT_S, "the worker to be at work"
            )
            victim = await coordinator(settings)
            fault_at = time.monotonic()
            await asyncio.to_thread(three_nodes.stop_node, victim)
            down_at = time.monotonic()
            # acks=all still succeeds with two of three replicas in sync.
            await feed(settings, during)
            await asyncio.to_thread(three_nodes.start_node, victim)
            await feed(settings, after)
            await progress.all_committed(fed.records, CATCH_UP_S, worker.check_alive)
            worker.check_alive()
            return progress.recovery_after(fault_at, down_at), victim, await read_to_end(settings)

    recovery, victim, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "d",
        "3 brokers (RF 3, min ISR 2): the group coordinator's broker stopped mid-run, "
        "entries fed while it is down, then restarted",
        result,
        recovery_s=[recovery],
        recovery="broker stop -> every partition with pending entries committed again",
        brokers=3,
        notes=f"stopped node {victim} (the group's coordinator); the same worker throughout",
    )
    result.check()
    assert (result.fed, result.dlq) == (ENTRIES, 20)

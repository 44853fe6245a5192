"""The KRaft harness (tools/kraft.py) on real Apache Kafka.

A single node takes a topic, an acks=all produce and a consume back, and keeps its data
across a stop and a start; a 3-node cluster has 3 brokers, replication factor 3 and
min.insync.replicas=2, and accepts acks=all writes with one node down.

One cluster at a time: every cluster is function-scoped and stopped before the next starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tools.kraft import KafkaCluster, broker_ids

pytestmark = [
    pytest.mark.apache_kafka,
    # A 3-node start is ~10 s here and the harness gives up after 90 s; 300 s covers a start,
    # a restart and a teardown on a loaded CI machine, and still ends a hung test.
    pytest.mark.timeout(300),
]

# How long a client waits for records that were acknowledged already: a consume on a fresh
# cluster first creates __consumer_offsets and joins a group (about a second here); 30 s
# leaves room for a slow machine without hiding a real loss behind a long wait.
READ_TIMEOUT_S = 30.0


@pytest.fixture
def single(tmp_path: Path) -> Iterator[KafkaCluster]:
    with KafkaCluster(brokers=1, work_dir=tmp_path / "kafka") as cluster:
        yield cluster


def topic_name() -> str:
    return f"harness-{uuid.uuid4().hex[:8]}"


async def create_topic(
    bootstrap: str, name: str, partitions: int, replication: int
) -> dict[str, Any]:
    """Create a topic and return its description (partitions with replicas and ISR).

    The node that answers the description may not have the new topic in its metadata yet
    (a three-node cluster once answered UNKNOWN_TOPIC_OR_PARTITION right after the
    creation): it is asked again for up to 30 s, until it knows the topic and every
    replica of every partition is in sync."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, replication)])
        deadline = time.monotonic() + 30
        while True:
            (described,) = await admin.describe_topics([name])
            topic: dict[str, Any] = described
            settled = topic["error_code"] == 0 and all(
                len(p["isr"]) == replication for p in topic["partitions"]
            )
            if settled or time.monotonic() > deadline:
                return topic
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def topic_config(bootstrap: str, name: str) -> dict[str, str]:
    """The effective configuration of a topic (its own settings and the brokers' defaults)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await admin.close()
    (resource,) = responses[0].to_object()["resources"]
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Send in order to partition 0, each acknowledged by all in-sync replicas."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, partition=0)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int, group: str | None) -> list[bytes]:
    """Read ``count`` records from the start of ``topic``: through a consumer group if
    ``group`` is given, else by assigning partition 0 (no group join)."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "auto_offset_reset": "earliest"}
    if group is None:
        consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
    else:
        consumer = AIOKafkaConsumer(topic, **options, group_id=group)
    await consumer.start()
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.seek_to_beginning()
        values: list[bytes] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values += [r.value for records in batches.values() for r in records if r.value]
        return values
    finally:
        await consumer.stop()


def test_single_node_creates_a_topic_takes_acks_all_and_serves_it_back(
    single: KafkaCluster,
) -> None:
    topic = topic_name()
    values = [f"entry-{i}".encode() for i in range(10)]

    async def scenario() -> list[bytes]:
        described = await create_topic(single.bootstrap, topic, partitions=1, replication=1)
        assert described["error_code"] == 0
        await produce(single.bootstrap, topic, values)
        return await consume(single.bootstrap, topic, len(values), group=f"{topic}-group")

    assert asyncio.run(scenario()) == values
    assert (single.node_dir(0) / "server.log").stat().st_size > 0  # the log4j2 config works


def test_single_node_keeps_its_data_across_stop_and_start(single: KafkaCluster) -> None:
    topic = topic_name()
    values = [f"before-restart-{i}".encode() for i in range(20)]
    bootstrap = single.bootstrap
    asyncio.run(create_topic(bootstrap, topic, partitions=1, replication=1))
    asyncio.run(produce(bootstrap, topic, values))

    single.stop_node(0)
    assert single.pids == [None]
    single.start_node(0)

    assert single.bootstrap == bootstrap  # same port, so clients need no new address
    assert asyncio.run(consume(bootstrap, topic, len(values), group=None)) == values


def test_three_nodes_replicate_and_survive_one_node_down(tmp_path: Path) -> None:
    with KafkaCluster(brokers=3, work_dir=tmp_path / "kafka") as cluster:
        bootstrap = cluster.bootstrap
        ports = [int(address.rsplit(":", 1)[1]) for address in bootstrap.split(",")]
        assert len(ports) == 3
        # start() returned, so every node already lists all three as alive brokers.
        assert [broker_ids(port) for port in ports] == [{0, 1, 2}] * 3

        topic = topic_name()
        described = asyncio.run(create_topic(bootstrap, topic, partitions=3, replication=3))
        assert described["error_code"] == 0
        for partition in described["partitions"]:
            assert sorted(partition["replicas"]) == [0, 1, 2]
            assert sorted(partition["isr"]) == [0, 1, 2]
        # Not set on the topic: it comes from the brokers' min.insync.replicas.
        assert asyncio.run(topic_config(bootstrap, topic))["min.insync.replicas"] == "2"

        # With one node cleanly stopped, 2 replicas remain in sync: acks=all still succeeds.
        cluster.stop_node(2)
        asyncio.run(produce(bootstrap, topic, [b"with-two-nodes"]))
        cluster.start_node(2)
        # A crash (SIGKILL) and a restart: the node rejoins under its id, with its data.
        cluster.kill_node(1)
        assert cluster.pids[1] is None
        cluster.start_node(1)
        # start_node() returned, so the restarted node lists all three again.
        assert broker_ids(ports[1]) == {0, 1, 2}
        assert asyncio.run(consume(bootstrap, topic, 1, group=None)) == [b"with-two-nodes"]

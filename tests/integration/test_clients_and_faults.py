"""An independent Kafka client on both ends, and a worker killed in the middle of a feed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from entry_screening.demo import metrics_text, start_worker
from entry_screening.synthetic import FeedSpec, write_dataset
from streams import loaders
from streams.embedded import free_port
from tests.factories import entry_data, ior_data
from tests.integration.harness import (
    BrokerUnderTest,
    Outputs,
    prepare,
    produce,
    read_outputs,
    running_worker,
)


def test_confluent_kafka_feeds_the_pipeline_and_reads_its_decisions(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """librdkafka (confluent-kafka) on both ends: a filer's system and a downstream queue."""
    settings = broker.settings(tmp_path)
    numbers = ["ABC-1234567-6", "ABC-0000001-0", "ABC-0000002-8"]

    async def scenario() -> None:
        await prepare(settings)
        await produce(
            settings, settings.topics.ior_registry, [(b"12-3456789AB", orjson.dumps(ior_data()))]
        )
        async with running_worker(settings):
            producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
            for number in numbers:
                entry = entry_data(entry_number=number, export_declaration_ref=None)
                producer.produce(
                    settings.topics.entries_filed,
                    key=entry["ior_number"],
                    value=orjson.dumps(entry),
                )
            assert producer.flush(30) == 0
            await read_outputs(settings, lambda o: o.accounted >= 3)

    asyncio.run(scenario())
    # Read the holds with confluent-kafka too, by assignment (no group join needed).
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    topic = settings.topics.entries_holds
    consumer.assign([TopicPartition(topic, p, 0) for p in range(settings.partitions)])
    seen: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + 30  # librdkafka fetches within a second or two here
    while len(seen) < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            decision = orjson.loads(message.value())
            assert message.key().decode() == decision["entry_number"]
            seen[decision["entry_number"]] = decision
    consumer.close()
    assert sorted(seen) == sorted(numbers)
    assert all([h["rule_id"] for h in d["hits"]] == ["EXPORT-DOCS"] for d in seen.values())


def test_a_worker_killed_mid_feed_and_restarted_loses_nothing(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """SIGKILL the worker process (the real `entry-screening worker`, Faust and all) while
    it screens a feed, start it again: every entry ends with a decision or a dead letter,
    and the only duplicates are repeated decision ids."""
    settings = broker.settings(tmp_path, metrics_port=free_port(), batch_size=500)
    entries = 20_000
    data = write_dataset(FeedSpec(iors=500, entries=entries, malformed=10, seed=9), tmp_path / "d")

    def decided() -> float:
        text = metrics_text(settings.metrics_port) or ""
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("screening_decisions_total{")
        )

    async def scenario() -> Outputs:
        await prepare(settings)
        await loaders.load_dataset(settings, data)
        await loaders.feed(settings, data.entries)
        kills = 0
        worker = start_worker(settings, tmp_path)
        try:
            # Kill it twice at different points of the backlog, then let a third finish.
            for threshold in (2_000, 1_000):
                deadline = time.monotonic() + 120
                while decided() < threshold and time.monotonic() < deadline:
                    assert worker.poll() is None, "the worker died on its own"
                    await asyncio.sleep(0.05)
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = start_worker(settings, tmp_path)
            outputs = await read_outputs(settings, lambda o: o.accounted >= entries, seconds=240)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
        assert kills == 2
        return outputs

    outputs = asyncio.run(scenario())
    ids = [d["decision_id"] for d in outputs.decisions]
    by_entry: dict[str, set[str]] = {}
    for decision in outputs.decisions:
        by_entry.setdefault(decision["entry_number"], set()).add(decision["decision_id"])
    dead = {
        (dict(r.headers)["source.partition"], dict(r.headers)["source.offset"])
        for r in outputs.dead_letters
    }
    assert (len(by_entry), len(dead)) == (entries - 10, 10)
    # A replayed entry repeats its decision id; no entry ever got two different decisions.
    assert all(len(found) == 1 for found in by_entry.values())
    assert len(set(ids)) == len(by_entry)

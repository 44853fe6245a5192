"""Helpers for tests against a real broker: per-test topics, a worker, reading the outputs.

Each test gets its own topic names (a random prefix) and consumer group, so tests never
see each other's records even on one shared broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition

from streams.admin import create_topics
from streams.app import WorkerRuntime
from streams.kafka import producer_options
from streams.replay import partitions_of, reader
from streams.settings import Settings, TopicNames


@dataclass(frozen=True)
class BrokerUnderTest:
    bootstrap: str
    kind: str  # "embedded" (Tansu) or "apache"

    @property
    def session_timeout_ms(self) -> int:
        # Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default);
        # the embedded broker answers a join after about half the session timeout.
        return 6_000 if self.kind == "apache" else 2_000

    def settings(self, tmp_path: Path, **overrides: Any) -> Settings:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        values: dict[str, Any] = {
            "kafka_bootstrap": self.bootstrap,
            "topics": TopicNames().with_prefix(prefix),
            "consumer_group": f"{prefix}screening",
            "metrics_port": -1,
            "session_timeout_ms": self.session_timeout_ms,
            "producer_idempotence": self.kind == "apache",
            "partitions": 3,
            "data_dir": tmp_path / "worker",
            "batch_linger_ms": 20,
            "rule_pack_path": None,
        }
        values.update(overrides)
        return Settings(**values)


async def prepare(settings: Settings) -> None:
    await create_topics(settings)


async def produce(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]
) -> int:
    producer = AIOKafkaProducer(**producer_options(settings, role="test"))
    await producer.start()
    try:
        sends = [await producer.send(topic, key=k, value=v) for k, v in records]
        await asyncio.gather(*sends)
        return len(sends)
    finally:
        await producer.stop()


def entry_record(entry: dict[str, Any]) -> tuple[bytes, bytes]:
    return entry["ior_number"].encode(), orjson.dumps(entry)


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[WorkerRuntime]:
    """The worker's runtime (mirrors, screening loop) in this process, without Faust."""
    runtime = WorkerRuntime(settings)
    await runtime.start()
    task = asyncio.create_task(runtime.run())
    try:
        yield runtime
    finally:
        await runtime.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@dataclass
class Outputs:
    decisions: list[dict[str, Any]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    dead_letters: list[Any] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        return len({d["decision_id"] for d in self.decisions}) + len(self.dead_letters)

    def by_entry(self) -> dict[str, dict[str, Any]]:
        """The decision at filing of each entry (lifecycle decisions come after it)."""
        return {d["entry_number"]: d for d in self.decisions if d["trigger"] == "filed"}

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """The audit events of one type read so far (with ``with_audit=True``)."""
        return [e for e in self.audit if e["event_type"] == event_type]

    def history(self, entry_number: str) -> list[dict[str, Any]]:
        """Every distinct decision for one entry, in the order they were made."""
        unique = {d["decision_id"]: d for d in self.decisions if d["entry_number"] == entry_number}
        return sorted(unique.values(), key=lambda d: d["screened_at"])


async def read_outputs(
    settings: Settings,
    until: Callable[[Outputs], bool],
    *,
    seconds: float = 60.0,
    with_audit: bool = False,
) -> Outputs:
    """Read the decision, DLQ (and audit) topics from the start until ``until`` holds.

    The audit topic is fetched independently of the decision topics, so a test that
    asserts on audit events must wait for them in ``until`` too.

    The bound is generous for a 2-core machine running broker, worker and test at once;
    a healthy run finishes in a fraction of it."""
    topics = settings.topics
    names = [
        topics.entries_released,
        topics.entries_holds,
        topics.entries_seizure_review,
        topics.entries_filed_dlq,
    ] + ([topics.screening_audit] if with_audit else [])
    consumer = reader(settings, "test-read")
    await consumer.start()
    outputs = Outputs()
    try:
        tps = [TopicPartition(t, p) for t in names for p in await partitions_of(consumer, t)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for record in records:
                    if tp.topic == topics.entries_filed_dlq:
                        outputs.dead_letters.append(record)
                    elif tp.topic == topics.screening_audit:
                        outputs.audit.append(orjson.loads(record.value))
                    else:
                        outputs.decisions.append(orjson.loads(record.value))
                        outputs.topics.append(tp.topic)
            if until(outputs):
                return outputs
        raise AssertionError(
            f"outputs incomplete after {seconds} s: {len(outputs.decisions)} decisions, "
            f"{len(outputs.dead_letters)} dead letters"
        )
    finally:
        await consumer.stop()


async def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.05)

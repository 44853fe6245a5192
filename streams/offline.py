"""A screening loop without a broker, for the loop benchmark and the tests that compare
the loop's paths: the registry and reference data mirrored in memory from a generated
dataset (as a worker holds them), a producer that acknowledges every record batch at once
(and can keep them), and consumer batches made from entry lines.

The loop is the worker's own :class:`~streams.pipeline.ScreeningLoop`; only Kafka is
left out, so what is measured or compared is its ``process`` and its batch report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from entry_screening.synthetic import Dataset
from screening.rulepack import load_rule_pack
from streams.metrics import PipelineMetrics
from streams.mirror import Change, MemoryStore, TopicMirror
from streams.pipeline import ScreeningLoop
from streams.settings import Settings
from streams.state import ReferenceView, RegistryView, RulePackSource


@dataclass
class Message:
    """The fields of a consumer record the loop reads."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


@dataclass
class AcknowledgingProducer:
    """Takes record batches and acknowledges them at once; with ``keep``, keeps each as
    (topic, partition, the batch's bytes)."""

    keep: bool = False
    sent: list[tuple[str, int, bytes]] = field(default_factory=list)

    async def send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[None]:
        built = batch._build()  # what the real producer does with it
        if self.keep:
            self.sent.append((topic, partition, bytes(built)))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    def create_batch(self) -> Any:  # the record batches when the native core is absent
        from aiokafka.producer.message_accumulator import BatchBuilder

        return BatchBuilder(1_048_576, 0, is_transactional=False)


def mirrored(settings: Settings, topic: str, records: list[Change]) -> TopicMirror:
    mirror = TopicMirror(settings, topic, MemoryStore())
    mirror.store.apply(records, {})
    mirror.version = 1
    mirror.recovered.set()
    return mirror


def offline_loop(
    settings: Settings, data: Dataset, producer: AcknowledgingProducer | None = None
) -> ScreeningLoop:
    """A worker's screening loop over ``data``'s registry and reference data, every topic
    with ``settings.partitions`` partitions, its timers off (they are not per entry)."""

    def rows(path: Path, key: str) -> list[Change]:
        lines = path.read_bytes().splitlines()
        return [(str(orjson.loads(line)[key]).encode(), line) for line in lines]

    t = settings.topics
    registry = mirrored(settings, t.ior_registry, rows(data.registry, "ior_number"))
    brokers = mirrored(settings, t.reference_brokers, rows(data.brokers, "filer_code"))
    watchlist = mirrored(
        settings,
        t.reference_watchlist,
        [(b"%d" % n, line) for n, line in enumerate(data.watchlist.read_bytes().splitlines())],
    )
    loop = ScreeningLoop(
        settings,
        RegistryView(registry),
        ReferenceView(brokers, watchlist),
        RulePackSource(load_rule_pack(), None),
        PipelineMetrics(),
    )
    loop._producer = producer or AcknowledgingProducer()
    loop._partitions = dict.fromkeys(t.model_dump().values(), settings.partitions)
    loop._next_deadline_check = loop._next_last_entry_flush = float("inf")
    return loop


def consumer_batches(
    settings: Settings, values: list[bytes | None], timestamp: int = 1_700_000_000_000
) -> list[dict[TopicPartition, list[Message]]]:
    """The values as a consumer hands them over: message *n* on partition
    ``n % partitions``, batches of ``settings.batch_size`` messages, an equal share from
    each partition."""
    partitions = settings.partitions
    by_partition: dict[int, list[Message]] = {}
    for offset, value in enumerate(values):
        by_partition.setdefault(offset % partitions, []).append(
            Message(offset // partitions, None, value, timestamp)
        )
    share = max(settings.batch_size // partitions, 1)
    batches = []
    topic = settings.topics.entries_filed
    for start in range(0, len(values) // partitions + 1, share):
        batch = {
            TopicPartition(topic, partition): messages[start : start + share]
            for partition, messages in by_partition.items()
            if messages[start : start + share]
        }
        if batch:
            batches.append(batch)
    return batches

"""Keyed state for the partitions a worker owns, kept on a compacted changelog topic.

The screening loop owns partitions of ``entries.filed`` (and, co-partitioned, of
``holds.resolutions``). What it must remember about them — the open holds, the per-IOR
activity windows — is written to a compacted topic, to the same partition number, in the
same produce flush as the decisions, so it is as durable as they are. When the group gives
a worker a partition, it reads that partition of the changelog back before it screens
anything from it; when the partition is taken away, its state is dropped. This is what a
Faust table does for an agent, done here for the batched aiokafka consumer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, KeysView
from typing import Any, Generic, TypeVar

from aiokafka import TopicPartition

from streams.output import OutputBatch
from streams.replay import read_to_end, reader
from streams.settings import Settings

log = logging.getLogger(__name__)

V = TypeVar("V")


class ChangelogTable(Generic[V]):
    def __init__(
        self,
        settings: Settings,
        topic: str,
        decode: Callable[[bytes], V],
        encode: Callable[[V], bytes],
    ) -> None:
        self.settings = settings
        self.topic = topic
        self._decode = decode
        self._encode = encode
        self.partitions: dict[int, dict[str, V]] = {}
        self._where: dict[str, int] = {}

    # --- reading ----------------------------------------------------------------------

    def get(self, key: str) -> V | None:
        partition = self._where.get(key)
        return None if partition is None else self.partitions[partition].get(key)

    def partition_of(self, key: str) -> int | None:
        return self._where.get(key)

    def items(self) -> Iterator[tuple[int, str, V]]:
        for partition, values in list(self.partitions.items()):
            for key, value in list(values.items()):
                yield partition, key, value

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def keys(self) -> KeysView[str]:
        """The keys held (a live view: ``in`` on it costs no Python call, for hot loops)."""
        return self._where.keys()

    # --- writing (through the batch's producer, acknowledged with the decisions) --------

    def put(self, out: OutputBatch, partition: int, key: str, value: V) -> None:
        values = self.partitions.get(partition)
        if values is None:
            values = self.partitions[partition] = {}
        values[key] = value
        self._where[key] = partition
        out.add(self.topic, partition, key.encode(), self._encode(value))

    def containers(self) -> tuple[dict[int, dict[str, V]], dict[str, int]]:
        """The values by partition and each key's partition, for a writer that adds values
        whose changelog records it writes itself (the native screening run)."""
        return self.partitions, self._where

    def delete(self, out: OutputBatch, key: str) -> V | None:
        partition = self._where.pop(key, None)
        if partition is None:
            return None
        value = self.partitions[partition].pop(key, None)
        out.add(self.topic, partition, key.encode(), None)
        return value

    # --- ownership ----------------------------------------------------------------------

    async def restore(self, partitions: list[int]) -> float:
        """Read these partitions of the changelog from the start to their current end."""
        started = time.monotonic()
        wanted = [p for p in partitions if p not in self.partitions]
        if not wanted:
            return 0.0
        consumer = reader(self.settings, f"restore-{self.topic}")
        await consumer.start()
        restored: dict[int, dict[str, V]] = {p: {} for p in wanted}

        def apply(tp: TopicPartition, records: list[Any]) -> None:
            values = restored[tp.partition]
            for record in records:
                key = record.key.decode()
                if record.value is None:
                    values.pop(key, None)
                else:
                    values[key] = self._decode(record.value)

        try:
            tps = [TopicPartition(self.topic, p) for p in wanted]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            await read_to_end(consumer, tps, apply)
        finally:
            await consumer.stop()
        for partition, values in restored.items():
            self.partitions[partition] = values
            for key in values:
                self._where[key] = partition
        seconds = time.monotonic() - started
        log.info(
            "changelog restored",
            extra={
                "topic": self.topic,
                "partitions": wanted,
                "records": sum(len(v) for v in restored.values()),
                "seconds": round(seconds, 3),
            },
        )
        return seconds

    def drop(self, partitions: list[int]) -> None:
        for partition in partitions:
            for key in self.partitions.pop(partition, {}):
                self._where.pop(key, None)

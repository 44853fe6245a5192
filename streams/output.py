"""Producing a consumer batch's outputs as few record batches, and waiting for every ack.

aiokafka's ``send`` costs a future and a lookup per record; ``create_batch``/``send_batch``
append records to a buffer per topic partition and send each as one request. The pipeline
decides the partition itself (the partition its entry came from), so no key is hashed.

With the native core installed the batches are its ``RecordBatchWriter`` (the same bytes
as aiokafka's builder, written at half the cost per record: the loop writes nearly three
records per entry); aiokafka sends either kind through ``send_batch`` alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.native_decoder import native_module
from streams.kafka import MAX_BATCH_BYTES

Headers = list[tuple[str, bytes]]


def batch_factory(producer: AIOKafkaProducer) -> Callable[[], Any]:
    """What makes an empty record batch for ``producer``: the native writer when it is
    installed (the producers made by ``streams.kafka`` neither compress nor use
    transactions, the two things it does not do), aiokafka's builder otherwise."""
    native = native_module()
    if native is None:
        make: Callable[[], Any] = producer.create_batch
        return make
    return lambda: native.RecordBatchWriter(MAX_BATCH_BYTES)


class OutputBatch:
    """A consumer batch's outputs as record batches per topic partition.

    With the native core installed (and no ``new_batch`` given) the records go straight
    into its ``OutputBatches``: ``add`` is then the native method itself, with no Python
    frame in between (the loop adds nearly three records per entry)."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        partitions: dict[str, int],
        new_batch: Callable[[], Any] | None = None,
    ) -> None:
        self._producer = producer
        self._partitions = partitions  # topic -> partition count
        self._open: dict[tuple[str, int], Any] = {}
        self._full: list[tuple[tuple[str, int], Any]] = []
        self._records = 0
        native = native_module() if new_batch is None else None
        self._native = None if native is None else native.OutputBatches(partitions, MAX_BATCH_BYTES)
        if self._native is not None:
            self.add = self._native.add  # type: ignore[method-assign]
        self._new_batch = new_batch or batch_factory(producer)

    @property
    def sink(self) -> Any:
        """What to add records to: the native batches when there are (the screening core
        writes into them directly), else this."""
        return self if self._native is None else self._native

    @property
    def records(self) -> int:
        return self._records if self._native is None else int(self._native.records)

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> None:
        slot = (topic, partition % self._partitions[topic])
        batch = self._open.get(slot)
        if batch is None:
            batch = self._open[slot] = self._new_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=headers or []) is None:
            # Full: keep it for sending and start another for the same partition.
            self._full.append((slot, batch))
            batch = self._open[slot] = self._new_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers or []) is None:
                raise ValueError(f"a record of {len(value or b'')} bytes exceeds the batch size")
        self._records += 1

    def batches(self) -> list[tuple[str, int, Any]]:
        """Every record batch, as (topic, partition, batch), a partition's in the order
        they were filled; the output batch is empty afterwards."""
        if self._native is not None:
            taken: list[tuple[str, int, Any]] = self._native.take()
            return taken
        ready = [*self._full, *self._open.items()]
        self._full, self._open = [], {}
        return [(topic, partition, batch) for (topic, partition), batch in ready]

    async def submit(self) -> asyncio.Future[Any]:
        """Hand every batch to the producer; the returned future resolves once the broker
        has acknowledged every record (and fails if any record failed).

        Batches are handed over one after another, a partition's in the order they were
        filled, so records of one partition keep their order."""
        acknowledgements = []
        for topic, partition, batch in self.batches():
            batch.close()
            acknowledgements.append(
                await self._producer.send_batch(batch, topic, partition=partition)
            )
        acknowledged: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*acknowledgements))
        return acknowledged

    async def flush(self) -> None:
        """Send everything and wait for the acknowledgements."""
        await (await self.submit())

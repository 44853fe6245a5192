"""The screening loop (``ScreeningLoop.run``) screens the next consumer batch while up to
``batches_in_flight`` earlier batches wait for the broker's acknowledgements, and commits
a batch's offsets only once its outputs are acknowledged, oldest first."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from entry_screening.synthetic import FeedSpec, write_dataset
from streams.offline import consumer_batches, offline_loop
from streams.settings import Settings


class HeldProducer:
    """Takes record batches; their acknowledgements wait until the test releases them."""

    def __init__(self) -> None:
        self.acks: list[asyncio.Future[None]] = []

    async def send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[None]:
        batch._build()
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    def create_batch(self) -> Any:  # the record batches when the native core is absent
        from aiokafka.producer.message_accumulator import BatchBuilder

        return BatchBuilder(1_048_576, 0, is_transactional=False)

    def release(self) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_result(None)


class ScriptedConsumer:
    """Hands over the given batches one per ``getmany``, then nothing; records commits."""

    def __init__(self, batches: list[dict[TopicPartition, Any]]) -> None:
        self.batches = list(batches)
        self.fetched = 0
        self.commits: list[dict[TopicPartition, int]] = []

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> Any:
        await asyncio.sleep(0.001)
        if not self.batches:
            return {}
        self.fetched += 1
        return self.batches.pop(0)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def assignment(self) -> set[TopicPartition]:
        return set()


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


@pytest.mark.parametrize("in_flight", [1, 2, 3])
def test_batches_wait_for_acknowledgement_in_flight_and_commit_in_order(
    tmp_path: Path, in_flight: int
) -> None:
    settings = Settings(partitions=2, batch_size=40, batches_in_flight=in_flight)
    data = write_dataset(FeedSpec(iors=10, entries=240, seed=3), tmp_path)
    feed = consumer_batches(settings, data.entries.read_bytes().splitlines())
    assert len(feed) == 6
    asyncio.run(asyncio.wait_for(_run(settings, data, feed, in_flight), 30))


async def _run(settings: Settings, data: Any, feed: list[Any], in_flight: int) -> None:
    producer = HeldProducer()
    loop = offline_loop(settings, data)
    loop._producer = producer  # type: ignore[assignment]
    consumer = ScriptedConsumer(feed)
    loop._consumer = consumer  # type: ignore[assignment]
    running = asyncio.ensure_future(loop.run())
    try:
        # With nothing acknowledged, the loop screens `in_flight` batches and the next
        # one, then waits for the oldest: nothing is committed meanwhile.
        await until(lambda: consumer.fetched == in_flight + 1)
        await asyncio.sleep(0.1)
        assert consumer.fetched == in_flight + 1
        assert consumer.commits == []
        # Acknowledged, everything completes and is committed oldest first.
        while consumer.batches or len(consumer.commits) < len(feed):
            producer.release()
            await asyncio.sleep(0.01)
        expected = [{tp: m[-1].offset + 1 for tp, m in batch.items()} for batch in feed]
        assert consumer.commits == expected
    finally:
        loop._stopping = True
        producer.release()
        await asyncio.wait_for(running, 5)

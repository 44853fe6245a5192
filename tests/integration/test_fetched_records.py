"""Records fetched from a real broker through the native reader (streams/fetch_records.py):
plain batches are read natively, a compressed one by aiokafka, and the values, keys,
headers and offsets come out the same either way."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer

from streams import fetch_records
from streams.admin import create_topics
from streams.kafka import client_options
from tests.integration.harness import BrokerUnderTest


def test_plain_batches_are_read_natively_and_compressed_ones_by_aiokafka(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    assert fetch_records.install()
    settings = broker.settings(tmp_path)
    topic = settings.topics.entries_filed

    def send(first: int, compression: str) -> None:
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "compression.type": compression}
        )
        for n in range(first, first + 5):
            producer.produce(
                topic,
                key=f"k{n}",
                value=f'{{"n":{n}}}' * 20,
                partition=0,
                headers=[("trace", f"t{n}".encode())],
            )
        assert producer.flush(30) == 0

    async def take(consumer: AIOKafkaConsumer, count: int) -> list[Any]:
        got: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(got) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{len(got)} of {count}"
            batches = await consumer.getmany(timeout_ms=500)
            got.extend(r for records in batches.values() for r in records)
        return got

    reader_name = {"FetchedRecord": "native", "ConsumerRecord": "aiokafka"}

    async def scenario() -> None:
        await create_topics(settings)
        consumer = AIOKafkaConsumer(
            **client_options(settings, role="test"), enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.seek_to_beginning()
            for first, compression, reader in (
                (0, "none", "FetchedRecord"),
                (5, "gzip", "ConsumerRecord"),
                (10, "none", "FetchedRecord"),
            ):
                send(first, compression)
                reads = dict(fetch_records.READS)
                records = await take(consumer, 5)
                # the fetch was counted for the metric under its reader
                assert fetch_records.READS[reader_name[reader]] > reads[reader_name[reader]]
                assert {type(r).__name__ for r in records} == {reader}
                assert [r.offset for r in records] == list(range(first, first + 5))
                assert [(r.key, r.value, r.headers) for r in records] == [
                    (f"k{n}".encode(), f'{{"n":{n}}}'.encode() * 20, (("trace", f"t{n}".encode()),))
                    for n in range(first, first + 5)
                ]
        finally:
            await consumer.stop()

    asyncio.run(scenario())

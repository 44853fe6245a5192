"""Records fetched from a real broker through the native reader (streams/fetch_records.py):
plain batches are read natively, a compressed one by aiokafka, and the values, keys,
headers and offsets come out the same either way; a worker uses the reader its setting
names."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer import fetcher
from confluent_kafka import Producer

from schemas.formats import entry_number_from_parts
from streams import fetch_records
from streams.admin import create_topics
from streams.kafka import client_options
from tests.factories import US_IOR, entry_data, ior_data
from tests.integration.harness import (
    BrokerUnderTest,
    Outputs,
    entry_record,
    prepare,
    produce,
    read_outputs,
    running_worker,
)


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


def test_the_worker_reads_with_the_reader_its_setting_names(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """SCREENING_NATIVE_FETCH: on, the worker's fetches are read natively; off, by
    aiokafka, even in a process where the native reader was installed before; the
    decisions are the same either way."""
    assert fetch_records.install()  # as an earlier worker or test in this process left it
    entries = [entry_data(entry_number=entry_number_from_parts("NFR", n)) for n in range(1, 6)]

    def screen(native_fetch: bool, folder: str) -> tuple[bool, int, list[tuple[Any, ...]]]:
        settings = broker.settings(tmp_path / folder).model_copy(
            update={"native_fetch": native_fetch}
        )

        async def scenario() -> tuple[bool, int, Outputs]:
            await prepare(settings)
            await produce(
                settings,
                settings.topics.ior_registry,
                [(US_IOR.encode(), orjson.dumps(ior_data()))],
            )
            await produce(settings, settings.topics.entries_filed, map(entry_record, entries))
            before = fetch_records.READS["native"]
            async with running_worker(settings):
                # aiokafka's own class while the worker runs, or the native reader's factory
                own_class = fetcher.PartitionRecords.__module__ == fetcher.__name__
                outputs = await read_outputs(settings, lambda o: o.accounted >= len(entries))
            return own_class, fetch_records.READS["native"] - before, outputs

        own_class, native_reads, outputs = asyncio.run(scenario())
        decided = sorted(
            (d["entry_number"], d["decision_id"], d["outcome"], d["rule_pack_version"])
            for d in outputs.decisions
        )
        return own_class, native_reads, decided

    off_own_class, off_native_reads, decided_off = screen(False, "off")
    assert off_own_class and off_native_reads == 0
    on_own_class, on_native_reads, decided_on = screen(True, "on")
    assert not on_own_class and on_native_reads > 0
    assert decided_on == decided_off and len(decided_on) == len(entries)

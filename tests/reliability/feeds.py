"""Inputs of the fault tests: generated datasets, the reference data a worker needs, and
feeds that say how far they have got."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from entry_screening.synthetic import Dataset, FeedSpec, write_dataset
from streams import loaders
from streams.admin import create_topics
from streams.kafka import producer_options
from streams.settings import Settings
from tests.reliability.reconcile import lines

IORS = 2_000


def dataset(folder: Path, *, entries: int, seed: int, malformed: int = 0) -> Dataset:
    """A generated registry, reference data and entry feed (the same for the same seed)."""
    return write_dataset(
        FeedSpec(iors=IORS, entries=entries, malformed=malformed, seed=seed), folder
    )


async def prepare(settings: Settings, data: Dataset) -> None:
    """The topics, and the registry and reference data loaded onto them."""
    await create_topics(settings)
    for result in (await loaders.load_dataset(settings, data)).values():
        assert not result.skipped, result.skipped[:3]


def split(path: Path, *sizes: int) -> list[Path]:
    """The file's records as consecutive parts of these sizes (the last takes the rest)."""
    records = list(lines(path))
    parts, start = [], 0
    for index, size in enumerate([*sizes, len(records)]):
        part = path.with_name(f"{path.stem}.part{index + 1}.jsonl")
        chunk = records[start : start + size]
        part.write_bytes(b"".join(line + b"\n" for line in chunk))
        parts.append(part)
        start += len(chunk)
    return parts


class Fed(loaders.Progress):
    """A feed's progress hook that only counts, so a test can act at a given point of it."""

    def __init__(self) -> None:
        super().__init__(None)
        self.done = 0

    def update(self, done: int, *, final: bool = False) -> None:
        self.done = done


async def feed(
    settings: Settings, path: Path, *, rate: float | None = None, fed: Fed | None = None
) -> int:
    """Feed a file as a filer's system would (``loaders.feed``); the records sent."""
    result = await loaders.feed(settings, path, rate=rate, progress=fed)
    assert not result.unkeyed or result.unkeyed == len(result.skipped)
    return result.produced


async def produce_at(
    settings: Settings, records: list[tuple[bytes | None, bytes | None]], rate: float
) -> None:
    """Produce raw records (null values included, which a file cannot carry) to
    entries.filed at about ``rate`` a second, keyed as given, each one acknowledged."""
    producer = AIOKafkaProducer(**producer_options(settings, role="test-feed"))
    await producer.start()
    try:
        started = time.monotonic()
        chunk = max(int(rate / 20), 1)  # twenty sends a second
        for index in range(0, len(records), chunk):
            sends = [
                await producer.send(settings.topics.entries_filed, key=key, value=value)
                for key, value in records[index : index + chunk]
            ]
            await asyncio.gather(*sends)
            ahead = (index + chunk) / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
    finally:
        await producer.stop()

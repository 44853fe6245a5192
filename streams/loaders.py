"""Getting data onto the topics: the registry and reference loaders, and the entry feed.

Loaders validate every line against the contract and produce only valid records, keyed by
their id, so the compacted topics hold nothing a worker cannot read; a bad line is reported
with its number and skipped. The feed is an adapter for filers' systems: it passes lines
through to ``entries.filed`` keyed by IOR number and leaves validation to the pipeline,
whose dead-letter topic is the record of what was refused (``strict`` validates first).
Keys are hashed with the Java client's partitioner, so an IOR's entries and its registry
record land on the same partition number whoever produced them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from schemas import codec
from schemas.entry import EntryFiling
from schemas.formats import canonical_entry_number
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from streams.kafka import producer_options
from streams.settings import Settings

_IN_FLIGHT = 5_000  # sends awaited together: enough to fill batches, bounded memory


@dataclass
class LoadResult:
    produced: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    unkeyed: int = 0
    seconds: float = 0.0


KINDS: dict[str, tuple[type[BaseModel], Callable[[Any], str]]] = {
    "registry": (IorRecord, lambda r: r.ior_number),
    "brokers": (BrokerRecord, lambda r: r.filer_code),
    "watchlist": (WatchlistRecord, lambda r: r.id),
}


def topic_for(settings: Settings, kind: str) -> str:
    return {
        "registry": settings.topics.ior_registry,
        "brokers": settings.topics.reference_brokers,
        "watchlist": settings.topics.reference_watchlist,
        "entries": settings.topics.entries_filed,
    }[kind]


def _numbered_lines(stream: IO[bytes]) -> Iterable[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if line:
            yield number, line


class _Sender:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.pending: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.pending.append(await self.producer.send(topic, key=key, value=value))
        if len(self.pending) >= _IN_FLIGHT:
            await self.drain()

    async def drain(self) -> None:
        await asyncio.gather(*self.pending)
        self.pending.clear()


async def load(settings: Settings, kind: str, path: Path) -> LoadResult:
    """Validate ``path`` (JSON Lines) and produce its records keyed by their ids."""
    model, _ = KINDS[kind]
    skipped: list[tuple[int, str]] = []

    def valid_records() -> Iterable[BaseModel]:
        with path.open("rb") as stream:
            for number, line in _numbered_lines(stream):
                try:
                    yield codec.decode(model, line)
                except codec.InputRejected as rejected:
                    skipped.append((number, rejected.message))

    result = await load_records(settings, kind, valid_records())
    result.skipped = skipped
    return result


async def load_records(settings: Settings, kind: str, records: Iterable[BaseModel]) -> LoadResult:
    """Produce validated records keyed by their ids, re-encoded: canonical forms on the
    topic (a list in its public format is read into records first)."""
    _, key_of = KINDS[kind]
    topic = topic_for(settings, kind)
    result = LoadResult()
    started = time.perf_counter()
    producer = AIOKafkaProducer(**producer_options(settings, role=f"load-{kind}"))
    await producer.start()
    try:
        sender = _Sender(producer)
        for record in records:
            await sender.send(topic, key_of(record).encode(), codec.encode(record))
            result.produced += 1
        await sender.drain()
    finally:
        await producer.stop()
    result.seconds = time.perf_counter() - started
    return result


async def load_dataset(settings: Settings, dataset: Any) -> dict[str, LoadResult]:
    """Registry, brokers and entity list of a generated dataset (demo, tests, benchmarks)."""
    return {
        kind: await load(settings, kind, getattr(dataset, kind))
        for kind in ("registry", "brokers", "watchlist")
    }


async def delete_registry_records(settings: Settings, ior_numbers: list[str]) -> int:
    """Tombstones: the IORs disappear from the registry once workers apply them."""
    producer = AIOKafkaProducer(**producer_options(settings, role="load-registry"))
    await producer.start()
    try:
        for ior in ior_numbers:
            await producer.send_and_wait(settings.topics.ior_registry, key=ior.encode(), value=None)
    finally:
        await producer.stop()
    return len(ior_numbers)


class Progress:
    """A progress line on a terminal, a line every few seconds otherwise."""

    def __init__(self, total: int | None, out: IO[str] | None = None) -> None:
        self.total = total
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self._next = 0.0

    def update(self, done: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now < self._next:
            return
        self._next = now + (0.2 if self.tty else 5.0)
        rate = done / max(now - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        text = f"fed {done}{of} entries ({rate:,.0f}/s)"
        if self.tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()


async def feed(
    settings: Settings,
    path: Path,
    *,
    rate: float | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    sent_at: dict[str, float] | None = None,
) -> LoadResult:
    """Produce every entry line of ``path`` to entries.filed, keyed by its IOR number.

    ``rate`` caps entries per second. ``strict`` validates each line first and skips (and
    reports) invalid ones; otherwise they go through and the pipeline dead-letters them,
    and only lines that cannot even be keyed are reported. ``sent_at``, when given, gets
    the send time of each entry number (the demo measures latency with it).
    """
    topic = settings.topics.entries_filed
    result = LoadResult()
    started = time.perf_counter()
    producer = AIOKafkaProducer(**producer_options(settings, role="feed"))
    await producer.start()
    try:
        sender = _Sender(producer)
        done = 0
        with path.open("rb") as stream:
            for number, line in _numbered_lines(stream):
                key: bytes | None = None
                if strict:
                    try:
                        entry = codec.decode(
                            EntryFiling, line, max_bytes=settings.max_message_bytes
                        )
                    except codec.InputRejected as rejected:
                        result.skipped.append((number, rejected.message))
                        continue
                    key = entry.ior_number.encode()
                    entry_number: str | None = entry.entry_number
                else:
                    key, entry_number = _key_of(line)
                    if key is None:
                        result.unkeyed += 1
                        result.skipped.append(
                            (
                                number,
                                "no IOR number to key it by; "
                                "sent unkeyed for the pipeline to refuse",
                            )
                        )
                if sent_at is not None and entry_number is not None:
                    # Keyed by the dashed form that decisions carry.
                    with contextlib.suppress(ValueError):
                        entry_number = canonical_entry_number(entry_number)
                    sent_at[entry_number] = time.time()
                await sender.send(topic, key, line)
                done += 1
                result.produced += 1
                if rate:
                    ahead = done / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        await sender.drain()
                        await asyncio.sleep(ahead)
                if progress is not None:
                    progress.update(done)
        await sender.drain()
        if progress is not None:
            progress.update(done, final=True)
    finally:
        await producer.stop()
    result.seconds = time.perf_counter() - started
    return result


def _key_of(line: bytes) -> tuple[bytes | None, str | None]:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    ior = data.get("ior_number")
    number = data.get("entry_number")
    key = ior.encode() if isinstance(ior, str) and ior else None
    return key, number if isinstance(number, str) else None

"""The native batch run (``NativeScreener.screen_run``, native/src/run.rs) does the
screening loop's common case: screen, write the decision and audit event, count, note the
IOR's activity and newest filing, open the hold. It must leave exactly what the loop's
per-entry path leaves for the same consumer batches: the same records on every topic
partition in the same order (decisions, audit events, hold records, activity, dead
letters), the same open holds and activity table, the same counts for the metrics.

The feed mixes what makes the run hand a message back to the loop: amended refilings of
entries (right after the original, so in the same run, and in later batches), replays,
messages without a value, malformed and over-long ones.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.record.default_records import DefaultRecordBatch

import streams.pipeline as pipeline
from entry_screening.synthetic import FeedSpec, watchlist, write_dataset
from screening.engine import Screener
from screening.native import NATIVE
from streams.offline import AcknowledgingProducer, Message, offline_loop
from streams.settings import Settings

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the native core is not installed")

PARTITIONS = 3
SCREENED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class FixedClock(datetime):
    """The loop's clock, stopped: both paths must write the same screening times."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return SCREENED_AT


def amended(line: bytes) -> bytes:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line  # a malformed one stays as it is
    if not isinstance(entry, dict) or not isinstance(entry.get("entered_value_usd"), float):
        return line
    entry["revision"] = entry.get("revision", 0) + 1
    entry["entered_value_usd"] = round(entry["entered_value_usd"] * 0.9, 2)
    return orjson.dumps(entry)


def partition_feeds(lines: list[bytes], max_bytes: int) -> list[list[bytes | None]]:
    """Each partition's values, with refilings, replays and bad messages mixed in."""
    rng = random.Random(11)
    feeds: list[list[bytes | None]] = []
    for partition in range(PARTITIONS):
        own = lines[partition::PARTITIONS]
        feed: list[bytes | None] = []
        later: list[bytes | None] = []
        for line in own:
            feed.append(line)
            draw = rng.random()
            if draw < 0.04:
                feed.append(amended(line))  # in the same run as the original
            elif draw < 0.08:
                later.append(amended(line))  # a batch or more later
            elif draw < 0.10:
                later.append(line)  # replayed as it was
        feed[len(feed) // 3 : len(feed) // 3] = [None, line.rstrip() + b" " * max_bytes]
        feeds.append(feed + later)
    return feeds


def batches(settings: Settings, feeds: list[list[bytes | None]]) -> list[dict[TopicPartition, Any]]:
    share = settings.batch_size // PARTITIONS
    topic = settings.topics.entries_filed
    out = []
    for start in range(0, max(len(f) for f in feeds), share):
        batch = {
            TopicPartition(topic, p): [
                Message(start + n, None, value, 1_700_000_000_000 + start + n)
                for n, value in enumerate(feed[start : start + share])
            ]
            for p, feed in enumerate(feeds)
            if feed[start : start + share]
        }
        out.append(batch)
    return out


def records(sent: list[tuple[str, int, bytes]]) -> dict[tuple[str, int], list[Any]]:
    by_partition: dict[tuple[str, int], list[Any]] = {}
    for topic, partition, built in sent:
        for record in DefaultRecordBatch(built):
            by_partition.setdefault((topic, partition), []).append(
                (record.key, record.value, list(record.headers))
            )
    return by_partition


def run_loop(
    settings: Settings,
    data: Any,
    feed: list[dict[TopicPartition, Any]],
    registry_changes: dict[int, list[tuple[bytes, bytes]]] | None = None,
) -> dict[str, Any]:
    """Every batch of ``feed`` through a fresh loop (``registry_changes``: batch index ->
    registry records applied before that batch)."""
    producer = AcknowledgingProducer(keep=True)
    loop = offline_loop(settings, data, producer)
    reports: list[tuple[Any, ...]] = []
    report = loop._report

    def keep_report(records: Any, emitter: Any, spent: Any, arrivals: Any, *rest: Any) -> None:
        reports.append(
            (
                dict(emitter.outcomes),
                dict(emitter.rule_hits),
                dict(emitter.events),
                dict(emitter.dead),
                Counter(emitter.profiles),
                list(arrivals),
            )
        )
        report(records, emitter, spent, arrivals, *rest)

    loop._report = keep_report  # type: ignore[method-assign]

    async def go() -> None:
        for index, batch in enumerate(feed):
            changes = (registry_changes or {}).get(index)
            if changes:
                loop.registry.mirror.apply(changes, {})
            pending = await loop.process(None, batch)  # type: ignore[arg-type]
            await pending.acks
            pending.report()

    asyncio.run(go())
    holds = loop.holds
    return {
        "records": records(producer.sent),
        "holds": {p: dict(values) for p, values in holds.table.partitions.items()},
        "by_ior": holds.by_ior,
        "activity": loop.activity_table.containers(),
        "last_entries": loop._last_entries,
        "reports": reports,
    }


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any, list[Any]]:
    settings = Settings(partitions=PARTITIONS, batch_size=600, max_message_bytes=4_096)
    data = write_dataset(
        FeedSpec(iors=150, entries=3_000, malformed=40, seed=23),
        Path(tmp_path_factory.mktemp("batch-run")),
    )
    lines = [
        with_listed_shipper(line, n)
        for n, line in enumerate(data.entries.read_bytes().splitlines())
    ]
    return settings, data, batches(settings, partition_feeds(lines, settings.max_message_bytes))


def with_listed_shipper(line: bytes, number: int) -> bytes:
    """One entry in 40 shipped by a company on an entity list (the generated feed lists
    manufacturers only): the run must look those names up, and skip the unlisted ones."""
    if number % 40 != 7:
        return line
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(entry, dict):
        return line
    listed = watchlist()[number % len(watchlist())]
    entry["shipper_name"], entry["shipper_country"] = listed["name"], listed["country"]
    return orjson.dumps(entry)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every batch run the loop starts (``Screener.batch_run``), kept for the test."""
    kept: list[Any] = []
    batch_run = Screener.batch_run

    def keeping_run(self: Screener, **state: Any) -> Any:
        kept.append(batch_run(self, **state))
        return kept[-1]

    monkeypatch.setattr(Screener, "batch_run", keeping_run)
    return kept


@pytest.mark.parametrize("decode_ahead", [True, False], ids=["decoded-ahead", "decoded-inline"])
def test_the_native_run_leaves_what_the_per_entry_loop_leaves(
    feed: tuple[Settings, Any, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    runs: list[Any],
    decode_ahead: bool,
) -> None:
    settings, data, consumer_batches = feed
    settings = settings.model_copy(update={"decode_ahead": decode_ahead})
    monkeypatch.setattr(pipeline, "datetime", FixedClock)

    handed_back = 0
    screen_run = Screener.screen_run

    def counting_run(self: Screener, run: Any, messages: Any, start: int, *rest: Any) -> int:
        nonlocal handed_back
        index: int = screen_run(self, run, messages, start, *rest)
        handed_back += index < rest[0]
        return index

    monkeypatch.setattr(Screener, "screen_run", counting_run)
    native = run_loop(settings, data, consumer_batches)
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "datetime", FixedClock)
    monkeypatch.setattr(Screener, "batch_run", lambda self, **state: None)
    per_entry = run_loop(settings, data, consumer_batches)

    # The feed exercised both paths: most messages in the run, the odd ones handed back.
    messages = sum(len(m) for batch in consumer_batches for m in batch.values())
    assert 100 < handed_back < messages // 5
    # ... with the messages decoded on the second thread, or by the loop's own.
    decoded_ahead = sum(run.decoded_ahead for run in runs)
    if decode_ahead:
        assert messages * 0.8 < decoded_ahead < messages
    else:
        assert decoded_ahead == 0
    holds_topic = settings.topics.holds_state
    assert sum(len(v) for v in native["holds"].values()) > 500
    assert any(topic == holds_topic for topic, _ in native["records"])
    assert sum(sum(r[3].values()) for r in native["reports"]) >= 40  # dead letters

    # The holds the run opens are left out of the collector's walks (they cannot be in a
    # reference cycle); the ones the per-entry path opens are ordinary objects.
    native_holds = [h for values in native["holds"].values() for h in values.values()]
    untracked = [h for h in native_holds if not gc.is_tracked(h)]
    assert len(untracked) > 500
    assert all(not gc.is_tracked(h.rule_ids) for h in untracked)
    assert all(gc.is_tracked(h) for values in per_entry["holds"].values() for h in values.values())

    assert native["records"].keys() == per_entry["records"].keys()
    for topic_partition, written in per_entry["records"].items():
        assert native["records"][topic_partition] == written, topic_partition
    assert native["holds"] == per_entry["holds"]
    assert native["by_ior"] == per_entry["by_ior"]
    assert native["activity"] == per_entry["activity"]
    assert sum(len(v) for v in native["activity"][0].values()) > 100
    # Shippers on an entity list were matched (the rest were skipped as unlisted).
    decided = [
        v
        for (topic, _), written in native["records"].items()
        if topic.startswith("entries.")
        for _, v, _ in written
    ]
    assert sum(b"WATCHLIST-MATCH" in d and b"Shipper" in d for d in decided if d) > 10
    assert native["last_entries"] == per_entry["last_entries"]
    assert native["reports"] == per_entry["reports"]


def test_a_changed_registry_record_reaches_the_holds_the_run_opens_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The native core keeps each IOR's registry digest with its profile; a new record
    (a new object from the registry) must give the holds opened after it the new digest."""
    settings = Settings(partitions=PARTITIONS, batch_size=300, max_message_bytes=4_096)
    data = write_dataset(FeedSpec(iors=20, entries=1_200, seed=5), tmp_path)
    lines = data.entries.read_bytes().splitlines()
    feed = batches(settings, [lines[p::PARTITIONS] for p in range(PARTITIONS)])
    assert len(feed) >= 3
    # Every IOR's record changes before the second batch: a field the digest covers.
    changed = []
    for line in data.registry.read_bytes().splitlines():
        record = orjson.loads(line)
        record["expected_entries_per_year"] = record.get("expected_entries_per_year", 0) + 7
        changed.append((record["ior_number"].encode(), orjson.dumps(record)))
    monkeypatch.setattr(pipeline, "datetime", FixedClock)
    native = run_loop(settings, data, feed, {1: changed})
    monkeypatch.setattr(Screener, "batch_run", lambda self, **state: None)
    per_entry = run_loop(settings, data, feed, {1: changed})

    def digests(result: dict[str, Any]) -> dict[str, set[str]]:
        """Hold records' digests by IOR, in the order they were written."""
        seen: dict[str, set[str]] = {}
        for (topic, _), written in result["records"].items():
            if topic == settings.topics.holds_state:
                for _, value, _ in written:
                    hold = orjson.loads(value) if value else None
                    if hold and hold.get("registry_digest"):
                        seen.setdefault(hold["ior_number"], set()).add(hold["registry_digest"])
        return seen

    # Holds were opened for the same IORs before and after the change, with both digests.
    assert sum(len(found) == 2 for found in digests(native).values()) >= 5
    assert digests(native) == digests(per_entry)
    for topic_partition, written in per_entry["records"].items():
        assert native["records"][topic_partition] == written, topic_partition
    assert native["holds"] == per_entry["holds"]


def test_a_run_restarted_or_dropped_while_its_thread_decodes_does_not_hang_or_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs: list[Any]
) -> None:
    """A run given a new batch, or dropped, while its decode-ahead thread is mid-way
    stops and joins that thread (it reads the messages' bytes, which the run holds until
    then): neither may hang, and screening goes on as before. (That the bytes outlive the
    thread is argued in native/src/ahead.rs; a test could only see it under a memory
    checker.)"""
    settings = Settings(partitions=PARTITIONS, batch_size=300, max_message_bytes=4_096)
    data = write_dataset(FeedSpec(iors=20, entries=600, seed=7), tmp_path)
    lines = data.entries.read_bytes().splitlines()
    monkeypatch.setattr(pipeline, "datetime", FixedClock)
    run_loop(settings, data, batches(settings, [lines[p::PARTITIONS] for p in range(PARTITIONS)]))
    screened = sum(run.decoded_ahead for run in runs)
    assert screened > 0
    run = runs[0]

    def big_batch() -> list[list[Message]]:
        # Fresh bytes objects, so nothing but the run keeps them alive once dropped here.
        return [
            [Message(n, None, bytes(line), 0) for n, line in enumerate(lines * 20)]
            for _ in range(PARTITIONS)
        ]

    screener = offline_loop(settings, data).screener
    for _ in range(20):
        screener.decode_ahead(run, big_batch())  # the previous batch's thread is mid-way
    del run, runs[:]
    gc.collect()
    # A run used after all that still screens what it decoded ahead, and counts it.
    again = run_loop(
        settings, data, batches(settings, [lines[p::PARTITIONS] for p in range(PARTITIONS)])
    )
    assert sum(run.decoded_ahead for run in runs) == screened
    assert sum(len(v) for v in again["records"].values()) > 600

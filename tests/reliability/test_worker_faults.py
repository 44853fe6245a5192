"""Faults of the workers and of their input, on an Apache Kafka broker that stays up:
workers killed mid-feed, a whole feed replayed, a worker's partitions taken over by
another, poison pills, and the registry rebuilt by a new worker. Each test ends in the
reconciliation of everything fed against everything produced
(tests/reliability/reconcile.py) and records its figures.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from entry_screening import batch
from streams.kafka import client_options
from streams.settings import Settings
from tests.integration.harness import BrokerUnderTest
from tests.reliability.feeds import IORS, Fed, dataset, feed, prepare, produce_at
from tests.reliability.progress import GroupProgress
from tests.reliability.reconcile import (
    Feed,
    Outputs,
    lines,
    read_to_end,
    reconcile,
    record_result,
)
from tests.reliability.workers import WorkerPool

pytestmark = [
    pytest.mark.reliability,
    # Each test here takes 30-60 s on a 2-core machine; 300 s absorbs a slow CI machine and
    # still ends a hung test long before CI's own limit.
    pytest.mark.timeout(300),
]

SEED = 20_260_603
ENTRIES = 20_000
# Slow enough that the feed outlasts three kills and restarts (about 25 s at this rate),
# fast enough that a restarted worker always finds a backlog to work through.
FEED_RATE = 800.0
# A (re)started worker commits its first batch within about 10 s here: Faust's start, the
# registry mirror, and up to a session timeout (6 s) while the group waits for a dead
# member. 90 s leaves room for a loaded CI machine.
FIRST_COMMIT_S = 90.0
# Once the feed has ended, what is left takes a worker seconds (it screens thousands of
# entries a second); 120 s covers a restart on a slow machine, and nothing that has stalled
# for good gets through it.
CATCH_UP_S = 120.0


async def until(
    condition: Callable[[], Awaitable[bool]], seconds: float, what: str, interval: float = 0.25
) -> float:
    """Poll an async condition; the seconds it took."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


def test_a_worker_killed_at_random_moments_of_a_feed_loses_nothing(
    stable_kafka: BrokerUnderTest, workers: WorkerPool, tmp_path: Path
) -> None:
    """SIGKILL the real `entry-screening worker` three times while 20k entries stream in,
    each time at a random point of its own stretch of the feed, and start a new one."""
    rng = random.Random(SEED)
    settings = stable_kafka.settings(tmp_path, batch_size=1_000)
    data = dataset(tmp_path / "data", entries=ENTRIES, malformed=20, seed=11)
    fed = Feed(settings.max_message_bytes).add(lines(data.entries))
    thresholds = [
        int(rng.uniform(low, high) * ENTRIES)
        for low, high in ((0.1, 0.25), (0.4, 0.55), (0.7, 0.85))
    ]

    async def scenario() -> tuple[list[float], list[int], int, Outputs]:
        await prepare(settings, data)
        async with GroupProgress(settings) as progress:
            worker = workers.start(settings)
            await worker.ready()
            counter = Fed()
            feeding = asyncio.create_task(feed(settings, data.entries, rate=FEED_RATE, fed=counter))
            recoveries: list[float] = []
            backlogs: list[int] = []
            during_feed, fault_at = 0, 0.0
            for kill, threshold in enumerate(thresholds):
                if kill:
                    # The new worker has taken up every partition the killed one left.
                    recoveries.append(
                        await progress.recovery(fault_at, FIRST_COMMIT_S, worker.check_alive)
                    )
                else:
                    await until(worker.deciding, FIRST_COMMIT_S, f"{worker.name} to decide")
                # Bound: the feed reaches any point of itself within ENTRIES / FEED_RATE.
                deadline = time.monotonic() + 2 * ENTRIES / FEED_RATE
                while counter.done < threshold and time.monotonic() < deadline:
                    worker.check_alive()
                    await asyncio.sleep(0.02)
                worker.kill()
                fault_at = time.monotonic()
                during_feed += not feeding.done()
                backlogs.append(progress.backlog())
                worker = workers.start(settings)
            recoveries.append(await progress.recovery(fault_at, FIRST_COMMIT_S, worker.check_alive))
            assert await feeding == ENTRIES
            await progress.all_committed(fed.records, CATCH_UP_S, worker.check_alive)
        return recoveries, backlogs, during_feed, await read_to_end(settings)

    recoveries, backlogs, during_feed, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "a1",
        "worker process SIGKILLed 3 times at random moments of the feed, restarted each time",
        result,
        recovery_s=recoveries,
        recovery="SIGKILL -> every partition with pending entries committed again "
        "(a new worker is started at once)",
        notes=f"{during_feed} of 3 kills while the feed ran at {FEED_RATE:.0f} entries/s; "
        f"entries fed but not yet committed at the kills: {' / '.join(map(str, backlogs))}",
    )
    result.check()
    assert (result.fed, result.dlq) == (ENTRIES, 20)


def test_a_replay_of_the_whole_feed_repeats_every_decision_exactly(
    stable_kafka: BrokerUnderTest, workers: WorkerPool, tmp_path: Path
) -> None:
    """The largest replay at-least-once delivery allows: a worker decides a feed and
    stops, the group's offsets go back to the start (as after a crash that lost its
    commits, or an operator's reset), and a new worker screens every entry again. Each
    repeated decision must be the first one again (same id, outcome, rules and reasons):
    a replay must not, for example, count an entry twice in the per-IOR activity that
    the STRAW-IOR rule reads. A random kill replays a batch at most (the test above);
    this replays everything, so such a difference cannot slip through by luck."""
    entries = 6_000
    settings = stable_kafka.settings(tmp_path)
    data = dataset(tmp_path / "data", entries=entries, malformed=6, seed=11)
    fed = Feed(settings.max_message_bytes).add(lines(data.entries))

    async def scenario() -> tuple[float, Outputs]:
        await prepare(settings, data)
        await feed(settings, data.entries)
        async with GroupProgress(settings) as progress:
            first = workers.start(settings)
            await first.ready()
            await progress.all_committed(fed.records, CATCH_UP_S, first.check_alive)
            first.stop()
            await rewind(settings)
            rewound_at = time.monotonic()
            second = workers.start(settings)
            await second.ready()
            done = await progress.all_committed(
                fed.records, CATCH_UP_S, second.check_alive, since=rewound_at
            )
            return done.at - rewound_at, await read_to_end(settings)

    replayed_in, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "a2",
        "group offsets reset to the start after a feed: every entry screened again",
        result,
        recovery_s=[replayed_in],
        recovery="the reset -> every entry screened again and committed (a new worker's "
        "start included)",
        notes="every repeated decision must equal the first: id, outcome, rules, reasons",
    )
    result.check()
    assert result.duplicates == entries, "not every entry was screened again"
    assert result.reworded == 0, (
        f"{result.reworded} replayed decisions kept their id, outcome and rules but not "
        "their reasons"
    )


async def rewind(settings: Settings) -> None:
    """Commit offset 0 on every partition of entries.filed for the (idle) worker group."""
    consumer = AIOKafkaConsumer(
        **client_options(settings, role="test-rewind"),
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topics.entries_filed, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.commit(dict.fromkeys(tps, 0))
    finally:
        await consumer.stop()


def test_a_worker_killed_in_a_group_of_two_hands_its_partitions_to_the_other(
    stable_kafka: BrokerUnderTest, workers: WorkerPool, tmp_path: Path
) -> None:
    """Two workers share the group's six partitions; one is SIGKILLed mid-feed and not
    restarted: the other takes all six over and finishes the feed."""
    rng = random.Random(SEED + 1)
    partitions = 6
    settings = stable_kafka.settings(tmp_path, partitions=partitions, batch_size=1_000)
    data = dataset(tmp_path / "data", entries=ENTRIES, malformed=20, seed=12)
    fed = Feed(settings.max_message_bytes).add(lines(data.entries))
    threshold = int(rng.uniform(0.3, 0.6) * ENTRIES)

    async def scenario() -> tuple[float, float, float, Outputs]:
        await prepare(settings, data)
        async with GroupProgress(settings) as progress:
            pair = [workers.start(settings), workers.start(settings)]
            for worker in pair:
                await worker.ready()

            async def shared() -> bool:
                owned = [await w.metric("screening_assigned_partitions") for w in pair]
                return sum(owned) == partitions and all(owned)

            # Bound: the second join rebalances the group within a session timeout (6 s).
            await until(shared, 60, "both workers to own partitions")
            counter = Fed()
            feeding = asyncio.create_task(feed(settings, data.entries, rate=FEED_RATE, fed=counter))

            async def both_deciding() -> bool:
                return counter.done >= threshold and all([await w.deciding() for w in pair])

            # Bound: the feed reaches its kill point within ENTRIES / FEED_RATE seconds.
            await until(both_deciding, 2 * ENTRIES / FEED_RATE, "both workers to decide")
            victim = rng.choice(pair)
            survivor = pair[1 - pair.index(victim)]
            victim.kill()
            fault_at = time.monotonic()
            share = counter.done / ENTRIES

            async def took_over() -> bool:
                survivor.check_alive()
                return await survivor.metric("screening_assigned_partitions") == partitions

            # Bound: the coordinator drops the dead member after the session timeout (6 s)
            # and the survivor rejoins at once; 60 s allows for a slow machine.
            takeover = await until(took_over, 60, "the survivor to own every partition")
            assert await feeding == ENTRIES
            await progress.all_committed(fed.records, CATCH_UP_S, survivor.check_alive)
            assert await survivor.metric("screening_assigned_partitions") == partitions
            return (
                progress.recovery_after(fault_at),
                takeover,
                share,
                await read_to_end(settings),
            )

    recovery, takeover, share, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "b",
        "one of two workers in a group SIGKILLed mid-feed, not restarted",
        result,
        recovery_s=[recovery],
        recovery="SIGKILL -> the survivor committed again on every partition with pending "
        "entries, the dead worker's included",
        notes=f"killed at {share:.0%} of the feed; the survivor owned all {partitions} "
        f"partitions after {takeover:.1f} s",
    )
    result.check()
    assert (result.fed, result.dlq) == (ENTRIES, 20)


def poison_pills(
    rng: random.Random, good: list[bytes], registry: list[bytes], max_bytes: int
) -> list[tuple[bytes | None, bytes | None]]:
    """Records the pipeline must refuse: entries too big, and messages that are not entry
    filings at all (another topic's record, other JSON types, binary, empty, null)."""
    pills: list[tuple[bytes | None, bytes | None]] = []
    for line in rng.sample(good, 20):
        entry = orjson.loads(line)
        line_one = entry["lines"][0]
        entry["lines"] = [{**line_one, "line_number": n} for n in range(1, 200)]
        oversized = orjson.dumps(entry)
        assert len(oversized) > max_bytes
        pills.append((entry["ior_number"].encode(), oversized))
    wrong = [
        *rng.sample(registry, 5),  # an IOR record: valid JSON, another contract
        b'[{"entry_number": "ABC-1234567-6"}]',
        b'"ABC-1234567-6"',
        b"42",
        b"\x00\xff\xfe\x80 not text",
        b"",
        None,
    ]
    for value in wrong:
        for _ in range(3):
            pills.append((orjson.loads(rng.choice(registry))["ior_number"].encode(), value))
    return pills


def test_poison_pills_among_good_entries_never_stall_a_partition(
    stable_kafka: BrokerUnderTest, workers: WorkerPool, tmp_path: Path
) -> None:
    """About 1% bad records (malformed, oversized, wrong schema) spread among 10k good
    ones: every good one is decided, every bad one dead-lettered with its reasons, and
    no partition stops moving while it has records waiting."""
    rng = random.Random(SEED + 4)
    entries, malformed = 10_000, 50
    settings = stable_kafka.settings(tmp_path, max_message_bytes=20_000, batch_size=1_000)
    data = dataset(tmp_path / "data", entries=entries, malformed=malformed, seed=13)
    good = list(lines(data.entries))
    pills = poison_pills(rng, good, list(lines(data.registry)), settings.max_message_bytes)

    records: list[tuple[bytes | None, bytes | None]] = []
    for line in good:
        try:
            key = orjson.loads(line)["ior_number"].encode()
        except (orjson.JSONDecodeError, KeyError, TypeError):
            key = None  # as the feed sends a line it cannot key
        records.append((key, line))
    for pill in pills:
        records.insert(rng.randrange(len(records) + 1), pill)
    fed = Feed(settings.max_message_bytes).add(value for _, value in records)
    # Fed over about 10 s, so the pills reach a worker that is at work.
    rate = 1_000.0
    # Bound: the worker keeps pace with this feed; once it ends, what is left takes well
    # under a second. A partition stuck on a pill (or a pill retried with backoff) would
    # not catch up within 30 s.
    bound_s = 30.0

    async def scenario() -> tuple[float, float, Outputs]:
        await prepare(settings, data)
        async with GroupProgress(settings) as progress:
            worker = workers.start(settings)
            await worker.ready()
            await produce_at(settings, records, rate)
            fed_at = time.monotonic()
            done = await progress.all_committed(fed.records, bound_s, worker.check_alive)
            return done.at - fed_at, progress.longest_stall(), await read_to_end(settings)

    took, stall, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    classes = Counter(dict(r.headers)["error.class"].decode() for r in outputs.dead_letters)
    record_result(
        "e",
        f"poison pills: {result.fed - result.decided} malformed, oversized and wrong-schema "
        f"records among {result.decided} good ones",
        result,
        recovery_s=[stall],
        recovery="the longest time any partition had records waiting and committed nothing "
        "(sampled every 0.25 s)",
        notes=f"fed at {rate:.0f} records/s; all committed {max(took, 0):.1f} s after the last; "
        f"DLQ by class: {dict(sorted(classes.items()))}",
    )
    result.check()
    assert result.dlq == malformed + len(pills)
    assert classes["oversized"] >= 20
    # Bound: a batch takes milliseconds and the stall is sampled every 0.25 s.
    assert stall < 5.0, f"a partition stood still for {stall:.1f} s with records waiting"


def test_a_new_worker_rebuilds_the_registry_from_its_topic_and_decides_the_same(
    stable_kafka: BrokerUnderTest, workers: WorkerPool, tmp_path: Path
) -> None:
    """A feed is decided; the worker stops; a new one (fresh folder, nothing on disk)
    mirrors ior.registry from the compacted topic and screens revised copies of 2,000
    entries. Every decision, before and after, is the batch `screen` command's decision
    for the same file (the feed, then the revisions)."""
    rng = random.Random(SEED + 5)
    settings = stable_kafka.settings(tmp_path)
    data = dataset(tmp_path / "data", entries=6_000, seed=14)
    first = list(lines(data.entries))
    revised = []
    for index in sorted(rng.sample(range(len(first)), 2_000)):
        entry = orjson.loads(first[index])
        entry["revision"] = entry.get("revision", 0) + 1
        revised.append(orjson.dumps(entry))
    revisions = tmp_path / "data" / "revisions.jsonl"
    revisions.write_bytes(b"".join(line + b"\n" for line in revised))
    fed = Feed(settings.max_message_bytes).add([*first, *revised])

    async def scenario() -> tuple[float, float, Outputs]:
        await prepare(settings, data)
        async with GroupProgress(settings) as progress:
            before = workers.start(settings)
            await before.ready()
            await feed(settings, data.entries)
            await progress.all_committed(len(first), CATCH_UP_S, before.check_alive)
            before.stop()
            assert before.process.returncode == 0, before.tail()

            after = workers.start(settings)
            rebuilt = await after.ready()

            async def mirrored() -> bool:
                return await after.metric("screening_registry_iors") == IORS

            # Bound: the gauge is refreshed every 5 s.
            await until(mirrored, 30, f"the new worker to mirror {IORS} IORs")
            await feed(settings, revisions)
            await progress.all_committed(fed.records, CATCH_UP_S, after.check_alive)
            decided_after = await after.metric("screening_decisions_total")
            return rebuilt, decided_after, await read_to_end(settings)

    rebuilt, decided_after, outputs = asyncio.run(scenario())
    result = reconcile(fed, outputs)
    record_result(
        "f",
        "worker stopped; a new one rebuilds the registry from ior.registry and screens "
        "revised entries",
        result,
        recovery_s=[rebuilt],
        recovery="the new worker's start -> registry mirrored and partitions owned",
        notes=f"{IORS} IORs mirrored; {len(revised)} revisions decided as the batch "
        "`screen` command decides the same file",
    )
    result.check()
    assert decided_after == len(revised)
    assert_same_as_batch(outputs, data.registry, data.brokers, data.watchlist, [*first, *revised])


def assert_same_as_batch(
    outputs: Outputs, registry: Path, brokers: Path, watchlist: Path, records: list[bytes]
) -> None:
    screened = batch.screen_files(
        registry, brokers, watchlist, io.BytesIO(b"".join(line + b"\n" for line in records))
    )
    expected = {(d["entry_number"], d["entry_revision"]): d for d in screened if "decision_id" in d}
    streamed = {
        (d["entry_number"], d["entry_revision"]): d
        for d in outputs.decisions
        if d["trigger"] == "filed"
    }
    assert streamed.keys() == expected.keys()
    differ = [
        key
        for key, decision in streamed.items()
        if (decision["decision_id"], decision["outcome"], decision["hits"])
        != (expected[key]["decision_id"], expected[key]["outcome"], expected[key]["hits"])
    ]
    assert not differ, f"{len(differ)} decisions differ from the batch command's, e.g. {differ[:3]}"


def test_reconciliation_counts_a_repeat_as_a_duplicate_and_a_gap_as_a_loss() -> None:
    """The helper itself: a replayed decision is a duplicate, a missing one a loss, two
    different decisions for one revision a conflict."""
    from tests.factories import entry_data

    good = [orjson.dumps(entry_data(entry_number=n)) for n in ("ABC-1234567-6", "ABC-0000001-0")]
    fed = Feed(1_000_000).add([*good, b"{broken"])
    decision = {
        "decision_id": "d1",
        "entry_number": "ABC-1234567-6",
        "entry_revision": 0,
        "trigger": "filed",
        "outcome": "release",
        "hits": [],
    }
    replayed = reconcile(fed, Outputs(decisions=[decision, decision]))
    assert (replayed.fed, replayed.decided, replayed.lost, replayed.duplicates) == (3, 1, 2, 1)
    assert (replayed.conflicts, replayed.unexpected) == (0, 0)
    contradicted = Outputs(decisions=[decision, {**decision, "outcome": "hold"}])
    assert reconcile(fed, contradicted).conflicts == 1

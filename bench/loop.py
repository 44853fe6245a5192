"""The screening loop's own cost per entry, without Kafka: what a change to the worker's
Python side (the loop, the hold book, the emitter, the metrics) buys, in seconds rather
than the minutes of ``make bench`` and with less noise.

The generated entries are screened batch by batch by a real ``ScreeningLoop`` (its
``process`` and its batch report, exactly as the worker runs them) whose producer takes the
record batches and acknowledges them at once; the registry and reference data are mirrored
in memory as a worker holds them. Each round starts a fresh loop (cold caches, as a worker
after a restart); the heap is settled as the worker settles it. As the baseline, the same
script times ``Screener.screen_message`` alone over the same entries with warm caches (what
``make bench-core`` measures); the last line is
``loop_us_per_entry=N core_us_per_entry=N ratio=R`` (medians of rounds).

    python bench/loop.py [--entries 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from entry_screening.runtime import settle_heap
from entry_screening.synthetic import FeedSpec, write_dataset
from screening.activity import new_activity_counter
from screening.rulepack import load_rule_pack
from streams.metrics import PipelineMetrics
from streams.mirror import MemoryStore, TopicMirror
from streams.pipeline import ScreeningLoop
from streams.settings import Settings
from streams.state import ReferenceView, RegistryView, RulePackSource

PARTITIONS = 6


@dataclass
class Message:
    """The fields of a consumer record the loop reads."""

    offset: int
    key: bytes | None
    value: bytes
    timestamp: int


class AcknowledgingProducer:
    """Takes record batches and acknowledges them at once."""

    async def send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[None]:
        batch._build()  # what the real producer does with it
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged


def mirrored(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> TopicMirror:
    mirror = TopicMirror(settings, topic, MemoryStore())
    mirror.store.apply(records, {})
    mirror.version = 1
    mirror.recovered.set()
    return mirror


def new_loop(settings: Settings, data: Any) -> ScreeningLoop:
    def rows(path: Path, key: str) -> list[tuple[bytes, bytes]]:
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
    loop._producer = AcknowledgingProducer()  # type: ignore[assignment]
    loop._partitions = dict.fromkeys(t.model_dump().values(), PARTITIONS)
    # Timers and registry write-backs are not per entry: kept out of the figure.
    loop._next_deadline_check = loop._next_last_entry_flush = float("inf")
    return loop


def consumer_batches(
    settings: Settings, lines: list[bytes]
) -> list[dict[TopicPartition, list[Message]]]:
    """The entries as a consumer hands them over: batches of ``batch_size`` records, an
    equal share from each partition."""
    by_partition: dict[int, list[Message]] = {}
    for offset, line in enumerate(lines):
        by_partition.setdefault(offset % PARTITIONS, []).append(
            Message(offset // PARTITIONS, None, line, 1_700_000_000_000)
        )
    share = settings.batch_size // PARTITIONS
    batches = []
    for start in range(0, len(lines) // PARTITIONS + 1, share):
        batch = {
            TopicPartition(settings.topics.entries_filed, partition): records[start : start + share]
            for partition, records in by_partition.items()
            if records[start : start + share]
        }
        if batch:
            batches.append(batch)
    return batches


async def loop_round(
    settings: Settings, data: Any, lines: list[bytes]
) -> tuple[float, dict[str, float]]:
    loop = new_loop(settings, data)
    batches = consumer_batches(settings, lines)
    settle_heap()
    stages: dict[str, float] = {}
    began = time.perf_counter()
    for batch in batches:
        pending = await loop.process(None, batch)  # type: ignore[arg-type]
        await pending.acks
        pending.report()
        for stage, seconds in pending.spent.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    elapsed = time.perf_counter() - began
    return elapsed / len(lines) * 1e6, {k: v / len(lines) * 1e6 for k, v in stages.items()}


def core_round(settings: Settings, data: Any, lines: list[bytes]) -> float:
    """``screen_message`` alone, caches warmed by a first pass (the core bench's figure)."""
    loop = new_loop(settings, data)
    screener, lookup = loop.screener, loop.registry.lookup
    now = datetime.now(UTC)
    for line in lines:
        screener.screen_message(line, lookup, screened_at=now, activity=new_activity_counter())
    activity = new_activity_counter()
    began = time.perf_counter()
    for line in lines:
        screener.screen_message(line, lookup, screened_at=now, activity=activity)
    return (time.perf_counter() - began) / len(lines) * 1e6


async def bench(args: argparse.Namespace, workdir: Path) -> None:
    data = write_dataset(FeedSpec(iors=args.iors, entries=args.entries, seed=17), workdir)
    lines = data.entries.read_bytes().splitlines()
    settings = Settings(partitions=PARTITIONS, metrics_port=-1)
    print(f"entries={len(lines)} iors={args.iors} batch_size={settings.batch_size}", flush=True)
    loops, cores, stage_runs = [], [], []
    for round_number in range(1, args.rounds + 1):
        per_entry, stages = await loop_round(settings, data, lines)
        loops.append(per_entry)
        stage_runs.append(stages)
        cores.append(core_round(settings, data, lines))
        print(
            f"round {round_number}: loop={per_entry:.2f} us/entry core={cores[-1]:.2f} us/entry "
            + " ".join(f"{k}={v:.2f}" for k, v in stages.items()),
            flush=True,
        )
    loop_us, core_us = statistics.median(loops), statistics.median(cores)
    print(
        "time per stage (us/entry, median of rounds): "
        + ", ".join(
            f"{stage}={statistics.median(run[stage] for run in stage_runs):.2f}"
            for stage in stage_runs[0]
        )
    )
    ratio = loop_us / core_us
    print(f"loop_us_per_entry={loop_us:.2f} core_us_per_entry={core_us:.2f} ratio={ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--iors", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="entry-screening-loop-") as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())

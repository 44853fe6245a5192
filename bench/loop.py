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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from entry_screening.runtime import settle_heap
from entry_screening.synthetic import FeedSpec, write_dataset
from screening.activity import new_activity_counter
from streams.offline import consumer_batches, offline_loop
from streams.settings import Settings

PARTITIONS = 6


async def loop_round(
    settings: Settings, data: Any, lines: list[bytes]
) -> tuple[float, dict[str, float]]:
    loop = offline_loop(settings, data)
    batches = consumer_batches(settings, list(lines))
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
    loop = offline_loop(settings, data)
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

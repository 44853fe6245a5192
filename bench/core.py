"""The core's cost per entry on one core: decode + validate, screen, encode decision and audit.

Generated data (the same mix the demo feeds), everything in memory, no Kafka. Prints the
time of each stage and, as its last line, ``core_us_per_entry=N`` (the median of the
rounds, in microseconds).

    python bench/core.py [--entries 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import UTC, datetime

import orjson

from entry_screening.runtime import GC_THRESHOLDS
from entry_screening.synthetic import FeedSpec, brokers, feed, registry, watchlist
from schemas import codec
from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from screening.activity import ActivityCounter
from screening.engine import ReferenceData, Screener, screened_event_bytes
from screening.rulepack import load_rule_pack
from screening.watchlist import WatchlistIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--iors", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import random

    spec = FeedSpec(iors=args.iors, entries=args.entries, seed=11)
    rng = random.Random(spec.seed)
    broker_rows = brokers(rng, spec.brokers)
    iors = registry(rng, spec.iors, spec.start)
    lines = list(feed(spec, iors, broker_rows))
    table = {r.ior_number: r for r in (IorRecord.model_validate(i.record) for i in iors)}
    reference = ReferenceData(
        {b["filer_code"]: BrokerRecord.model_validate(b) for b in broker_rows},
        WatchlistIndex(WatchlistRecord.model_validate(w) for w in watchlist()),
    )
    screener = Screener(load_rule_pack(), reference)
    mean_lines = statistics.mean(len(orjson.loads(line)["lines"]) for line in lines)
    mean_bytes = statistics.mean(len(line) for line in lines)
    # The registry and the code stay alive all run: keep them out of the collector's scans,
    # as the worker does after loading its tables.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

    stages: dict[str, list[float]] = {"decode": [], "screen": [], "encode": [], "audit": []}
    totals = []
    now = datetime.now(UTC)
    for _ in range(args.rounds):
        activity = ActivityCounter()
        spent = dict.fromkeys(stages, 0.0)
        clock = time.perf_counter
        began = clock()
        for line in lines:
            t0 = clock()
            entry = codec.decode(EntryFiling, line)
            t1 = clock()
            activity.record(entry.ior_number, entry.filed_at)
            decision = screener.screen(
                entry, table.get(entry.ior_number), screened_at=now, activity=activity
            )
            t2 = clock()
            codec.encode(decision)
            t3 = clock()
            screened_event_bytes(decision)
            t4 = clock()
            spent["decode"] += t1 - t0
            spent["screen"] += t2 - t1
            spent["encode"] += t3 - t2
            spent["audit"] += t4 - t3
        elapsed = clock() - began
        totals.append(elapsed / len(lines) * 1e6)
        for name, seconds in spent.items():
            stages[name].append(seconds / len(lines) * 1e6)

    print(
        f"entries={len(lines)} mean_lines={mean_lines:.2f} mean_bytes={mean_bytes:.0f} "
        f"rounds={args.rounds}"
    )
    for name, values in stages.items():
        print(f"  {name:<7} {statistics.median(values):6.2f} us/entry")
    print(
        f"  (timer overhead included in the total; rounds: {', '.join(f'{t:.1f}' for t in totals)})"
    )
    print(f"core_us_per_entry={statistics.median(totals):.2f}")


if __name__ == "__main__":
    main()

"""The core's cost per entry on one core: decode + validate, screen, encode decision and audit.

Generated data (the same mix the demo feeds), everything in memory, no Kafka. Runs the
native core (when installed) and the Python core in alternating rounds, prints the time of
each stage for both and their ratio, and, as its last line, ``core_us_per_entry=N``: the
median of the rounds, in microseconds, of the core the worker uses.

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
from screening.activity import ActivityCounter, new_activity_counter
from screening.engine import ReferenceData, Screener
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
    mean_lines = statistics.mean(len(orjson.loads(line)["lines"]) for line in lines)
    mean_bytes = statistics.mean(len(line) for line in lines)
    # The registry and the code stay alive all run: keep them out of the collector's scans,
    # as the worker does after loading its tables.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

    # Both cores, rounds alternating (the machine is noisy): the native one when it is
    # installed, and the Python core as the baseline in the same process.
    cores = {"python": Screener(load_rule_pack(), reference, native=False)}
    native_screener = Screener(load_rule_pack(), reference)
    if native_screener.core == "native":
        cores = {"native": native_screener, **cores}
    stage_names = ("screen_message",)
    stages = {core: {name: [] for name in stage_names} for core in cores}
    totals: dict[str, list[float]] = {core: [] for core in cores}
    now = datetime.now(UTC)
    clock = time.perf_counter
    lookup = table.get
    for _ in range(args.rounds):
        for core, screener in cores.items():
            activity = new_activity_counter() if core == "native" else ActivityCounter()
            began = clock()
            # What the worker does per message: decode and validate, look the IOR up, count
            # the entry, screen it, and write the decision's and the audit event's JSON.
            for line in lines:
                screener.screen_message(line, lookup, screened_at=now, activity=activity)
            elapsed = clock() - began
            totals[core].append(elapsed / len(lines) * 1e6)
            stages[core]["screen_message"].append(elapsed / len(lines) * 1e6)
        # Where the time goes, per stage (timed separately: the clock calls cost time too).
        for core, screener in cores.items():
            activity = new_activity_counter() if core == "native" else ActivityCounter()
            spent = dict.fromkeys(("decode", "activity", "screen+encode"), 0.0)
            compiled = core == "native"
            for line in lines:
                t0 = clock()
                entry = codec.decode(EntryFiling, line, compiled=compiled)
                t1 = clock()
                activity.record(entry.ior_number, entry.filed_at)
                t2 = clock()
                screener.screen_encoded(
                    entry, lookup(entry.ior_number), screened_at=now, activity=activity
                )
                t3 = clock()
                spent["decode"] += t1 - t0
                spent["activity"] += t2 - t1
                spent["screen+encode"] += t3 - t2
            for name, seconds in spent.items():
                stages[core].setdefault(name, []).append(seconds / len(lines) * 1e6)

    print(
        f"entries={len(lines)} mean_lines={mean_lines:.2f} mean_bytes={mean_bytes:.0f} "
        f"rounds={args.rounds}"
    )
    for core in cores:
        print(f"  {core} core:")
        for name, values in stages[core].items():
            print(f"    {name:<14} {statistics.median(values):6.2f} us/entry")
        rounds = ", ".join(f"{t:.1f}" for t in totals[core])
        total = statistics.median(totals[core])
        print(f"    {'total':<14} {total:6.2f} us/entry (rounds: {rounds})")
    print(
        "  (screen_message: the whole path as the worker runs it, the figure that counts; the\n"
        "   stages below it go through the models and are timed one by one, for where the time\n"
        "   goes: the native path skips building the entry's model altogether)"
    )
    first = next(iter(cores))
    if first != "python":
        ratio = statistics.median(totals["python"]) / statistics.median(totals[first])
        print(f"  the native core screens {ratio:.2f}x as fast as the Python core, end to end")
    else:
        print("  the native core is not installed (pip install ./native): Python core only")
    print(f"core_us_per_entry={statistics.median(totals[first]):.2f}")


if __name__ == "__main__":
    main()

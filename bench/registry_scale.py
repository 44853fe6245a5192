"""A million-IOR registry: restore time, memory and lookup cost, memory store against RocksDB.

Puts a generated registry of ``--iors`` records on ``ior.registry`` (the embedded broker
unless ``--bootstrap``), then, each in a fresh process so memory figures are its own:

* memory store: time for a worker's mirror to recover the whole topic, the process's
  resident memory after it, and the cost of a registry lookup: the first of an IOR decodes
  its record (100k random IORs); a hot set of 10k IORs looked up again hits the cache;
* RocksDB store, first start: the same, writing the records to disk;
* RocksDB store, restart: recovery resumes from the offsets stored with the data.

    python bench/registry_scale.py [--iors 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from entry_screening.synthetic import DEFAULT_START, registry
from streams.admin import create_topics
from streams.embedded import EmbeddedBroker
from streams.kafka import producer_options
from streams.settings import Settings, TopicNames

PARTITIONS = 6


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(settings: Settings, count: int) -> list[str]:
    """Produce ``count`` generated IOR records; returns their numbers."""
    rng = random.Random(23)
    records = registry(rng, count, DEFAULT_START)
    producer = AIOKafkaProducer(**producer_options(settings, role="bench-registry"))
    await producer.start()
    topic = settings.topics.ior_registry
    numbers = []
    try:
        batches: dict[int, object] = {}
        pending = []
        for item in records:
            key = item.record["ior_number"].encode()
            numbers.append(item.record["ior_number"])
            partition = (murmur2(key) & 0x7FFFFFFF) % PARTITIONS
            batch = batches.get(partition) or producer.create_batch()
            batches[partition] = batch
            if batch.append(key=key, value=orjson.dumps(item.record), timestamp=None) is None:
                pending.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(key=key, value=orjson.dumps(item.record), timestamp=None)
            if len(pending) > 50:
                await asyncio.gather(*pending)
                pending.clear()
        for partition, batch in batches.items():
            pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return numbers


async def measure(settings: Settings, sample: list[str]) -> dict[str, float]:
    """Runs in a child process: one mirror start, its memory and lookups."""
    from entry_screening.runtime import settle_heap
    from streams import fetch_records
    from streams.mirror import TopicMirror, make_store
    from streams.state import RegistryView

    if settings.native_fetch:  # as a worker restores (streams.app)
        fetch_records.install()
    before = rss_mib()
    mirror = TopicMirror(settings, settings.topics.ior_registry, make_store(settings, "registry"))
    started = time.perf_counter()
    await mirror.start()
    await mirror.recovered.wait()
    restore = time.perf_counter() - started
    settle_heap()
    after = rss_mib()
    view = RegistryView(mirror)
    t0 = time.perf_counter()
    for number in sample:
        view.get(number)
    first = (time.perf_counter() - t0) / len(sample) * 1e6
    # A hot set (the IORs filing right now) looked up again and again, as the feed does.
    hot = sample[:10_000] * 10
    for number in hot[:10_000]:
        view.get(number)
    t0 = time.perf_counter()
    for number in hot:
        view.get(number)
    cached = (time.perf_counter() - t0) / len(hot) * 1e6
    result = {
        "records": len(mirror),
        "restore_s": restore,
        "rss_mib": after,
        "rss_growth_mib": after - before,
        "lookup_first_us": first,
        "lookup_cached_us": cached,
        "rss_with_decoded_mib": rss_mib(),
    }
    await mirror.stop()
    return result


def child(args: argparse.Namespace) -> None:
    settings = Settings.model_validate_json(args.child)
    sample = json.loads(Path(args.sample).read_text())
    print(json.dumps(asyncio.run(measure(settings, sample))))


def run_child(settings: Settings, sample_path: Path) -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            settings.model_dump_json(),
            "--sample",
            str(sample_path),
        ],
        capture_output=True,
        check=True,
        text=True,
        timeout=1_800,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iors", type=int, default=1_000_000)
    parser.add_argument("--bootstrap")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="entry-screening-registry-") as tmp:
        work = Path(tmp)
        broker = None if args.bootstrap else EmbeddedBroker(log_path=work / "broker.log").start()
        try:
            bootstrap = args.bootstrap or broker.bootstrap  # type: ignore[union-attr]
            base = Settings(
                kafka_bootstrap=bootstrap,
                partitions=PARTITIONS,
                topics=TopicNames().with_prefix(f"scale{os.getpid()}."),
                data_dir=work / "worker",
            )
            asyncio.run(create_topics(base))
            started = time.perf_counter()
            numbers = asyncio.run(load(base, args.iors))
            print(f"loaded {len(numbers)} IOR records in {time.perf_counter() - started:.1f} s")
            sample_path = work / "sample.json"
            sample_path.write_text(json.dumps(random.Random(5).sample(numbers, 100_000)))
            runs = [
                ("memory store", base),
                ("rocksdb, first start", base.model_copy(update={"table_store": "rocksdb"})),
                ("rocksdb, restart", base.model_copy(update={"table_store": "rocksdb"})),
            ]
            for label, settings in runs:
                r = run_child(settings, sample_path)
                print(
                    f"{label:<22} records={r['records']:.0f} restore={r['restore_s']:.1f} s "
                    f"rss={r['rss_mib']:.0f} MiB (mirror +{r['rss_growth_mib']:.0f} MiB; "
                    f"{r['rss_with_decoded_mib']:.0f} MiB after 100k decoded lookups) "
                    f"lookup first={r['lookup_first_us']:.1f} us "
                    f"cached={r['lookup_cached_us']:.2f} us"
                )
        finally:
            if broker is not None:
                broker.stop()


if __name__ == "__main__":
    main()

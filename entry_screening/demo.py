"""``entry-screening demo``: the whole pipeline, end to end, on one machine.

With no ``SCREENING_KAFKA_BOOTSTRAP`` it starts the embedded broker; with one, it runs on
that cluster under freshly prefixed topic names and leaves the real topics alone. It
generates a registry, reference data and an e-commerce feed, creates the topics, loads the
data, starts a worker process, feeds the entries, follows the output topics until every
entry is accounted for (released + held + seizure review + dead-lettered = fed), prints a
summary and removes everything it started.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from entry_screening.synthetic import FeedSpec, write_dataset
from streams import loaders
from streams.admin import create_topics
from streams.embedded import EmbeddedBroker, free_port
from streams.replay import partitions_of, reader
from streams.settings import Settings, TopicNames

READY_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class DemoOptions:
    entries: int = 30_000
    iors: int = 5_000
    rate: float | None = None
    malformed: int = 30
    seed: int = 7
    keep: bool = False
    probe: int = 3_000


@dataclass
class Tally:
    """What the output topics said, as the demo's own consumer saw it."""

    outcomes: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    last_at: float = 0.0

    @property
    def accounted(self) -> int:
        return sum(self.outcomes.values()) + sum(self.dead_letters.values())


def _say(text: str) -> None:
    print(f"[demo] {text}", file=sys.stderr, flush=True)


def worker_environment(settings: Settings, workdir: Path) -> dict[str, str]:
    env = {**os.environ, **settings.as_environment()}
    env["SCREENING_DATA_DIR"] = str(workdir / "worker")
    env["SCREENING_LOG_LEVEL"] = os.environ.get("SCREENING_LOG_LEVEL", "WARNING")
    return env


def start_worker(
    settings: Settings, workdir: Path, log_name: str = "worker.log"
) -> subprocess.Popen[bytes]:
    with (workdir / log_name).open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "entry_screening.cli", "worker"],
            env=worker_environment(settings, workdir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def metrics_text(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text: str = response.read().decode()
            return text
    except OSError:
        return None


async def wait_until_ready(port: int, worker: subprocess.Popen[bytes], limit: float) -> float:
    """Seconds until the worker has mirrored the registry and owns partitions of
    entries.filed (its metrics say so)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}")
        text = metrics_text(port)
        if (
            text
            and "screening_registry_recovered 1.0" in text
            and "screening_assigned_partitions 0.0" not in text
            and "screening_assigned_partitions" in text
        ):
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise RuntimeError(f"the worker was not ready within {limit:.0f} s")


async def collect(
    settings: Settings, tally: Tally, sent_at: dict[str, float], stop: asyncio.Event
) -> None:
    """Read every output topic from the start and tally decisions and dead letters."""
    topics = settings.topics
    outputs = [
        topics.entries_released,
        topics.entries_holds,
        topics.entries_seizure_review,
        topics.entries_filed_dlq,
    ]
    consumer = reader(settings, "demo-tally")
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in outputs for p in await partitions_of(consumer, t)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            now = time.time()
            for tp, records in batch.items():
                for record in records:
                    if tp.topic == topics.entries_filed_dlq:
                        headers = dict(record.headers or ())
                        tally.dead_letters[headers.get("error.class", b"?").decode()] += 1
                        continue
                    decision = orjson.loads(record.value)
                    if decision["decision_id"] in tally.seen:
                        tally.duplicates += 1
                        continue
                    tally.seen.add(decision["decision_id"])
                    tally.outcomes[decision["outcome"]] += 1
                    tally.rules.update(hit["rule_id"] for hit in decision["hits"])
                    sent = sent_at.get(decision["entry_number"])
                    if sent is not None:
                        tally.latencies_ms.append((now - sent) * 1000)
                tally.last_at = now
    finally:
        await consumer.stop()


def split_feed(entries: Path, first: int) -> tuple[Path, Path]:
    """The first ``first`` lines, and the rest, as two files beside ``entries``."""
    lines = entries.read_bytes().splitlines(keepends=True)
    head, tail = entries.with_name("backlog.jsonl"), entries.with_name("probe.jsonl")
    head.write_bytes(b"".join(lines[:first]))
    tail.write_bytes(b"".join(lines[first:]))
    return head, tail


async def wait_accounted(tally: Tally, expected: int, worker: subprocess.Popen[bytes]) -> None:
    # Bound: even on a loaded 2-core machine the worker decides well over 500 entries/s.
    deadline = time.monotonic() + max(120.0, expected / 500)
    while tally.accounted < expected:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {tally.accounted} of {expected} entries were accounted for")
        if sys.stderr.isatty():
            print(
                f"\r[demo] accounted for {tally.accounted}/{expected}",
                end="",
                file=sys.stderr,
                flush=True,
            )
        await asyncio.sleep(0.2)
    if sys.stderr.isatty():
        print(file=sys.stderr)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_summary(
    tally: Tally,
    fed: int,
    throughput: float,
    probe_rate: float,
    options: DemoOptions,
    metrics_url: str,
) -> None:
    decided = sum(tally.outcomes.values())
    out = sys.stdout
    out.write("\n== entry-screening demo: summary\n")
    out.write(f"entries fed            {fed:>9}   ({options.malformed} deliberately malformed)\n")
    out.write(f"decisions              {decided:>9}\n")
    for outcome in ("release", "hold", "seizure_review"):
        count = tally.outcomes.get(outcome, 0)
        out.write(f"  {outcome:<20} {count:>9}   {count / max(decided, 1):6.1%}\n")
    out.write(
        f"dead-lettered          {sum(tally.dead_letters.values()):>9}   "
        f"{dict(tally.dead_letters)}\n"
    )
    out.write(
        f"accounted for          {tally.accounted:>9} of {fed}"
        f"   (duplicate decisions seen: {tally.duplicates})\n"
    )
    out.write("rule hits\n")
    for rule_id, count in tally.rules.most_common():
        out.write(f"  {rule_id:<24} {count:>9}\n")
    out.write(
        f"throughput             {throughput:>9,.0f} decisions/s over the "
        f"{options.entries}-entry backlog (first entry sent to last decision read)\n"
    )
    out.write(
        f"end-to-end latency     p50 {percentile(tally.latencies_ms, 0.50):,.1f} ms, "
        f"p99 {percentile(tally.latencies_ms, 0.99):,.1f} ms over {len(tally.latencies_ms)} "
        f"entries fed at {probe_rate:,.0f}/s (sent to decision read)\n"
    )
    out.write(f"metrics were served at {metrics_url}\n")


async def _demo(options: DemoOptions, workdir: Path) -> int:
    configured = os.environ.get("SCREENING_KAFKA_BOOTSTRAP")
    broker: EmbeddedBroker | None = None
    worker: subprocess.Popen[bytes] | None = None
    try:
        if configured:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            topics = TopicNames().with_prefix(f"demo-{stamp}.")
            group = f"entry-screening-demo-{stamp}"
            bootstrap = configured
            _say(f"using the configured cluster {bootstrap}, topics prefixed demo-{stamp}.")
        else:
            broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
            topics, group, bootstrap = TopicNames(), "entry-screening", broker.bootstrap
            _say(f"embedded broker (Tansu) listening on {bootstrap}")
        settings = Settings(
            kafka_bootstrap=bootstrap,
            topics=topics,
            consumer_group=group,
            metrics_port=free_port(),
            session_timeout_ms=10_000 if configured else 2_000,
        )
        spec = FeedSpec(
            iors=options.iors,
            entries=options.entries + options.probe,
            seed=options.seed,
            malformed=options.malformed,
            start=datetime.now(UTC),
        )
        data = write_dataset(spec, workdir / "data")
        backlog, probe = split_feed(data.entries, options.entries)
        _say(f"generated {options.iors} IORs and {spec.entries} entries in {workdir / 'data'}")
        await create_topics(settings)
        for kind, result in (await loaders.load_dataset(settings, data)).items():
            _say(f"loaded {result.produced} {kind} records in {result.seconds:.2f} s")
        worker = start_worker(settings, workdir)
        ready = await wait_until_ready(settings.metrics_port, worker, READY_TIMEOUT_SECONDS)
        _say(f"worker ready in {ready:.1f} s (registry mirrored, partitions assigned)")

        tally = Tally()
        sent_at: dict[str, float] = {}
        stop = asyncio.Event()
        collector = asyncio.create_task(collect(settings, tally, sent_at, stop))

        # Phase 1: the backlog as fast as the feed goes, for throughput.
        started = time.time()
        fed = await loaders.feed(
            settings,
            backlog,
            rate=options.rate,
            progress=loaders.Progress(options.entries),
            sent_at=sent_at,
        )
        await wait_accounted(tally, fed.produced, worker)
        throughput = sum(tally.outcomes.values()) / max(tally.last_at - started, 1e-9)

        # Phase 2: a steady trickle at a quarter of that, for latency without a queue.
        probe_rate = max(min(throughput / 4, 5_000.0), 50.0)
        tally.latencies_ms.clear()
        probed = await loaders.feed(settings, probe, rate=probe_rate, sent_at=sent_at)
        await wait_accounted(tally, fed.produced + probed.produced, worker)
        _say(f"accounted for {tally.accounted}/{fed.produced + probed.produced}")
        await asyncio.sleep(0.5)  # catch duplicates still in flight
        stop.set()
        await collector
        metrics_url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
        print_summary(
            tally, fed.produced + probed.produced, throughput, probe_rate, options, metrics_url
        )
        if tally.accounted < fed.produced + probed.produced:
            _say("not every entry was accounted for")
            return 1
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        if broker is not None:
            broker.stop()


def run_demo(options: DemoOptions) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="entry-screening-demo-"))
    try:
        return asyncio.run(_demo(options, workdir))
    except RuntimeError as error:
        _say(f"failed: {error} (logs in {workdir})")
        return 1
    finally:
        if options.keep:
            _say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

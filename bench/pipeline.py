"""Throughput of the whole pipeline against what the Kafka client itself can move.

One broker (the embedded one unless ``--bootstrap``), the same generated entries for every
run, three alternating rounds of:

* ceiling: an aiokafka loop in this process that takes the records with ``getmany`` and
  produces them again in per-partition batches (``create_batch``/``send_batch``), committing
  after the acknowledgements, with no decoding at all; aiokafka as it comes, with none of
  the project's replacements for its parts;
* pipeline: one ``entry-screening worker`` process screening the same records, every output
  produced (decision, audit event, hold and activity state) and offsets committed. The
  registry has been vetted once before (as on any day after the first deployment), so the
  worker's time goes to the entries;
* passthrough per record: the ceiling loop with one ``send`` per record, for context;
* output floor, also for context: the ceiling loop writing, for each record, the outputs the
  pipeline writes for that entry (decision, audit event, hold state; computed before timing)
  with the pipeline's own batch writer and the client parts the worker uses: what the Kafka
  client costs the pipeline before any screening. ``floor_ratio`` is its rate over the
  ceiling's;
* ceiling with the project's client parts, for context: the ceiling loop with the parts of
  aiokafka the worker replaces (produce requests written with one join, fetched records
  read natively). ``ratio_same_client`` is the pipeline's rate over it.

Each is timed from its first record to the commit of its last, and again over its middle
(from the commit that reaches a tenth of the records to the one that reaches nine tenths),
where a short run's start (first fetches, each IOR's first sight) and end (the last
batches' acknowledgements) do not count, as they hardly do in a day's feed; over that
middle, the CPU time per record of the ceiling loop's process, of the worker and of the
embedded broker (which shares the machine's cores with both). Then, with a fresh worker,
entries are fed at half the pipeline's median rate to measure end-to-end latency (sent to
decision read back). Printed before the last line: latency p50/p99, the worker's peak RSS,
time per stage, CPU per record, the middles' rates and ratio; the last line is
``pipeline_eps=N ceiling_eps=N ratio=R`` (medians of the whole runs).

    python bench/pipeline.py [--entries N] [--rounds N] [--bootstrap HOST:PORT] [--batch-size N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from entry_screening.demo import metrics_text, start_worker
from entry_screening.runtime import settle_heap
from entry_screening.synthetic import FeedSpec, write_dataset
from streams import fetch_records, loaders, produce_request
from streams.admin import create_topics
from streams.embedded import EmbeddedBroker, free_port
from streams.kafka import client_options, producer_options
from streams.output import OutputBatch
from streams.replay import partitions_of
from streams.settings import Settings, TopicNames

PARTITIONS = 6


def settings_for(
    bootstrap: str, embedded: bool, workdir: Path, batch_size: int | None = None
) -> Settings:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    return Settings(
        batch_size=batch_size or Settings().batch_size,
        kafka_bootstrap=bootstrap,
        topics=TopicNames().with_prefix(prefix),
        consumer_group=f"{prefix}screening",
        partitions=PARTITIONS,
        metrics_port=free_port(),
        session_timeout_ms=2_000 if embedded else 6_000,
        producer_idempotence=not embedded,
        data_dir=workdir / "worker",
    )


async def preload(settings: Settings, topic: str, lines: list[bytes]) -> None:
    """Put the entries on ``topic`` before timing starts, keyed by IOR number."""
    producer = AIOKafkaProducer(**producer_options(settings, role="bench-load"))
    await producer.start()
    try:
        sends = []
        for line in lines:
            key = orjson.loads(line).get("ior_number", "").encode() or None
            sends.append(await producer.send(topic, key=key, value=line))
            if len(sends) >= 10_000:
                await asyncio.gather(*sends)
                sends.clear()
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def drop_topics(settings: Settings) -> None:
    """Delete a loop's topics once it is measured: the embedded broker keeps every record
    in memory, and a round writes about a gigabyte (three rounds left the broker holding
    them all to the end of the run)."""
    admin = AIOKafkaAdminClient(**client_options(settings, role="bench-admin"))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [t for t in settings.topics.model_dump().values() if t in existing]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


Outputs = dict[bytes, list[tuple[str, bytes, bytes]]]  # entry -> [(topic, key, value)]


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of process ``pid`` so far, all its threads (0 for None)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Mark(NamedTuple):
    """Where a run stood at one moment: records committed, and the CPU time used so far by
    the loop's process and by the broker."""

    seconds: float
    committed: int
    cpu: float
    broker_cpu: float


def mark(committed: int, broker_pid: int | None, pid: int | None = None) -> Mark:
    """A mark now: the CPU time of process ``pid`` (this one when None) and the broker's."""
    cpu = time.process_time() if pid is None else cpu_seconds(pid)
    return Mark(time.perf_counter(), committed, cpu, cpu_seconds(broker_pid))


def middle(marks: list[Mark], total: int) -> tuple[Mark, Mark]:
    """The first marks at a tenth and at nine tenths of ``total`` committed: a run's middle,
    without its start (first fetches, each IOR's first sight) or its end (the last
    batches' acknowledgements), which weigh more in a short run than in a day's feed."""
    start = next(m for m in marks if m.committed >= total / 10)
    end = next(m for m in marks if m.committed >= total * 9 / 10)
    return start, end


class Timed(NamedTuple):
    """One timed loop: records/s from its first record to its last commit and over its
    middle; CPU per record over its middle, of the loop's own process and of the broker
    (the embedded one; 0 on another)."""

    eps: float
    sustained_eps: float
    cpu_us: float
    broker_cpu_us: float


def timed(eps: float, rate_marks: list[Mark], cpu_marks: list[Mark], total: int) -> Timed:
    start, end = middle(rate_marks, total)
    # A run too short to have a middle (one batch from a tenth to nine tenths) has no rate.
    elapsed = end.seconds - start.seconds
    sustained = (end.committed - start.committed) / elapsed if elapsed > 0 else math.nan
    first, last = middle(cpu_marks, total)
    records = max(last.committed - first.committed, 1)
    return Timed(
        eps,
        sustained,
        (last.cpu - first.cpu) / records * 1e6,
        (last.broker_cpu - first.broker_cpu) / records * 1e6,
    )


def pipeline_outputs(settings: Settings, data: Any, lines: list[bytes]) -> Outputs:
    """What the worker writes for each entry at filing: its decision (to the topic of its
    outcome), its audit event and, for a hold, the hold's state record."""
    from schemas.reference import BrokerRecord, WatchlistRecord
    from schemas.registry import IorRecord
    from screening.activity import new_activity_counter
    from screening.engine import ReferenceData, Screener
    from screening.rulepack import load_rule_pack
    from screening.watchlist import WatchlistIndex
    from streams.holds import OpenHold
    from streams.topics import decision_topic

    def rows(path: Path) -> list[Any]:
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    table = {r.ior_number: r for r in map(IorRecord.model_validate, rows(data.registry))}
    screener = Screener(
        load_rule_pack(),
        ReferenceData(
            {b["filer_code"]: BrokerRecord.model_validate(b) for b in rows(data.brokers)},
            WatchlistIndex(map(WatchlistRecord.model_validate, rows(data.watchlist))),
        ),
    )
    activity = new_activity_counter()
    now = datetime.now().astimezone()
    topics = settings.topics
    outputs: Outputs = {}
    for line in lines:
        decision, encoded, audit, ior_number, *_ = screener.screen_message(
            line, table.get, screened_at=now, activity=activity
        )
        key = decision.entry_number.encode()
        written = [
            (decision_topic(settings, decision.outcome), key, encoded),
            (topics.screening_audit, key, audit),
        ]
        if decision.outcome != "release":
            hold = OpenHold(
                decision.entry_number,
                ior_number,
                line,
                decision.decision_id,
                decision.outcome,
                decision.rule_ids,
                now,
                now,
            )
            written.append((topics.holds_state, key, hold.to_wire()))
        outputs[line] = written
    return outputs


def mean_outputs(outputs: Outputs) -> float:
    return statistics.mean(len(written) for written in outputs.values())


async def copy_loop(
    settings: Settings,
    source: str,
    target: str,
    total: int,
    *,
    batched: bool,
    outputs: Outputs | None = None,
    broker_pid: int | None = None,
) -> Timed:
    """A consume-produce-commit loop with no decoding (the ceiling); with ``outputs``,
    each record's precomputed outputs are written instead of the record."""
    # What is alive now (entries, precomputed outputs) stays to the end: out of the
    # collector's scans, with the worker's thresholds, so this process's loops are tuned
    # as the worker is.
    settle_heap()
    consumer = AIOKafkaConsumer(
        source,
        **client_options(settings, role="bench-copy"),
        group_id=f"copy-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.batch_size,
        fetch_max_wait_ms=settings.batch_linger_ms,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
    )
    producer = AIOKafkaProducer(**producer_options(settings, role="bench-copy"))
    await consumer.start()
    await producer.start()
    try:
        partitions = len(await producer.partitions_for(target))
        if outputs is not None:
            counts = {
                t: len(await producer.partitions_for(t))
                for t in settings.topics.model_dump().values()
            }
        done = 0
        marks: list[Mark] = []  # the first when the first records arrive, then every commit
        while done < total:
            batch = await consumer.getmany(
                timeout_ms=settings.batch_linger_ms, max_records=settings.batch_size
            )
            if not batch:
                continue
            if not marks:
                marks.append(mark(0, broker_pid))
            futures = []
            if outputs is not None:
                out = OutputBatch(producer, counts)
                for tp, records in batch.items():
                    for record in records:
                        for topic, key, value in outputs[record.value]:
                            out.add(topic, tp.partition, key, value)
                    done += len(records)
                await (await out.submit())
                await consumer.commit({tp: r[-1].offset + 1 for tp, r in batch.items()})
                marks.append(mark(done, broker_pid))
                continue
            for tp, records in batch.items():
                if batched:
                    builder = producer.create_batch()
                    for record in records:
                        if (
                            builder.append(key=record.key, value=record.value, timestamp=None)
                            is None
                        ):
                            futures.append(
                                await producer.send_batch(
                                    builder, target, partition=tp.partition % partitions
                                )
                            )
                            builder = producer.create_batch()
                            builder.append(key=record.key, value=record.value, timestamp=None)
                    futures.append(
                        await producer.send_batch(
                            builder, target, partition=tp.partition % partitions
                        )
                    )
                else:
                    for record in records:
                        futures.append(
                            await producer.send(
                                target,
                                key=record.key,
                                value=record.value,
                                partition=tp.partition % partitions,
                            )
                        )
                done += len(records)
            await asyncio.gather(*futures)
            await consumer.commit({tp: r[-1].offset + 1 for tp, r in batch.items()})
            marks.append(mark(done, broker_pid))
        return timed(total / (marks[-1].seconds - marks[0].seconds), marks, marks, total)
    finally:
        await consumer.stop()
        await producer.stop()


def stage_seconds(port: int) -> dict[str, float]:
    stages = {}
    for line in (metrics_text(port) or "").splitlines():
        if line.startswith("screening_stage_duration_seconds_sum{"):
            stage = line.split('stage="')[1].split('"')[0]
            stages[stage] = float(line.rsplit(" ", 1)[1])
    return stages


def peak_rss_mib(pid: int) -> float:
    # The worker runs as a child of `python -m entry_screening.cli worker`: same process.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


async def committed_total(settings: Settings, topic: str, group: str) -> tuple[int, int]:
    """(offsets committed by ``group`` on ``topic``, end offsets): read from outside the
    worker, so measuring costs it nothing (scraping its /metrics every few milliseconds
    would). The reader names the group but never joins it."""
    reader = AIOKafkaConsumer(
        **client_options(settings, role="bench-progress"), group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(reader, topic)]
        reader.assign(tps)
        total = 0
        for tp in tps:
            await reader.seek_to_end(tp)
            total += await reader.position(tp)
        committed = 0
        for tp in tps:
            committed += await reader.committed(tp) or 0
        return committed, total
    finally:
        await reader.stop()


async def steady_state(settings: Settings, data: Any, workdir: Path) -> None:
    """Topics, registry and reference data, and a first worker that vets the registry.

    A first deployment vets every registry record once (a Faust agent, about 2k records/s);
    the benchmark measures the steady state after that, as a pipeline runs day to day."""
    await create_topics(settings)
    await loaders.load_dataset(settings, data)
    worker = start_worker(settings, workdir, log_name=f"worker-vet-{uuid.uuid4().hex[:6]}.log")
    try:
        deadline = time.monotonic() + 300  # 5k IORs take seconds; the bound stops a broken run
        while True:
            vetted, total = await committed_total(
                settings, settings.topics.ior_registry, f"{settings.consumer_group}-faust"
            )
            if total and vetted >= total:
                break
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the registry was not vetted")
            await asyncio.sleep(0.5)
    finally:
        stop(worker)


def batch_times(log: Path) -> list[tuple[datetime, datetime, int]]:
    """(screening began, committed, records) of every batch the worker logged."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if '"message":"batch"' in line:
            event = orjson.loads(line[line.index("{") :])
            if event.get("records"):
                found.append(
                    (
                        datetime.fromisoformat(event["started"]),
                        datetime.fromisoformat(event["time"]),
                        event["records"],
                    )
                )
    return found


async def pipeline_run(
    settings: Settings,
    data: Any,
    lines: list[bytes],
    workdir: Path,
    broker_pid: int | None = None,
) -> tuple[Timed, dict[str, float], float]:
    """One worker over the preloaded entries; its stage times and peak RSS."""
    await steady_state(settings, data, workdir)
    await preload(settings, settings.topics.entries_filed, lines)
    log = f"worker-{uuid.uuid4().hex[:6]}.log"
    os.environ["SCREENING_LOG_LEVEL"] = "INFO"  # its batch lines time the run
    try:
        worker = start_worker(settings, workdir, log_name=log)
    finally:
        del os.environ["SCREENING_LOG_LEVEL"]
    try:
        deadline = time.monotonic() + 600  # start-up is seconds; this only stops a broken run
        polls: list[Mark] = []  # the worker's and the broker's CPU time as commits advance
        while True:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("pipeline run did not finish")
            done, _ = await committed_total(
                settings, settings.topics.entries_filed, settings.consumer_group
            )
            polls.append(mark(done, broker_pid, worker.pid))
            if done >= len(lines):
                break
            await asyncio.sleep(0.25)
        stages, rss = stage_seconds(settings.metrics_port), peak_rss_mib(worker.pid)
    finally:
        stop(worker)
    # Every record, timed from the start of the first batch's screening to the last
    # batch's commit. (Timing from the first batch's log line instead, which is written
    # once it is committed, left out the screening of the batches in flight behind it
    # while counting their records: a tenth to a fifth too fast.)
    batches = batch_times(workdir / log)
    elapsed = (batches[-1][1] - batches[0][0]).total_seconds()
    counted = sum(records for _, _, records in batches)
    commits, committed = [], 0
    for _, at, records in sorted(batches, key=lambda batch: batch[1]):
        committed += records
        commits.append(Mark(at.timestamp(), committed, 0.0, 0.0))
    return timed(counted / elapsed, commits, polls, counted), stages, rss


async def latency_run(
    settings: Settings, data: Any, lines: list[bytes], rate: float, workdir: Path
) -> tuple[float, float, int]:
    from entry_screening.demo import Tally, collect, wait_until_ready

    await steady_state(settings, data, workdir)
    worker = start_worker(settings, workdir, log_name="worker-latency.log")
    try:
        await wait_until_ready(settings.metrics_port, worker, 90)
        probe = workdir / "probe.jsonl"
        probe.write_bytes(b"\n".join(lines) + b"\n")
        tally = Tally()
        sent_at: dict[str, float] = {}
        halt = asyncio.Event()
        collector = asyncio.create_task(collect(settings, tally, sent_at, halt))
        fed = await loaders.feed(settings, probe, rate=rate, sent_at=sent_at)
        deadline = time.monotonic() + 120
        while tally.accounted < fed.produced and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        halt.set()
        await collector
        ordered = sorted(tally.latencies_ms)
        return (ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)], len(ordered))
    finally:
        stop(worker)


def client_parts(installed: bool) -> None:
    """This process's aiokafka with the parts the worker replaces (produce requests written
    with one join, fetched records read natively), or as it comes."""
    if installed:
        produce_request.install()
        fetch_records.install()
    else:
        produce_request.uninstall()
        fetch_records.uninstall()


async def bench(args: argparse.Namespace, workdir: Path) -> None:
    broker: EmbeddedBroker | None = None
    bootstrap = args.bootstrap
    if not bootstrap:
        broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
        bootstrap = broker.bootstrap
    try:
        data = write_dataset(
            FeedSpec(iors=args.iors, entries=args.entries, seed=17), workdir / "data"
        )
        lines = data.entries.read_bytes().splitlines()
        sizes = [len(line) for line in lines]
        print(
            f"broker={'embedded' if broker else bootstrap} entries={len(lines)} "
            f"mean_bytes={statistics.mean(sizes):.0f} partitions={PARTITIONS} "
            f"batch_size={args.batch_size or Settings().batch_size}",
            flush=True,
        )

        def fresh() -> Settings:  # new topics and group names for each loop
            return settings_for(bootstrap, broker is not None, workdir, args.batch_size)

        outputs_per_entry: list[float] = []
        broker_pid = broker.pid if broker is not None else None

        async def copy_round(*, batched: bool, same_client: bool, outputs: bool = False) -> Timed:
            """One copy loop over the entries, preloaded on new topics."""
            client_parts(installed=same_client)
            s = fresh()
            await create_topics(s)
            await preload(s, s.topics.entries_filed, lines)
            written = pipeline_outputs(s, data, lines) if outputs else None  # before timing
            if written is not None:
                outputs_per_entry.append(mean_outputs(written))
            try:
                return await copy_loop(
                    s,
                    s.topics.entries_filed,
                    s.topics.entries_released,
                    len(lines),
                    batched=batched,
                    outputs=written,
                    broker_pid=broker_pid,
                )
            finally:
                await drop_topics(s)

        ceiling_runs: list[Timed] = []
        pipeline_runs: list[Timed] = []
        ceilings, pipelines, singles, floors, stage_runs, rss = [], [], [], [], [], []
        same_client: list[float] = []
        for round_number in range(1, args.rounds + 1):
            ceiling_runs.append(await copy_round(batched=True, same_client=False))
            ceilings.append(ceiling_runs[-1].eps)
            s = fresh()
            run, stages, peak = await pipeline_run(s, data, lines, workdir, broker_pid)
            await drop_topics(s)
            pipeline_runs.append(run)
            pipelines.append(run.eps)
            stage_runs.append(stages)
            rss.append(peak)
            singles.append((await copy_round(batched=False, same_client=False)).eps)
            floors.append((await copy_round(batched=True, same_client=True, outputs=True)).eps)
            same_client.append((await copy_round(batched=True, same_client=True)).eps)
            print(
                f"round {round_number}: ceiling={ceilings[-1]:,.0f}/s "
                f"pipeline={pipelines[-1]:,.0f}/s per_record_send={singles[-1]:,.0f}/s "
                f"output_floor={floors[-1]:,.0f}/s "
                f"ceiling_same_client={same_client[-1]:,.0f}/s; middle of the run: "
                f"ceiling={ceiling_runs[-1].sustained_eps:,.0f}/s "
                f"pipeline={pipeline_runs[-1].sustained_eps:,.0f}/s",
                flush=True,
            )
        pipeline_eps = statistics.median(pipelines)
        ceiling_eps = statistics.median(ceilings)
        s = fresh()
        probe = lines[: min(len(lines), int(pipeline_eps / 2 * args.latency_seconds))]
        p50, p99, n = await latency_run(s, data, probe, pipeline_eps / 2, workdir)
        print(
            f"latency at {pipeline_eps / 2:,.0f} entries/s offered: p50={p50:.1f} ms "
            f"p99={p99:.1f} ms over {n} entries (sent to decision read)"
        )
        print(f"worker peak RSS: {statistics.median(rss):.0f} MiB (median of rounds)")
        totals: dict[str, list[float]] = {}
        for stages in stage_runs:
            for stage, seconds in stages.items():
                totals.setdefault(stage, []).append(seconds / len(lines) * 1e6)
        print(
            "time per stage (us/entry, median of rounds): "
            + ", ".join(f"{stage}={statistics.median(v):.1f}" for stage, v in totals.items())
        )
        print(f"per_record_send_eps={statistics.median(singles):.0f}")

        def median_of(runs: list[Timed], field: str) -> float:
            return float(statistics.median(getattr(run, field) for run in runs))

        if broker is not None:
            print(
                "cpu per record over the middle of the runs (us, median of rounds): "
                f"ceiling loop {median_of(ceiling_runs, 'cpu_us'):.1f} + broker "
                f"{median_of(ceiling_runs, 'broker_cpu_us'):.1f}; pipeline worker "
                f"{median_of(pipeline_runs, 'cpu_us'):.1f} + broker "
                f"{median_of(pipeline_runs, 'broker_cpu_us'):.1f} (the broker shares "
                "this machine's cores)"
            )
        sustained_pipeline = median_of(pipeline_runs, "sustained_eps")
        sustained_ceiling = median_of(ceiling_runs, "sustained_eps")
        print(
            f"sustained_pipeline_eps={sustained_pipeline:.0f} "
            f"sustained_ceiling_eps={sustained_ceiling:.0f} "
            f"sustained_ratio={sustained_pipeline / sustained_ceiling:.2f} (from a tenth to "
            "nine tenths of the records committed: no start-up, no last acknowledgements)"
        )
        floor_eps = statistics.median(floors)
        print(
            f"output_floor_eps={floor_eps:.0f} floor_ratio={floor_eps / ceiling_eps:.2f} "
            f"(records/s writing the pipeline's {outputs_per_entry[-1]:.2f} outputs per entry, "
            "no screening)"
        )
        same_client_eps = statistics.median(same_client)
        print(
            f"ceiling_same_client_eps={same_client_eps:.0f} "
            f"ratio_same_client={pipeline_eps / same_client_eps:.2f} (the ceiling loop with "
            "the client parts the worker replaces: one-join produce requests, native fetch)"
        )
        print(
            f"pipeline_eps={pipeline_eps:.0f} ceiling_eps={ceiling_eps:.0f} "
            f"ratio={pipeline_eps / ceiling_eps:.2f}"
        )
    finally:
        if broker is not None:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--iors", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--bootstrap", help="an existing broker instead of the embedded one")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="records per consumer batch, for every loop (default: the worker's setting)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="entry-screening-bench-") as tmp:
        asyncio.run(bench(args, Path(tmp)))
        if os.environ.get("BENCH_KEEP_LOGS"):  # the workers' batch lines, for a closer look
            shutil.copytree(tmp, os.environ["BENCH_KEEP_LOGS"], dirs_exist_ok=True)


if __name__ == "__main__":
    sys.exit(main())

"""The hot path: entries.filed in batches, screened, decisions and audit events produced,
offsets committed only after the broker acknowledged every output.

A batched aiokafka consumer rather than a Faust agent: a Faust agent doing one ``send`` per
event moved about 1.8k events/s on a 2-core machine and iterating a Faust stream alone
about 4.7k/s, while ``getmany`` with batched produce moves around 100k records/s (DESIGN.md).
So every overhead here is paid per batch: one clock reading, one screener check, one
produce flush and one commit per batch; per record only decode, lookup, screen and encode.

Delivery is at-least-once. A crash between the acknowledgement and the commit replays the
batch; the replayed decisions carry the same ``decision_id`` and consumers deduplicate on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from schemas import codec
from schemas.audit import AuditEvent, FieldError
from schemas.decision import OUTCOMES
from schemas.entry import EntryFiling
from screening.activity import ActivityCounter
from screening.engine import Screener, screened_event
from streams.kafka import client_options, producer_options
from streams.metrics import PipelineMetrics
from streams.output import Headers, OutputBatch
from streams.settings import Settings
from streams.state import ReferenceView, RegistryView, RulePackSource
from streams.topics import decision_topic

log = logging.getLogger(__name__)

_RETRY_BACKOFF_SECONDS: Final = 1.0
_PACK_FILE_POLL_SECONDS: Final = 2.0


def dead_letter_headers(
    rejected: codec.InputRejected, topic: str, partition: int, offset: int, at: datetime
) -> Headers:
    """Why a record was refused and where it came from; the record's value stays as it was."""
    return [
        ("error.class", rejected.error_class.encode()),
        ("error.message", rejected.message.encode()[:2_000]),
        ("error.fields", orjson.dumps([e.field for e in rejected.errors])),
        ("source.topic", topic.encode()),
        ("source.partition", str(partition).encode()),
        ("source.offset", str(offset).encode()),
        ("failed.at", at.isoformat().encode()),
    ]


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """On revocation, let the batch in flight finish (outputs acknowledged, offsets
    committed) before the partitions move, so the next owner starts after it."""

    def __init__(self, lock: asyncio.Lock, metrics: PipelineMetrics) -> None:
        self._lock = lock
        self._metrics = metrics

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._lock:
            self._metrics.assigned_partitions.set(0)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        partitions = sorted(tp.partition for tp in assigned)
        self._metrics.assigned_partitions.set(len(partitions))
        log.info("partitions assigned", extra={"partitions": partitions})


class ScreeningLoop:
    def __init__(
        self,
        settings: Settings,
        registry: RegistryView,
        reference: ReferenceView,
        packs: RulePackSource,
        metrics: PipelineMetrics,
        *,
        worker_id: str = "worker",
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.reference = reference
        self.packs = packs
        self.metrics = metrics
        self.worker_id = worker_id
        self.activity = ActivityCounter()
        reference_data, _ = reference.current()
        self.screener = Screener(
            packs.pack, reference_data, ior_hash_key=settings.ior_hash_key_bytes()
        )
        self._lock = asyncio.Lock()
        self._stopping = False
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._partitions: dict[str, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._pending_events: list[AuditEvent] = [self._pack_event()]
        self._next_pack_poll = 0.0
        self.batches = 0
        metrics.rule_pack.labels(packs.pack.version).set(1)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self._producer = AIOKafkaProducer(**producer_options(s, role="screening"))
        await self._producer.start()
        for topic in (
            s.topics.entries_released,
            s.topics.entries_holds,
            s.topics.entries_seizure_review,
            s.topics.screening_audit,
            s.topics.entries_filed_dlq,
        ):
            partitions = await self._producer.partitions_for(topic)
            self._partitions[topic] = len(partitions)
        self._consumer = AIOKafkaConsumer(
            **client_options(s, role="screening"),
            group_id=s.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.batch_size,
            # The broker holds a fetch until data arrives or this much time passes; the
            # default 500 ms added up to half a second of latency to a quiet feed.
            fetch_max_wait_ms=max(s.batch_linger_ms, 10),
            max_partition_fetch_bytes=max(s.max_message_bytes, 1_048_576),
            # Heartbeats run in the background; the session timeout bounds both fail-over
            # and (on the embedded broker) the time a group join takes.
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            rebalance_timeout_ms=max(s.session_timeout_ms, 10_000),
            max_poll_interval_ms=300_000,
        )
        await self._consumer.start()
        self._consumer.subscribe(
            [s.topics.entries_filed], listener=_WaitForBatch(self._lock, self.metrics)
        )

    async def stop(self) -> None:
        self._stopping = True
        async with self._lock:
            if self._consumer is not None:
                await self._consumer.stop()
            if self._producer is not None:
                await self._producer.stop()

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "start() first"
        while not self._stopping:
            try:
                records = await consumer.getmany(
                    timeout_ms=self.settings.batch_linger_ms, max_records=self.settings.batch_size
                )
            except Exception:
                if self._stopping:  # the consumer was closed under us: that is the stop
                    return
                raise
            for tp, messages in records.items():
                self._positions[tp] = messages[-1].offset + 1
            self._observe_lag(consumer)
            if not records and not self._pending_events:
                continue
            async with self._lock:
                if self._stopping:
                    return
                try:
                    await self.process(consumer, records)
                except (TimeoutError, KafkaError, OSError) as error:
                    self.metrics.batch_failures.inc()
                    log.error(
                        "batch failed; rewinding to retry it",
                        extra={"error": repr(error), "partitions": len(records)},
                    )
                    self._rewind(consumer, records)
                    for tp, messages in records.items():
                        self._positions[tp] = messages[0].offset
                    await asyncio.sleep(_RETRY_BACKOFF_SECONDS)

    # --- one batch ----------------------------------------------------------------------

    def _refresh_screener(self) -> None:
        reference, changed = self.reference.current()
        if changed:
            self.screener.reference = reference
        now = time.monotonic()
        new_pack = self.packs.poll_topic()
        if new_pack is None and now >= self._next_pack_poll:
            self._next_pack_poll = now + _PACK_FILE_POLL_SECONDS
            new_pack = self.packs.poll_file()
        if new_pack is not None:
            self.metrics.rule_pack.clear()
            self.metrics.rule_pack.labels(new_pack.version).set(1)
            self.screener = Screener(
                new_pack, self.screener.reference, ior_hash_key=self.settings.ior_hash_key_bytes()
            )
            self._pending_events.append(self._pack_event())
            log.info("rule pack activated", extra={"version": new_pack.version})

    def _pack_event(self) -> AuditEvent:
        version = self.packs.pack.version
        return AuditEvent(
            event_id=f"RulePackActivated-{version}-{self.worker_id}",
            event_type="RulePackActivated",
            subject=version,
            occurred_at=datetime.now(UTC),
            rule_pack_version=version,
            details={"worker": self.worker_id},
        )

    async def process(
        self, consumer: AIOKafkaConsumer, records: dict[TopicPartition, list[Any]]
    ) -> None:
        """Screen one consumer batch, produce every output, then commit its offsets."""
        s = self.settings
        topics = s.topics
        metrics = self.metrics
        self._refresh_screener()
        screener = self.screener
        registry = self.registry
        activity = self.activity
        assert self._producer is not None, "start() first"
        out = OutputBatch(self._producer, self._partitions)
        clock = time.perf_counter
        screened_at = datetime.now(UTC)
        spent = dict.fromkeys(("decode", "enrich", "rules", "encode"), 0.0)
        outcomes: Counter[str] = Counter()
        rule_hits: Counter[str] = Counter()
        dead: Counter[str] = Counter()
        arrivals: list[int] = []
        audit_topic = topics.screening_audit
        decision_topics = {o: decision_topic(s, o) for o in OUTCOMES}
        encode = codec.encode
        max_bytes = s.max_message_bytes

        for event in self._pending_events:
            out.add(audit_topic, 0, event.subject.encode(), encode(event))
        consumed = 0
        for tp, messages in records.items():
            partition = tp.partition
            consumed += len(messages)
            for message in messages:
                t0 = clock()
                try:
                    if message.value is None:
                        raise codec.InputRejected(
                            "malformed", (FieldError("(message)", "the record has no value"),)
                        )
                    entry = codec.decode(EntryFiling, message.value, max_bytes=max_bytes)
                except codec.InputRejected as rejected:
                    dead[rejected.error_class] += 1
                    out.add(
                        topics.entries_filed_dlq,
                        partition,
                        message.key,
                        message.value,
                        dead_letter_headers(
                            rejected, tp.topic, partition, message.offset, screened_at
                        ),
                    )
                    continue
                t1 = clock()
                ior = registry.get(entry.ior_number)
                activity.record(entry.ior_number, entry.filed_at)
                t2 = clock()
                decision = screener.screen(entry, ior, screened_at=screened_at, activity=activity)
                t3 = clock()
                key = entry.entry_number.encode()
                out.add(decision_topics[decision.outcome], partition, key, encode(decision))
                out.add(audit_topic, partition, key, encode(screened_event(decision)))
                t4 = clock()
                spent["decode"] += t1 - t0
                spent["enrich"] += t2 - t1
                spent["rules"] += t3 - t2
                spent["encode"] += t4 - t3
                outcomes[decision.outcome] += 1
                for hit in decision.hits:
                    rule_hits[hit.rule_id] += 1
                arrivals.append(message.timestamp)

        t_produce = clock()
        await out.flush()
        t_commit = clock()
        if records:
            offsets = {tp: messages[-1].offset + 1 for tp, messages in records.items()}
            try:
                await consumer.commit(offsets)
            except CommitFailedError:
                # The group rebalanced while this batch was in flight: its outputs are
                # acknowledged, and the partition's next owner will replay it (same ids).
                log.warning("commit refused after a rebalance; the batch will be replayed")
        t_done = clock()
        self._pending_events = []

        # Metrics and the batch log line, once per batch.
        now_ms = time.time() * 1000
        observe = metrics.end_to_end_latency.observe
        for arrived_ms in arrivals:
            observe(max(now_ms - arrived_ms, 0) / 1000)
        metrics.entries_consumed.inc(consumed)
        version = screener.pack.version
        for outcome, count in outcomes.items():
            metrics.decisions.labels(outcome, version).inc(count)
        for rule_id, count in rule_hits.items():
            metrics.rule_hits.labels(rule_id).inc(count)
        for reason, count in dead.items():
            metrics.dlq_messages.labels(reason).inc(count)
        spent["produce"] = t_commit - t_produce
        spent["commit"] = t_done - t_commit
        for stage, seconds in spent.items():
            metrics.stage_duration.labels(stage).observe(seconds)
        metrics.batch_size.observe(consumed)
        metrics.registry_iors.set(len(registry))
        self.batches += 1
        if consumed:
            log.info(
                "batch",
                extra={
                    "records": consumed,
                    "decisions": sum(outcomes.values()),
                    "dead_letters": sum(dead.values()),
                    "outcomes": dict(outcomes),
                    "partitions": {
                        tp.partition: [m[0].offset, m[-1].offset] for tp, m in records.items()
                    },
                    "ms": {k: round(v * 1000, 2) for k, v in spent.items()},
                },
            )

    def _rewind(self, consumer: AIOKafkaConsumer, records: dict[TopicPartition, list[Any]]) -> None:
        assigned = consumer.assignment()
        for tp, messages in records.items():
            if tp in assigned:
                with contextlib.suppress(IllegalStateError):
                    consumer.seek(tp, messages[0].offset)

    def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Lag per partition from the consumer's own view: the high-water mark its last
        fetch saw, minus the next offset this worker will process."""
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = self._positions.get(tp)
            if highwater is None or position is None:
                continue
            self.metrics.consumer_lag.labels(str(tp.partition)).set(max(highwater - position, 0))

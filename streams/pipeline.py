"""The hot path: entries.filed in batches, screened, decisions and audit events produced,
offsets committed only after the broker acknowledged every output.

A batched aiokafka consumer rather than a Faust agent: a Faust agent doing one ``send`` per
event moved about 1.8k events/s on a 2-core machine and iterating a Faust stream alone
about 4.7k/s, while ``getmany`` with batched produce moves around 100k records/s (DESIGN.md).
So every overhead here is paid per batch: one clock reading, one screener check, one
produce flush and one commit per batch; per record only decode, lookup, screen and encode.

The same consumer also reads ``holds.resolutions``, keyed like entries by IOR number with
the same partition count; the range assignor gives partition *p* of both topics to the
same worker, the one that keeps the open holds of partition *p*.

Delivery is at-least-once. A crash between the acknowledgement and the commit replays the
batch; the replayed decisions carry the same ``decision_id`` and consumers deduplicate on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.partitioner import murmur2

from schemas import codec
from schemas.audit import AuditEvent, FieldError
from schemas.entry import EntryFiling
from schemas.lifecycle import HoldResolution
from schemas.registry import IorRecord
from screening.activity import new_activity_counter
from screening.engine import Screener
from streams import produce_request
from streams.changelog import ChangelogTable
from streams.emitter import Emitter
from streams.holds import HoldBook, OpenHold, ResolutionRefused
from streams.kafka import client_options, producer_options
from streams.metrics import FilingLabels, FilingProfile, PipelineMetrics, filing_labels
from streams.output import OutputBatch
from streams.replay import reader
from streams.settings import Settings
from streams.state import ReferenceView, RegistryView, RulePackSource

log = logging.getLogger(__name__)

_RETRY_BACKOFF_SECONDS: Final = 1.0
# Entries screened between two turns of the event loop (about a millisecond of work):
# screening a whole consumer batch in one go held up all network I/O for a quarter of a
# second. The producer's requests and the next fetch go out at these turns, so fewer
# turns cost throughput: every 256 entries was 16% slower (make bench's pipeline timing,
# four alternating pairs), every 24 the same as 64.
_YIELD_EVERY: Final = 64
_PACK_FILE_POLL_SECONDS: Final = 2.0
# last_entry_at only needs day precision (the inactivity sweep counts a year), so an IOR's
# record is rewritten at most once a day however many entries it files.
_LAST_ENTRY_RESOLUTION: Final = timedelta(days=1)
# Key prefix, in the activity changelog, of the per-partition "counted through" marker.
_MARKER: Final = "\x00through:"


@dataclass
class PendingBatch:
    """A screened batch whose outputs the producer holds until the broker acknowledges."""

    first_offsets: dict[TopicPartition, int]
    offsets: dict[TopicPartition, int]
    acks: asyncio.Future[Any]
    spent: dict[str, float]
    report: Callable[[], None]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Revocation waits for the batch in flight (outputs acknowledged, offsets committed)
    and drops the partitions' state; assignment restores it before any record is read."""

    def __init__(self, loop: ScreeningLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._loop.lock:
            if self._loop.consumer is not None:
                await self._loop.drain(self._loop.consumer)
            self._loop.release_partitions(sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        async with self._loop.lock:
            await self._loop.adopt_partitions(sorted({tp.partition for tp in assigned}))


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
        self.activity = new_activity_counter()
        self.activity_table: ChangelogTable[dict[int, int]] = ChangelogTable(
            settings,
            settings.topics.activity_state,
            lambda raw: {int(day): n for day, n in orjson.loads(raw).items()},
            lambda buckets: orjson.dumps(buckets, option=orjson.OPT_NON_STR_KEYS),
        )
        self.holds = HoldBook(settings, registry)
        reference_data, _ = reference.current()
        self.screener = Screener(
            packs.pack, reference_data, ior_hash_key=settings.ior_hash_key_bytes()
        )
        self.lock = asyncio.Lock()
        self._stopping = False
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._partitions: dict[str, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._in_flight: deque[PendingBatch] = deque()
        # Set once the last batch's record batches are all with the producer (_deliver).
        self._handed_over: asyncio.Future[None] | None = None
        self._owned: set[int] = set()
        self._pending_events: list[AuditEvent] = [self._pack_event()]
        self._changed_iors: set[str] = set()
        self._last_entries: dict[str, datetime] = {}
        # The metrics labels of filing profiles seen, for the brokers they were worked out
        # with (streams.metrics.filing_labels).
        self._labelled_for: object = None
        self._known_profiles: dict[FilingProfile, FilingLabels] = {}
        self._next_pack_poll = 0.0
        self._next_deadline_check = 0.0
        self._next_last_entry_flush = time.monotonic() + settings.last_entry_flush_seconds
        self.batches = 0
        metrics.rule_pack.labels(packs.pack.version).set(1)
        registry.mirror.listeners.append(self._registry_changed)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        t = s.topics
        # The outputs' produce requests are written with one join (streams.produce_request).
        produce_request.install()
        self._producer = AIOKafkaProducer(**producer_options(s, role="screening"))
        await self._producer.start()
        for topic in (
            t.entries_released,
            t.entries_holds,
            t.entries_seizure_review,
            t.screening_audit,
            t.entries_filed_dlq,
            t.holds_state,
            t.activity_state,
            t.ior_registry,
        ):
            self._partitions[topic] = len(await self._producer.partitions_for(topic))
        self._consumer = AIOKafkaConsumer(
            **client_options(s, role="screening"),
            group_id=s.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.batch_size,
            # Enough per partition to fill a batch from a few partitions.
            max_partition_fetch_bytes=max(s.max_message_bytes, 4 * 1_048_576),
            # The broker holds a fetch until data arrives or this much time passes; the
            # default 500 ms added up to half a second of latency to a quiet feed.
            fetch_max_wait_ms=max(s.batch_linger_ms, 10),
            # Partition p of entries.filed and of holds.resolutions to the same worker.
            partition_assignment_strategy=(RangePartitionAssignor,),
            # Heartbeats run in the background; the session timeout bounds both fail-over
            # and (on the embedded broker) the time a group join takes.
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            rebalance_timeout_ms=max(s.session_timeout_ms, 10_000),
            max_poll_interval_ms=300_000,
        )
        await self._consumer.start()
        self._consumer.subscribe([t.entries_filed, t.holds_resolutions], listener=_Rebalance(self))

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        return self._consumer

    async def stop(self) -> None:
        self._stopping = True
        async with self.lock:
            if self._consumer is not None:
                await self.drain(self._consumer)
                await self._consumer.stop()
            if self._producer is not None:
                await self._producer.stop()

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "start() first"
        in_flight = self.settings.batches_in_flight
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
            if not records and not self._in_flight and not self._has_background_work():
                continue
            async with self.lock:
                if self._stopping:
                    return
                try:
                    if records or self._has_background_work():
                        self._in_flight.append(await self.process(consumer, records))
                    # Batches' outputs stay in flight while the next one is screened, so
                    # the CPU is not idle while the broker acknowledges; a quiet feed
                    # completes everything at once.
                    while self._in_flight and (
                        len(self._in_flight) > in_flight
                        or not records
                        or self._in_flight[0].acks.done()
                    ):
                        await self._complete(consumer, self._in_flight.popleft())
                except (KafkaError, OSError, TimeoutError) as error:
                    await self._recover_from(consumer, records, error)

    async def drain(self, consumer: AIOKafkaConsumer) -> None:
        """Complete every batch in flight (called with the lock held: revocation, stop)."""
        try:
            while self._in_flight:
                await self._complete(consumer, self._in_flight.popleft())
        except (KafkaError, OSError, TimeoutError) as error:
            await self._recover_from(consumer, {}, error)

    async def _complete(self, consumer: AIOKafkaConsumer, batch: PendingBatch) -> None:
        """Wait for a batch's acknowledgements, then commit its offsets: at-least-once."""
        waited = time.perf_counter()
        await batch.acks
        acknowledged = time.perf_counter()
        if batch.offsets:
            try:
                await consumer.commit(batch.offsets)
            except CommitFailedError:
                # The group rebalanced while this batch was in flight: its outputs are
                # acknowledged, and the partition's next owner will replay it (same ids).
                log.warning("commit refused after a rebalance; the batch will be replayed")
        batch.spent["produce"] = acknowledged - waited
        batch.spent["commit"] = time.perf_counter() - acknowledged
        batch.report()

    async def _recover_from(
        self,
        consumer: AIOKafkaConsumer,
        records: dict[TopicPartition, list[Any]],
        error: BaseException,
    ) -> None:
        """A produce or commit failed: go back to the first record not yet committed, and
        reload the partitions' state from the changelogs (which hold exactly what the
        broker acknowledged), then try again."""
        self.metrics.batch_failures.inc()
        first: dict[TopicPartition, int] = {}
        for batch in self._in_flight:
            for tp, offset in batch.first_offsets.items():
                first[tp] = min(offset, first.get(tp, offset))
        for tp, messages in records.items():
            first[tp] = min(messages[0].offset, first.get(tp, messages[0].offset))
        for batch in self._in_flight:
            if not batch.acks.done():
                batch.acks.cancel()
            elif not batch.acks.cancelled():
                batch.acks.exception()  # seen: it is retried with the rest, not logged apart
        self._in_flight.clear()
        self._handed_over = None  # a new chain of deliveries starts after the rewind
        log.error(
            "batch failed; rewinding to retry it",
            extra={"error": repr(error), "partitions": len(first)},
        )
        assigned = consumer.assignment()
        for tp, offset in first.items():
            self._positions[tp] = offset
            if tp in assigned:
                with contextlib.suppress(IllegalStateError):
                    consumer.seek(tp, offset)
        owned = sorted(self._owned)
        self.release_partitions(owned)
        await asyncio.sleep(_RETRY_BACKOFF_SECONDS)
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await self.adopt_partitions(owned)

    def _has_background_work(self) -> bool:
        now = time.monotonic()
        return bool(
            self._pending_events
            or self._changed_iors
            or (self.holds and now >= self._next_deadline_check)
            or (self._last_entries and now >= self._next_last_entry_flush)
        )

    # --- partition ownership --------------------------------------------------------------

    async def adopt_partitions(self, partitions: list[int]) -> None:
        new = [p for p in partitions if p not in self._owned]
        await self.activity_table.restore(new)
        for partition, ior_number, buckets in self.activity_table.items():
            if partition in new and not ior_number.startswith(_MARKER):
                self.activity.load(ior_number, buckets)
        for partition in new:
            await self._uncount_uncommitted(partition)
        # Registry changes may have happened while nobody owned these holds.
        self._changed_iors.update(await self.holds.restore(new))
        self._owned = set(partitions)
        self.metrics.assigned_partitions.set(len(partitions))
        self.metrics.open_holds.set(len(self.holds))
        log.info(
            "partitions assigned", extra={"partitions": partitions, "open_holds": len(self.holds)}
        )

    async def _uncount_uncommitted(self, partition: int) -> None:
        """Make a replay count exactly as the first pass did.

        The activity changelog is written with a batch's outputs, before its offsets are
        committed, and notes how far it has counted (the marker). If that is past the
        group's committed offset, the records in between will be screened again: their
        counts are taken back now, so the replay adds them again in the same order and
        STRAW-IOR sees the same numbers, giving the same decisions under the same ids."""
        marker = self.activity_table.get(f"{_MARKER}{partition}")
        if not marker or self._consumer is None:
            return
        through = marker[-1]
        tp = TopicPartition(self.settings.topics.entries_filed, partition)
        committed = await self._consumer.committed(tp) or 0
        if through <= committed:
            return
        replay = reader(self.settings, "activity-replay")
        await replay.start()
        taken_back = 0
        try:
            replay.assign([tp])
            replay.seek(tp, committed)
            while await replay.position(tp) < through:
                for records in (await replay.getmany(tp, timeout_ms=200)).values():
                    for record in records:
                        if record.offset >= through or record.value is None:
                            continue
                        try:
                            entry = codec.decode(
                                EntryFiling, record.value, max_bytes=self.settings.max_message_bytes
                            )
                        except codec.InputRejected:
                            continue  # never counted: it went to the DLQ
                        self.activity.remove(entry.ior_number, entry.filed_at)
                        taken_back += 1
        finally:
            await replay.stop()
        log.info(
            "activity counts taken back for a replay",
            extra={"partition": partition, "from": committed, "to": through, "entries": taken_back},
        )

    def release_partitions(self, partitions: list[int]) -> None:
        for partition in partitions:
            for ior_number in self.activity_table.partitions.get(partition, {}):
                if not ior_number.startswith(_MARKER):
                    self.activity.forget(ior_number)
        self.activity_table.drop(partitions)
        self.holds.drop(partitions)
        for partition in partitions:
            # The next owner reports this partition's lag now; a stale value here would
            # add to it on the dashboard.
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(str(partition))
        self._owned.difference_update(partitions)
        self.metrics.assigned_partitions.set(len(self._owned))

    def _registry_changed(self, changes: list[tuple[bytes, bytes | None]]) -> None:
        """Called by the registry mirror for every change after it has recovered."""
        if not self.registry.mirror.recovered.is_set():
            return
        by_ior = self.holds.by_ior
        for key, _ in changes:
            ior_number = key.decode()
            if ior_number in by_ior:
                self._changed_iors.add(ior_number)

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
    ) -> PendingBatch:
        """Screen one consumer batch and hand every output to the producer; the returned
        batch completes (acknowledged, then committed) in :meth:`_complete`."""
        s = self.settings
        self._refresh_screener()
        screener = self.screener
        registry = self.registry
        activity = self.activity
        holds = self.holds
        held_entries = holds.table.keys()  # entries with an open hold
        assert self._producer is not None, "start() first"
        out = OutputBatch(self._producer, self._partitions)
        emitter = Emitter(out, s, datetime.now(UTC))
        clock = time.perf_counter
        spent = dict.fromkeys(("screen", "emit", "lifecycle"), 0.0)
        arrivals: list[int] = []
        touched: dict[str, int] = {}  # IOR -> partition, for the activity changelog
        last_entries = self._last_entries
        max_bytes = s.max_message_bytes
        entries_topic = s.topics.entries_filed
        lookup = registry.lookup
        now = emitter.now
        sink = out.sink
        screened_topics = emitter.screened_topics

        for event in self._pending_events:
            emitter.audit(event, 0)
        # The common case runs in the native core a run of messages at a time (screened,
        # counted, holds opened: native/src/run.rs); the messages it leaves to this loop
        # (no value, not surely valid, an entry with an open hold) and, without the native
        # core, every message go through screen_one.
        run = screener.batch_run(
            lookup=lookup,
            screened_at=now,
            activity=activity,
            into=sink,
            topics=screened_topics,
            hold_topic=holds.table.topic,
            holds=holds.containers(),
            digest=registry.digest,
            hold_class=OpenHold,
            max_bytes=max_bytes,
            touched=touched,
            last_entries=last_entries,
            profiles=emitter.profiles,
            arrivals=arrivals,
        )

        if run is not None and s.decode_ahead:
            # Decoding and validating the messages needs no Python, nor what a decision
            # takes from its filing alone: a second thread does it for the whole batch
            # while this one screens (native/src/ahead.rs).
            screener.decode_ahead(
                run, [m for tp, m in records.items() if tp.topic == entries_topic]
            )

        def screen_one(tp: TopicPartition, message: Any) -> None:
            partition = tp.partition
            t0 = clock()
            try:
                if message.value is None:
                    raise codec.InputRejected(
                        "malformed", (FieldError("(message)", "the record has no value"),)
                    )
                # Decode, validate, look the IOR up, count the entry, screen it, and
                # write the decision and its audit event into the batch: one call, in
                # the native core when it is installed (Screener.screen_message).
                decision, _, _, ior_number, ior, filed_at, bond_type = screener.screen_message(
                    message.value,
                    lookup,
                    screened_at=now,
                    activity=activity,
                    max_bytes=max_bytes,
                    into=sink,
                    partition=partition,
                    topics=screened_topics,
                )
            except codec.InputRejected as rejected:
                emitter.dead_letter(
                    rejected, tp.topic, partition, message.offset, message.key, message.value
                )
                return
            t1 = clock()
            touched[ior_number] = partition
            seen = last_entries.get(ior_number)
            if seen is None or filed_at > seen:
                last_entries[ior_number] = filed_at
            emitter.count_screened(decision)
            if decision.entry_number in held_entries:  # amended, refiled or replayed
                holds.record(emitter, partition, decision, ior_number, message.value)
            elif decision.outcome != "release":
                holds.open_at_filing(out, partition, decision, ior_number, message.value)
            emitter.profiles[
                (
                    decision.ior_classification,
                    decision.outcome,
                    decision.entry_type,
                    bond_type,
                    ior is not None and ior.ctpat_tier > 0,
                    decision.broker_filer_code,
                    decision.failed_prongs,
                )
            ] += 1
            spent["screen"] += t1 - t0
            spent["emit"] += clock() - t1
            arrivals.append(message.timestamp)

        consumed = 0
        for tp, messages in records.items():
            partition = tp.partition
            if tp.topic != entries_topic:
                self._apply_resolutions(emitter, tp, messages)
                continue
            count = len(messages)
            consumed += count
            for chunk in range(0, count, _YIELD_EVERY):
                if chunk:
                    # Let the event loop run: the producer's socket takes the previous
                    # batch's requests and its acknowledgements come in, the consumer's
                    # next fetch arrives, heartbeats go out.
                    await asyncio.sleep(0)
                index, stop = chunk, min(chunk + _YIELD_EVERY, count)
                while index < stop:
                    if run is not None:
                        t0 = clock()
                        index = screener.screen_run(run, messages, index, stop, partition)
                        spent["screen"] += clock() - t0
                        if index == stop:
                            break
                    screen_one(tp, messages[index])
                    index += 1
        if run is not None:
            screened, outcomes, hits = run.take_counts()
            if screened:
                emitter.events["EntryScreened"] += screened
                emitter.outcomes.update(outcomes)
                emitter.rule_hits.update(hits)

        t_lifecycle = clock()
        if run is not None:
            # The native counter writes the touched IORs' activity records and puts their
            # buckets into the table (what the loop below does), without a Python call each.
            cast(Any, activity).put_changelog(
                touched, sink, self.activity_table.topic, *self.activity_table.containers()
            )
        else:
            for ior_number, partition in touched.items():
                self.activity_table.put(out, partition, ior_number, activity.buckets(ior_number))
        for tp, messages in records.items():
            if tp.topic == entries_topic:
                self.activity_table.put(
                    out, tp.partition, f"{_MARKER}{tp.partition}", {-1: messages[-1].offset + 1}
                )
        self._background_work(emitter)
        spent["lifecycle"] = clock() - t_lifecycle

        acks = self._deliver(out)
        self._pending_events = []
        return PendingBatch(
            first_offsets={tp: m[0].offset for tp, m in records.items()},
            offsets={tp: m[-1].offset + 1 for tp, m in records.items()},
            acks=acks,
            spent=spent,
            report=lambda: self._report(
                records, emitter, spent, arrivals, consumed, screener.pack.version
            ),
        )

    def _deliver(self, out: OutputBatch) -> asyncio.Task[None]:
        """Hand a screened batch's outputs to the producer and wait for the broker's
        acknowledgements, in the background: the returned task ends when every record is
        acknowledged (or fails with the first error).

        aiokafka's producer keeps one request in flight per broker, and ``send_batch``
        waits while the partition's previous batch is still queued; awaited here, that
        wait stopped the screening of the next batch for as long as the broker took to
        acknowledge the previous one. Handed over in the background, batch after batch
        (each waits until the one before is handed over, so a partition's records keep
        their order), the loop screens the next batch meanwhile."""
        previous = self._handed_over
        handed_over: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Nobody may wait on the last one: its outcome reaches the loop through the task.
        handed_over.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._handed_over = handed_over

        async def deliver() -> None:
            try:
                if previous is not None:
                    await asyncio.wait((previous,))
                    if previous.cancelled() or previous.exception() is not None:
                        # Its own task reports why; this batch is retried with it.
                        raise KafkaError("the batch before this one was not handed over")
                acknowledged = await out.submit()
            except asyncio.CancelledError:
                handed_over.cancel()
                raise
            except BaseException as error:
                handed_over.set_exception(error)
                raise
            handed_over.set_result(None)
            await acknowledged

        return asyncio.ensure_future(deliver())

    def _report(
        self,
        records: dict[TopicPartition, list[Any]],
        emitter: Emitter,
        spent: dict[str, float],
        arrivals: list[int],
        consumed: int,
        version: str,
    ) -> None:
        """Metrics and the batch's log line, once the batch is acknowledged."""
        metrics = self.metrics
        now_ms = time.time() * 1000
        metrics.end_to_end_latency.observe_counted(
            (max(now_ms - arrived_ms, 0) / 1000, times)
            for arrived_ms, times in Counter(arrivals).items()
        )
        metrics.entries_consumed.inc(consumed)
        for outcome, count in emitter.outcomes.items():
            metrics.decisions.labels(outcome, version).inc(count)
        for rule_id, count in emitter.rule_hits.items():
            metrics.rule_hits.labels(rule_id).inc(count)
        for reason, count in emitter.dead.items():
            metrics.dlq_messages.labels(reason).inc(count)
        for stage, seconds in spent.items():
            metrics.stage_duration.labels(stage).observe(seconds)
        self._report_profiles(emitter.profiles)
        for action, count in emitter.resolutions.items():
            metrics.hold_resolutions.labels(action).inc(count)
        metrics.batch_size.observe(consumed)
        metrics.open_holds.set(len(self.holds))
        self.batches += 1
        if consumed or emitter.events:
            log.info(
                "batch",
                extra={
                    "records": consumed,
                    "decisions": sum(emitter.outcomes.values()),
                    "dead_letters": sum(emitter.dead.values()),
                    "outcomes": dict(emitter.outcomes),
                    "events": dict(emitter.events),
                    "open_holds": len(self.holds),
                    "partitions": {
                        f"{tp.topic}:{tp.partition}": [m[0].offset, m[-1].offset]
                        for tp, m in records.items()
                    },
                    "ms": {k: round(v * 1000, 2) for k, v in spent.items()},
                    # when its screening began (it is logged once committed, batches later)
                    "started": emitter.now.isoformat(timespec="milliseconds"),
                },
            )

    def _report_profiles(self, profiles: Counter[FilingProfile]) -> None:
        """The foreign-IOR view's metrics from a batch's decisions at filing."""
        metrics = self.metrics
        brokers = self.screener.reference.brokers
        if brokers is not self._labelled_for:  # new reference data: labels anew
            self._labelled_for, self._known_profiles = brokers, {}
        by_label, prongs = filing_labels(profiles, brokers, self._known_profiles)
        for (classification, outcome, category, bond, ctpat), count in by_label.items():
            metrics.decisions_by_classification.labels(classification, outcome).inc(count)
            metrics.decisions_by_entry_category.labels(classification, category).inc(count)
            metrics.decisions_by_bond_type.labels(classification, bond).inc(count)
            metrics.decisions_by_ctpat_path.labels(classification, ctpat).inc(count)
        for prong, count in prongs.items():
            metrics.foreign_failed_prongs.labels(prong).inc(count)

    def _apply_resolutions(self, emitter: Emitter, tp: TopicPartition, messages: list[Any]) -> None:
        for message in messages:
            try:
                if message.value is None:
                    raise codec.InputRejected(
                        "malformed", (FieldError("(message)", "the record has no value"),)
                    )
                resolution = codec.decode(HoldResolution, message.value)
                self.holds.resolve(emitter, tp.partition, resolution, self.screener, self.activity)
            except codec.InputRejected as rejected:
                emitter.dead_letter(
                    rejected, tp.topic, tp.partition, message.offset, message.key, message.value
                )
            except ResolutionRefused as refused:
                emitter.dead_letter(
                    refused.rejected(),
                    tp.topic,
                    tp.partition,
                    message.offset,
                    message.key,
                    message.value,
                )

    def _background_work(self, emitter: Emitter) -> None:
        """Registry changes, hold deadlines and last-entry dates: due work, once per batch."""
        if self._changed_iors:
            changed, self._changed_iors = self._changed_iors, set()
            for ior_number in changed:
                self.holds.registry_changed(emitter, ior_number, self.screener, self.activity)
        now = time.monotonic()
        if now >= self._next_deadline_check:
            self._next_deadline_check = now + self.settings.hold_deadline_check_seconds
            self.holds.escalate_due(
                emitter, self.screener, self.activity, self.settings.hold_max_age_hours
            )
            oldest = min((hold.held_at for hold in self.holds), default=None)
            self.metrics.oldest_open_hold_age.set(
                0 if oldest is None else max((emitter.now - oldest).total_seconds(), 0)
            )
        if now >= self._next_last_entry_flush:
            self._next_last_entry_flush = now + self.settings.last_entry_flush_seconds
            self._flush_last_entries(emitter.out)

    def _flush_last_entries(self, out: OutputBatch) -> None:
        """Write the IORs' newest entry dates back to the registry (day precision).

        Keyed and partitioned as the loaders do (the Java client's murmur2 of the IOR
        number), so the record replaces the IOR's existing one on the compacted topic."""
        topic = self.settings.topics.ior_registry
        partitions = self._partitions[topic]
        for ior_number, seen in self._last_entries.items():
            record = self.registry.get(ior_number)
            if record is None:
                continue
            previous = record.last_entry_at
            if previous is not None and seen - previous < _LAST_ENTRY_RESOLUTION:
                continue
            updated: IorRecord = record.model_copy(update={"last_entry_at": seen})
            key = ior_number.encode()
            out.add(topic, (murmur2(key) & 0x7FFFFFFF) % partitions, key, codec.encode(updated))
        self._last_entries = {}

    def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Lag per partition from the consumer's own view: the high-water mark its last
        fetch saw, minus the next offset this worker will process."""
        entries_topic = self.settings.topics.entries_filed
        for tp in consumer.assignment():
            if tp.topic != entries_topic:
                continue
            highwater = consumer.highwater(tp)
            position = self._positions.get(tp)
            if highwater is None or position is None:
                continue
            self.metrics.consumer_lag.labels(str(tp.partition)).set(max(highwater - position, 0))

"""Reading assigned partitions up to where they ended when the read began.

Used wherever a topic is read back (mirrors recovering, changelogs restored, the holds
queue listed, reports and backtests replaying): "caught up" means the position has reached
the end offset the broker gave at the start. The embedded broker answers ListOffsets with
the last record batch's base offset + 1 rather than the end, so the target is the larger
of that answer and the high-water mark the first fetch response reports for the partition
(which both brokers give right). Records past the target are left for the next reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka import client_options
from streams.settings import Settings


def reader(settings: Settings, role: str) -> AIOKafkaConsumer:
    """A consumer outside any group, for reading topics back (call ``start()``)."""
    return AIOKafkaConsumer(
        **client_options(settings, role=role),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # A read-back wants what is there now, not to wait for more.
        fetch_max_wait_ms=50,
    )


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of ``topic`` (empty if it does not exist).

    ``consumer.topics()`` fetches the cluster's metadata into a copy and leaves the
    consumer's own empty for topics it has not subscribed to or been assigned; the embedded
    broker happens to answer the first request with every topic, Apache Kafka does not. So
    this asks the client for the full metadata and reads the topic from it.
    """
    known = consumer.partitions_for_topic(topic)
    if not known:
        cluster = await consumer._client.fetch_all_metadata()
        known = cluster.partitions_for_topic(topic)
    return sorted(known or ())


class ReplayStalled(RuntimeError):
    """The broker sent nothing for too long before the end was reached."""


async def read_to_end(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    on_records: Callable[[TopicPartition, list[Any]], None],
    *,
    stall_seconds: float = 30.0,
    max_records: int = 50_000,
) -> dict[TopicPartition, int]:
    """Pass every record of the assigned ``tps``, from their current positions up to their
    end, to ``on_records`` (one call per partition per fetch); returns the targets.

    ``stall_seconds`` bounds a read the broker stops answering; a broker that answers at all
    delivers far more often than that, even on a loaded 2-core machine.
    """
    ends = await consumer.end_offsets(tps)
    targets: dict[TopicPartition, int] = {}
    pending = set(tps)
    last_progress = time.monotonic()
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=200, max_records=max_records)
        for tp in pending:
            if tp not in targets and consumer.highwater(tp) is not None:
                targets[tp] = max(ends[tp], consumer.highwater(tp))
        for tp, records in batch.items():
            target = targets.get(tp, ends[tp])
            kept = [r for r in records if r.offset < target]
            if kept:
                on_records(tp, kept)
            last_progress = time.monotonic()
        for tp in list(pending):
            if tp in targets and await consumer.position(tp) >= targets[tp]:
                pending.discard(tp)
        if pending and time.monotonic() - last_progress > stall_seconds:
            raise ReplayStalled(
                f"no record for {stall_seconds:.0f} s before the end of "
                f"{sorted(f'{tp.topic}:{tp.partition}' for tp in pending)}"
            )
    return targets

"""``entry-screening holds list`` and ``holds resolve``: the hold queue from a terminal.

The open holds are read from their compacted changelog topic (the workers' own record of
them); a resolution is validated here, as the worker will validate it again, and produced
to ``holds.resolutions`` keyed by the held entry's IOR number, which is how it reaches the
worker that keeps that hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from schemas import codec
from schemas.lifecycle import HoldResolution
from streams.holds import OpenHold
from streams.kafka import producer_options
from streams.replay import partitions_of, read_to_end, reader
from streams.settings import Settings


async def read_open_holds(settings: Settings, seconds: float = 30.0) -> dict[str, OpenHold]:
    """Every open hold, as of the changelog's end when called."""
    topic = settings.topics.holds_state
    consumer = reader(settings, "holds-admin")
    await consumer.start()
    holds: dict[str, OpenHold] = {}
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        if not tps:
            raise RuntimeError(
                f"topic {topic!r} does not exist: run `entry-screening topics create`"
            )
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)

        def apply(tp: TopicPartition, records: list[Any]) -> None:
            for record in records:
                key = record.key.decode()
                if record.value is None:
                    holds.pop(key, None)
                else:
                    holds[key] = OpenHold.from_wire(record.value)

        await read_to_end(consumer, tps, apply, stall_seconds=seconds)
    finally:
        await consumer.stop()
    return holds


async def send_resolution(settings: Settings, resolution: HoldResolution) -> None:
    producer = AIOKafkaProducer(**producer_options(settings, role="holds-admin"))
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topics.holds_resolutions,
            key=resolution.ior_number.encode(),
            value=codec.encode(resolution),
        )
    finally:
        await producer.stop()


def hold_rows(holds: dict[str, OpenHold], now: datetime) -> list[dict[str, object]]:
    from schemas.formats import mask_ior_number

    return [
        {
            "entry_number": hold.entry_number,
            "ior_number": mask_ior_number(hold.ior_number),
            "outcome": hold.outcome,
            "rule_ids": list(hold.rule_ids),
            "held_at": hold.held_at.isoformat(),
            "age_hours": round((now - hold.held_at).total_seconds() / 3600, 1),
            "escalated": hold.escalated,
            "decision_id": hold.decision_id,
        }
        for hold in sorted(holds.values(), key=lambda h: h.held_at)
    ]

"""``entry-screening topics create``: make every topic the pipeline uses, idempotently."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka import client_options
from streams.settings import Settings
from streams.topics import TopicSpec, topic_specs


@dataclass(frozen=True)
class TopicOutcome:
    spec: TopicSpec
    created: bool
    note: str = ""


async def create_topics(settings: Settings) -> list[TopicOutcome]:
    """Create the missing topics; report those that exist (with their partition count)."""
    admin = AIOKafkaAdminClient(**client_options(settings, role="admin"))
    await admin.start()
    try:
        specs = topic_specs(settings)
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # Created by someone else in the meantime: that is the goal anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            s.name,
                            s.partitions,
                            settings.replication_factor,
                            topic_configs=dict(s.config),
                        )
                        for s in missing
                    ]
                )
        outcomes = []
        described = await admin.describe_topics([s.name for s in specs if s.name in existing])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        for spec in specs:
            if spec in missing:
                outcomes.append(TopicOutcome(spec, created=True))
                continue
            have = partitions.get(spec.name)
            note = (
                ""
                if have in (None, spec.partitions)
                else (f"has {have} partitions, settings say {spec.partitions}")
            )
            outcomes.append(TopicOutcome(spec, created=False, note=note))
        return outcomes
    finally:
        await admin.close()

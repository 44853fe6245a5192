"""The topics: names from settings, partitions, and which are compacted.

``entries.filed`` and ``ior.registry`` are keyed by IOR number and have the same partition
count, so an IOR's entries and its registry record share a partition number. Output topics
have the same count too: each decision goes to the partition number its entry came from,
which keeps an IOR's decisions in order and costs no hashing on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings

_COMPACTED = {"cleanup.policy": "compact"}
# The audit stream is never dropped by the broker: retention is unlimited.
_KEPT_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]
    role: str

    @property
    def compacted(self) -> bool:
        return self.config.get("cleanup.policy") == "compact"


def topic_specs(settings: Settings) -> list[TopicSpec]:
    names = settings.topics
    n = settings.partitions
    return [
        TopicSpec(names.entries_filed, n, {}, "input: entry filings keyed by IOR number"),
        TopicSpec(names.ior_registry, n, _COMPACTED, "IOR registry, keyed by IOR number"),
        TopicSpec(names.reference_brokers, 1, _COMPACTED, "customs brokers by filer code"),
        TopicSpec(names.reference_watchlist, 1, _COMPACTED, "entity-list entries by id"),
        TopicSpec(names.reference_rulepacks, 1, _COMPACTED, "the active rule pack (key 'active')"),
        TopicSpec(names.entries_released, n, {}, "decisions: release"),
        TopicSpec(names.entries_holds, n, {}, "decisions: hold"),
        TopicSpec(names.entries_seizure_review, n, {}, "decisions: seizure review"),
        TopicSpec(names.screening_audit, n, _KEPT_FOREVER, "audit events"),
        TopicSpec(names.ior_vetting_alerts, n, {}, "continuous vetting alerts"),
        TopicSpec(names.holds_resolutions, n, {}, "hold resolutions, keyed by IOR number"),
        TopicSpec(names.entries_filed_dlq, n, {}, "refused inputs, original bytes"),
        TopicSpec(names.penalty_cases, n, {}, "penalty cases, keyed by case id"),
        TopicSpec(names.penalty_assessments, n, {}, "penalty assessments with their floors"),
        TopicSpec(names.holds_state, n, _COMPACTED, "open holds (the workers' own state)"),
        TopicSpec(names.activity_state, n, _COMPACTED, "per-IOR 30-day entry counts (state)"),
    ]


def decision_topic(settings: Settings, outcome: str) -> str:
    names = settings.topics
    return {
        "release": names.entries_released,
        "hold": names.entries_holds,
        "seizure_review": names.entries_seizure_review,
    }[outcome]

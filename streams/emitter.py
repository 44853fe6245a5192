"""What one batch produces, and the counts its metrics and log line report.

Every output of the screening loop goes through an :class:`Emitter`: decisions (to the
topic of their outcome) with their audit events, other audit events, vetting alerts and
dead letters. They all land in one :class:`~streams.output.OutputBatch`, acknowledged
together before the batch's offsets are committed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson

from schemas import codec
from schemas.audit import DEAD_LETTER_HEADERS, AuditEvent
from schemas.decision import OUTCOMES, ScreeningDecision
from screening.engine import screened_event_bytes
from streams.metrics import FilingProfile
from streams.output import Headers, OutputBatch
from streams.settings import Settings
from streams.topics import decision_topic


def dead_letter_headers(
    rejected: codec.InputRejected, topic: str, partition: int, offset: int, at: datetime
) -> Headers:
    """Why a record was refused and where it came from; the record's value stays as it was."""
    values = (
        rejected.error_class.encode(),
        rejected.message.encode()[:2_000],
        orjson.dumps([e.field for e in rejected.errors]),
        topic.encode(),
        str(partition).encode(),
        str(offset).encode(),
        at.isoformat().encode(),
    )
    return list(zip(DEAD_LETTER_HEADERS, values, strict=True))


class Emitter:
    def __init__(self, out: OutputBatch, settings: Settings, now: datetime) -> None:
        self.out = out
        self.now = now
        self._audit_topic = settings.topics.screening_audit
        self._dlq_topic = settings.topics.entries_filed_dlq
        self._decision_topics = {o: decision_topic(settings, o) for o in OUTCOMES}
        self.outcomes: Counter[str] = Counter()
        self.rule_hits: Counter[str] = Counter()
        self.dead: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.resolutions: Counter[str] = Counter()
        # Decisions at filing by what the foreign-IOR view's metrics break them down by,
        # counted raw per entry and turned into labels once per batch (streams.metrics).
        self.profiles: Counter[FilingProfile] = Counter()

    def decision(
        self, decision: ScreeningDecision, partition: int, event: AuditEvent | None = None
    ) -> None:
        key = decision.entry_number.encode()
        out = self.out
        out.add(self._decision_topics[decision.outcome], partition, key, codec.encode(decision))
        if event is None:
            out.add(self._audit_topic, partition, key, screened_event_bytes(decision))
            self.events["EntryScreened" if decision.trigger == "filed" else "EntryRescreened"] += 1
        else:
            self.audit(event, partition, key)
        self.outcomes[decision.outcome] += 1
        for hit in decision.hits:
            self.rule_hits[hit.rule_id] += 1

    @property
    def screened_topics(self) -> tuple[str, str, str, str]:
        """Where ``Screener.screen_message(into=...)`` writes a decision at filing: the
        topics of the three outcomes, then the audit topic."""
        topics = self._decision_topics
        return (topics["release"], topics["hold"], topics["seizure_review"], self._audit_topic)

    def count_screened(self, decision: ScreeningDecision) -> None:
        """A decision at filing whose outputs are already in the batch."""
        self.events["EntryScreened"] += 1
        self.outcomes[decision.outcome] += 1
        for hit in decision.hits:
            self.rule_hits[hit.rule_id] += 1

    def audit(self, event: AuditEvent, partition: int, key: bytes | None = None) -> None:
        self.out.add(
            self._audit_topic, partition, key or event.subject.encode(), codec.encode(event)
        )
        self.events[event.event_type] += 1

    def dead_letter(
        self,
        rejected: codec.InputRejected,
        source_topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
    ) -> None:
        self.dead[rejected.error_class] += 1
        self.out.add(
            self._dlq_topic,
            partition,
            key,
            value,
            dead_letter_headers(rejected, source_topic, partition, offset, self.now),
        )

"""AuditEvent (topic ``screening.audit``) and DeadLetter (DLQ headers, batch error lines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from pydantic import with_config

from schemas.decision import OUTPUT_CONFIG, Outcome

# What each event type's ``details`` carry (keys are a contract of their own):
#   EntryScreened / EntryRescreened: ior_classification, risk_tier, trigger
#   HoldResolved: resolution ("cured" | "released_by_officer" | "seizure_confirmed" |
#                 "refiled_formal"), cure
#   HoldEscalated: age_hours
#   PenaltyAssessed: culpability, assessed_usd, floor_usd, max_penalty_usd, repeat_offender,
#                    national_security
#   ConfidentialityExpiring / ConfidentialityExpired: expires_at
#   IorDeactivated: last_entry_at
AuditEventType = Literal[
    "EntryScreened",
    "EntryRescreened",
    "IorRegistered",
    "IorUpdated",
    "IorRemoved",
    "IorVetted",
    "IorDeactivated",
    "HoldResolved",
    "HoldEscalated",
    "RulePackActivated",
    "PenaltyAssessed",
    "ConfidentialityExpiring",
    "ConfidentialityExpired",
]
DetailValue = str | int | float | bool | None


@with_config(OUTPUT_CONFIG)
@dataclass
class AuditEvent:
    """A fact worth keeping for an auditor: every decision, registry change and resolution.

    ``event_id`` is deterministic, so a replay after a crash repeats ids rather than
    inventing new events. IOR numbers in SSN form are masked here, as everywhere.
    """

    event_id: str
    event_type: AuditEventType
    subject: str
    occurred_at: datetime
    ior_number: str | None = None
    decision_id: str | None = None
    outcome: Outcome | None = None
    rule_ids: tuple[str, ...] = ()
    rule_pack_version: str | None = None
    details: dict[str, DetailValue] = field(default_factory=dict)


ErrorClass = Literal["malformed", "invalid", "oversized"]

# The headers of every record on the dead-letter topic, whose value stays the original bytes.
DEAD_LETTER_HEADERS: Final[tuple[str, ...]] = (
    "error.class",  # malformed | invalid | oversized
    "error.message",  # "field: reason; ..."
    "error.fields",  # JSON list of the fields at fault
    "source.topic",
    "source.partition",
    "source.offset",
    "failed.at",  # RFC 3339
)


@with_config(OUTPUT_CONFIG)
@dataclass
class FieldError:
    field: str
    reason: str


@with_config(OUTPUT_CONFIG)
@dataclass
class DeadLetter:
    """Why an input was refused, and where it came from.

    In the batch ``screen`` command this is the error line written in place of a decision;
    on the stream it travels as headers of the DLQ record, whose value stays the original
    bytes so nothing is lost.
    """

    error_class: ErrorClass
    message: str
    errors: tuple[FieldError, ...]
    source: str
    line: int | None = None
    partition: int | None = None
    offset: int | None = None

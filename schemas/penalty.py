"""Penalty cases and their assessments (topics ``penalty.cases``, ``penalty.assessments``).

A case states the facts of a 19 USC 1592 penalty as assessed; the assessment answers with
the statutory maximum, the order's mitigation floor and the reasoning (E7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import with_config

from schemas.base import Message
from schemas.decision import OUTPUT_CONFIG
from schemas.fields import IorNumber, Money, Time
from schemas.lifecycle import Identifier

CulpabilityName = Literal["fraud", "gross_negligence", "negligence"]


class PenaltyCaseOpened(Message):
    case_id: Identifier
    culpability: CulpabilityName
    loss_of_duty_usd: Money
    domestic_value_usd: Money
    assessed_usd: Money
    opened_at: Time
    dutiable_value_usd: Money | None = None
    repeat_offender: bool = False
    national_security: bool = False
    ior_number: IorNumber | None = None


@with_config(OUTPUT_CONFIG)
@dataclass
class PenaltyAssessed:
    """The maximum, the floor and the room left for mitigation. ``ior_number`` is masked
    when it is an SSN."""

    case_id: str
    ior_number: str | None
    culpability: CulpabilityName
    assessed_usd: float
    max_penalty_usd: float
    max_penalty_basis: str
    floor_usd: float
    floor_share: float
    floor_rule: str
    mitigation_room_usd: float
    repeat_offender: bool
    national_security: bool
    reasoning: tuple[str, ...]
    assessed_at: datetime

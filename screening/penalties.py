"""Penalty ceilings under 19 USC 1592 and the order's mitigation floor (E7).

Pure: figures in, a reasoned result out; no clock, no I/O. For a penalty case it answers two
questions, each with sentences that show the figures:

* the statutory maximum for the violation's culpability (19 USC 1592(c)): fraud, the
  domestic value; gross negligence, the lesser of the domestic value and 4 times the loss
  of duty, or 40% of the dutiable value when no duty was lost; negligence, the lesser of
  the domestic value and 2 times the loss of duty, or 20% of the dutiable value;
* the least amount mitigation may leave (the floor): at least ``floor_share`` of the
  assessed penalty (50% under the order), the whole assessed amount for a repeat offender,
  nothing for a national-security case, which the order excepts.

Choices made where the order and the statute leave room, each deliberate:

* **An assessed penalty above the statutory maximum is an error** (:class:`PenaltyError`),
  not a warning. The statute says the penalty "shall not exceed" the maximum, so such an
  amount cannot lawfully be assessed; a floor derived from it could itself exceed the
  maximum (a repeat offender's floor is the whole amount). The figures it rests on (domestic
  value, loss of duty, culpability) are then more likely wrong than the statute, and a
  person must correct them before any mitigation is computed.
* **The national-security exception wins over the repeat-offender rule.** The order excepts
  national-security cases from its limits on mitigation; whether the exception also covers a
  repeat offender is not published. It is read here as covering both, and the reasoning
  says so whenever a case is both.
* **Money is kept to the cent, rounded to the safe side:** a maximum is rounded down and a
  floor up, never above the assessed amount. Amounts are read as the decimals a person
  typed (``0.35`` is 35 cents, not its binary neighbour), so 20% of $1,000.10 is $200.02.
* **The liquidated-damages floor has no default share:** its basis is not yet published, so
  the caller must state both the share and (optionally) the amount it applies to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final, Literal

from schemas.audit import AuditEvent
from schemas.formats import mask_ior_number

Culpability = Literal["fraud", "gross_negligence", "negligence"]
CULPABILITIES: Final[tuple[Culpability, ...]] = ("fraud", "gross_negligence", "negligence")

# How the maximum was reached; and which rule of the order set the floor.
MaximumBasis = Literal["domestic_value", "loss_of_duty_multiple", "dutiable_value_share"]
FloorRule = Literal["order_floor", "repeat_offender", "national_security"]

# E7: the mitigated amount may not fall below this share of the assessed amount.
ORDER_FLOOR_SHARE: Final = 0.5
# The same bound as the message models' money fields.
MAX_USD: Final = 1e12

_SECTION: Final[dict[Culpability, str]] = {
    "fraud": "19 USC 1592(c)(1)",
    "gross_negligence": "19 USC 1592(c)(2)",
    "negligence": "19 USC 1592(c)(3)",
}
_LABEL: Final[dict[Culpability, str]] = {
    "fraud": "Fraud",
    "gross_negligence": "Gross negligence",
    "negligence": "Negligence",
}
# (multiple of the loss of duty, share of the dutiable value when no duty was lost)
_NON_FRAUD_LIMITS: Final[dict[Culpability, tuple[int, Decimal]]] = {
    "gross_negligence": (4, Decimal("0.4")),
    "negligence": (2, Decimal("0.2")),
}
_CENT: Final = Decimal("0.01")


class PenaltyError(ValueError):
    """A penalty case that cannot be computed; the message names the figure and why."""


@dataclass(frozen=True)
class PenaltyCase:
    """The facts of one 19 USC 1592 case, in US dollars.

    ``dutiable_value_usd`` is needed only when no duty was lost (gross negligence and
    negligence are then capped by a share of it).
    """

    culpability: Culpability
    loss_of_duty_usd: float
    domestic_value_usd: float
    assessed_usd: float
    dutiable_value_usd: float | None = None
    repeat_offender: bool = False
    national_security: bool = False


@dataclass(frozen=True)
class StatutoryMaximum:
    amount_usd: float
    basis: MaximumBasis
    reasoning: tuple[str, ...]


@dataclass(frozen=True)
class MitigationFloor:
    """The least amount mitigation may leave, and the share of the assessed amount it is."""

    floor_usd: float
    share: float
    rule: FloorRule
    reasoning: tuple[str, ...]


@dataclass(frozen=True)
class PenaltyAssessment:
    """A case's maximum, floor and the room left for mitigation, with the reasoning.

    ``mitigation_room_usd`` is the most that mitigation may take off the assessed amount.
    """

    culpability: Culpability
    loss_of_duty_usd: float
    domestic_value_usd: float
    dutiable_value_usd: float | None
    assessed_usd: float
    max_penalty_usd: float
    max_penalty_basis: MaximumBasis
    floor_usd: float
    floor_share: float
    floor_rule: FloorRule
    mitigation_room_usd: float
    repeat_offender: bool
    national_security: bool
    reasoning: tuple[str, ...]


@dataclass(frozen=True)
class LiquidatedDamagesFloor:
    """The least amount a liquidated-damages claim may be mitigated to.

    ``basis_usd`` is what the share applies to: the claimed amount unless the caller names
    another (CBP has not published the basis).
    """

    claimed_usd: float
    basis_usd: float
    share: float
    floor_usd: float
    rule: FloorRule
    reasoning: tuple[str, ...]


# --- figures -------------------------------------------------------------------------------


def _usd(amount: Decimal | float) -> str:
    return f"${amount:,.2f}"


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"


def _money(name: str, value: float) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PenaltyError(f"{name} must be a number of US dollars, not {type(value).__name__}")
    if not math.isfinite(value):
        raise PenaltyError(f"{name} must be a finite amount, not {value}")
    if value < 0:
        raise PenaltyError(f"{name} must not be negative ({_usd(value)} given)")
    if value > MAX_USD:
        raise PenaltyError(f"{name} of {_usd(value)} is over the limit of {_usd(MAX_USD)}")
    # repr is the shortest decimal that reads back as the same float: what was typed.
    return Decimal(repr(float(value)))


def _share(name: str, value: float, low: float, high: float) -> Decimal:
    if not (math.isfinite(value) and low <= value <= high):
        raise PenaltyError(f"{name} must be between {low:g} and {high:g} ({value} given)")
    return Decimal(repr(float(value)))


def _down(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_FLOOR)


def _up(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_CEILING)


def _culpability(value: str) -> Culpability:
    for known in CULPABILITIES:
        if value == known:
            return known
    raise PenaltyError(
        f"culpability {value!r} is not one of {', '.join(CULPABILITIES)} (19 USC 1592(c))"
    )


# --- the statutory maximum -----------------------------------------------------------------


def _maximum(
    culpability: Culpability, loss: Decimal, domestic: Decimal, dutiable: Decimal | None
) -> tuple[Decimal, MaximumBasis, list[str]]:
    section = _SECTION[culpability]
    if culpability == "fraud":
        reasons = [
            f"Fraud: under {section} the maximum penalty is the domestic value of the "
            f"merchandise, {_usd(domestic)}; the loss of duty does not change it."
        ]
        return _down(domestic), "domestic_value", reasons
    multiple, dutiable_share = _NON_FRAUD_LIMITS[culpability]
    label = _LABEL[culpability]
    if loss > 0:
        by_loss = multiple * loss
        basis: MaximumBasis
        if by_loss < domestic:
            amount, basis = by_loss, "loss_of_duty_multiple"
            chosen = f"{multiple} times the loss of duty"
        else:
            amount, basis = domestic, "domestic_value"
            chosen = "the domestic value"
        reasons = [
            f"{label}: under {section}(A) the maximum penalty is the lesser of the domestic "
            f"value ({_usd(domestic)}) and {multiple} times the loss of duty "
            f"({multiple} × {_usd(loss)} = {_usd(by_loss)}); the lesser is {chosen}, "
            f"{_usd(_down(amount))}."
        ]
        if dutiable is not None:
            reasons.append("The dutiable value is not used, because duty was lost.")
        return _down(amount), basis, reasons
    if dutiable is None:
        raise PenaltyError(
            f"no duty was lost, so the maximum for {culpability} under {section}(B) is a "
            "share of the dutiable value: the dutiable value is required"
        )
    amount = dutiable_share * dutiable
    reasons = [
        f"{label}: no duty was lost, so under {section}(B) the maximum penalty is "
        f"{_percent(dutiable_share)} of the dutiable value: {_percent(dutiable_share)} × "
        f"{_usd(dutiable)} = {_usd(_down(amount))}."
    ]
    return _down(amount), "dutiable_value_share", reasons


def statutory_maximum(
    culpability: str,
    *,
    loss_of_duty_usd: float,
    domestic_value_usd: float,
    dutiable_value_usd: float | None = None,
) -> StatutoryMaximum:
    """The most 19 USC 1592(c) allows for a violation of this culpability."""
    known = _culpability(culpability)
    loss = _money("loss of duty", loss_of_duty_usd)
    domestic = _money("domestic value", domestic_value_usd)
    dutiable = None if dutiable_value_usd is None else _money("dutiable value", dutiable_value_usd)
    amount, basis, reasons = _maximum(known, loss, domestic, dutiable)
    return StatutoryMaximum(float(amount), basis, tuple(reasons))


# --- the order's floor ---------------------------------------------------------------------


def _floor(
    assessed: Decimal,
    share: Decimal,
    *,
    what: str,
    source: str,
    basis: Decimal | None = None,
    repeat_offender: bool,
    national_security: bool,
) -> tuple[Decimal, Decimal, FloorRule, list[str]]:
    """(floor, effective share, rule, reasons) for an amount assessed or claimed."""
    if national_security:
        reasons = [
            f"This is a national-security case, which the order excepts from its mitigation "
            f"floor: no floor applies to the {what} ({_usd(0)})."
        ]
        if repeat_offender:
            reasons.append(
                "The repeat-offender rule is not applied either: the national-security "
                "exception is read as covering the order's limits on mitigation as a whole "
                "(a reading, pending CBP's implementing rules)."
            )
        return Decimal(0), Decimal(0), "national_security", reasons
    if repeat_offender:
        reasons = [
            f"The importer is a repeat offender, and the order allows a repeat offender no "
            f"mitigation: the floor is the whole {what}, {_usd(assessed)}."
        ]
        return assessed, Decimal(1), "repeat_offender", reasons
    base = assessed if basis is None else basis
    product = _up(share * base)
    floor = min(product, assessed)
    of_what = f"the {what}" if basis is None else f"the basis of {_usd(base)}"
    reasons = [
        f"Mitigation may go no lower than {_percent(share)} of {of_what} ({source}): "
        f"{_percent(share)} × {_usd(base)} = {_usd(product)}."
    ]
    if product > assessed:
        reasons.append(f"That is more than the {what}, so the floor is the {what} itself.")
    return floor, share, "order_floor", reasons


def _penalty_floor_source(share: Decimal) -> str:
    if share == Decimal(repr(ORDER_FLOOR_SHARE)):
        return "the order's floor, E7"
    return f"the floor share in force; the order, E7, requires at least {_percent(Decimal('0.5'))}"


def mitigation_floor(
    assessed_usd: float,
    *,
    floor_share: float = ORDER_FLOOR_SHARE,
    repeat_offender: bool = False,
    national_security: bool = False,
) -> MitigationFloor:
    """The least amount mitigation may leave of an assessed penalty (E7).

    ``floor_share`` may be raised above the order's 50% by policy, never lowered below it.
    """
    assessed = _money("assessed penalty", assessed_usd)
    share = _share("floor share", floor_share, ORDER_FLOOR_SHARE, 1.0)
    floor, effective, rule, reasons = _floor(
        assessed,
        share,
        what="assessed penalty",
        source=_penalty_floor_source(share),
        repeat_offender=repeat_offender,
        national_security=national_security,
    )
    return MitigationFloor(float(floor), float(effective), rule, tuple(reasons))


def assess_penalty(
    case: PenaltyCase, *, floor_share: float = ORDER_FLOOR_SHARE
) -> PenaltyAssessment:
    """The statutory maximum, the order's floor and the reasoning for one penalty case.

    Raises :class:`PenaltyError` for a figure that is negative, not finite or missing, an
    unknown culpability, or an assessed amount above the statutory maximum (see the module
    docstring for why that is an error).
    """
    culpability = _culpability(case.culpability)
    loss = _money("loss of duty", case.loss_of_duty_usd)
    domestic = _money("domestic value", case.domestic_value_usd)
    dutiable = (
        None
        if case.dutiable_value_usd is None
        else _money("dutiable value", case.dutiable_value_usd)
    )
    assessed = _money("assessed penalty", case.assessed_usd)
    share = _share("floor share", floor_share, ORDER_FLOOR_SHARE, 1.0)

    maximum, basis, reasons = _maximum(culpability, loss, domestic, dutiable)
    if assessed > maximum:
        raise PenaltyError(
            f"the assessed penalty of {_usd(assessed)} is above the statutory maximum of "
            f"{_usd(maximum)} for {culpability.replace('_', ' ')} under "
            f"{_SECTION[culpability]}, which it may not exceed: correct the assessed amount "
            "or the figures the maximum rests on (culpability, loss of duty, domestic or "
            "dutiable value)"
        )
    reasons.append(
        f"The assessed penalty of {_usd(assessed)} is within that maximum "
        f"({_usd(maximum - assessed)} below it)."
    )
    floor, effective, rule, floor_reasons = _floor(
        assessed,
        share,
        what="assessed penalty",
        source=_penalty_floor_source(share),
        repeat_offender=case.repeat_offender,
        national_security=case.national_security,
    )
    reasons.extend(floor_reasons)
    room = assessed - floor
    reasons.append(
        f"The mitigated penalty must therefore be at least {_usd(floor)}; mitigation may "
        f"take off at most {_usd(room)} of the {_usd(assessed)} assessed."
    )
    return PenaltyAssessment(
        culpability=culpability,
        loss_of_duty_usd=float(loss),
        domestic_value_usd=float(domestic),
        dutiable_value_usd=None if dutiable is None else float(dutiable),
        assessed_usd=float(assessed),
        max_penalty_usd=float(maximum),
        max_penalty_basis=basis,
        floor_usd=float(floor),
        floor_share=float(effective),
        floor_rule=rule,
        mitigation_room_usd=float(room),
        repeat_offender=case.repeat_offender,
        national_security=case.national_security,
        reasoning=tuple(reasons),
    )


def liquidated_damages_floor(
    claimed_usd: float,
    *,
    share: float,
    basis_usd: float | None = None,
    repeat_offender: bool = False,
    national_security: bool = False,
) -> LiquidatedDamagesFloor:
    """The order's floor for a liquidated-damages claim (E7): ``share`` of ``basis_usd``.

    CBP has not published the basis, so both are the caller's: ``basis_usd`` defaults to
    the claimed amount, and the floor never exceeds the claim. Repeat offenders and the
    national-security exception are treated as for penalties.
    """
    claimed = _money("liquidated-damages claim", claimed_usd)
    basis = None if basis_usd is None else _money("liquidated-damages basis", basis_usd)
    ratio = _share("liquidated-damages floor share", share, 0.0, 1.0)
    floor, effective, rule, reasons = _floor(
        claimed,
        ratio,
        what="liquidated-damages claim",
        source="the liquidated-damages floor share in force",
        basis=basis,
        repeat_offender=repeat_offender,
        national_security=national_security,
    )
    reasons.append(
        "The basis and share of the liquidated-damages floor are parameters: CBP has not "
        "published them."
    )
    return LiquidatedDamagesFloor(
        claimed_usd=float(claimed),
        basis_usd=float(claimed if basis is None else basis),
        share=float(effective),
        floor_usd=float(floor),
        rule=rule,
        reasoning=tuple(reasons),
    )


def penalty_assessed_event(
    assessment: PenaltyAssessment,
    *,
    case_id: str,
    occurred_at: datetime,
    ior_number: str | None = None,
) -> AuditEvent:
    """The ``PenaltyAssessed`` audit record of an assessment (details as in schemas.audit).

    ``event_id`` depends only on the case, so recording the same case twice repeats it.
    """
    return AuditEvent(
        event_id=f"{case_id}-penalty-assessed",
        event_type="PenaltyAssessed",
        subject=case_id,
        occurred_at=occurred_at,
        ior_number=None if ior_number is None else mask_ior_number(ior_number),
        details={
            "culpability": assessment.culpability,
            "assessed_usd": assessment.assessed_usd,
            "floor_usd": assessment.floor_usd,
            "max_penalty_usd": assessment.max_penalty_usd,
            "repeat_offender": assessment.repeat_offender,
            "national_security": assessment.national_security,
        },
    )

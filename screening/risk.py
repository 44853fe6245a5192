"""E4: the IOR's risk tier, 1 (low) to 4 (high), with the reasons for it.

Tier 4 is reserved for adverse history: standing issues, a current or earlier voiding or
suspension, repeated holds or seizures. Being foreign can raise an IOR to tier 3 but never
to tier 4 on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.registry import IorRecord
from screening.classification import Classification
from screening.rulepack import RiskTierPolicy

LOW, STANDARD, ELEVATED, HIGH = 1, 2, 3, 4
_SANCTIONED = frozenset({"voided", "suspended", "debarred"})


@dataclass(frozen=True, slots=True)
class RiskTier:
    tier: int
    reasons: tuple[str, ...]


def adverse_history(ior: IorRecord, policy: RiskTierPolicy) -> list[str]:
    reasons = []
    if ior.good_standing is False:
        reasons.append("not in good standing")
    if ior.standing_issues:
        reasons.append("standing issues: " + "; ".join(ior.standing_issues[:3]))
    if ior.status in _SANCTIONED:
        reasons.append(f"currently {ior.status}")
    if ior.prior_suspensions:
        reasons.append(f"{ior.prior_suspensions} earlier voiding or suspension(s)")
    if ior.holds_12m >= policy.adverse_holds_12m:
        reasons.append(f"{ior.holds_12m} holds in 12 months")
    if ior.seizures_12m >= policy.adverse_seizures_12m:
        reasons.append(f"{ior.seizures_12m} seizure(s) in 12 months")
    return reasons


def risk_tier(ior: IorRecord, classification: Classification, policy: RiskTierPolicy) -> RiskTier:
    adverse = adverse_history(ior, policy)
    if adverse:
        return RiskTier(HIGH, tuple(adverse))
    elevated = []
    if classification.is_foreign:
        elevated.append("foreign IOR")
    disclosures = ior.disclosures
    if disclosures is None or not (
        disclosures.import_volume and disclosures.ownership and disclosures.beneficial_ownership
    ):
        elevated.append("disclosures incomplete")
    if ior.good_standing is None:
        elevated.append("no good-standing determination")
    if ior.holds_12m or ior.seizures_12m:
        elevated.append("holds or seizures in 12 months")
    if elevated:
        return RiskTier(ELEVATED, tuple(elevated))
    if ior.ctpat_tier >= policy.low_tier_min_ctpat:
        return RiskTier(LOW, (f"US IOR, CTPAT tier {ior.ctpat_tier}, no adverse history",))
    return RiskTier(STANDARD, ("US IOR, no adverse history",))

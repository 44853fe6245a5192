"""Continuous vetting (E5): what changed for the worse when an IOR's registry record changed.

A :class:`VettingSnapshot` is the part of an IOR's standing the order cares about, derived
from its record with the rule pack (classification reading, risk tiers, bond sizing) and
the loaded entity lists. Comparing the snapshot before and after a change yields the
findings of a vetting alert. Snapshots are plain data so a table can keep them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.lifecycle import AlertFinding, AlertKind
from schemas.registry import IorRecord
from screening.bonds import continuous_bond_required
from screening.classification import classify
from screening.risk import risk_tier
from screening.rulepack import RulePack
from screening.watchlist import WatchlistIndex

_DISCLOSURES = ("import_volume", "ownership", "beneficial_ownership")


@dataclass(frozen=True)
class VettingSnapshot:
    status: str
    category: str
    failed_prongs: tuple[str, ...]
    risk_tier: int
    good_standing: bool | None
    ctpat_tier: int
    disclosed: tuple[str, ...]
    bond_sufficient: bool
    owner_matches: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VettingSnapshot:
        return cls(
            **{
                **data,
                "failed_prongs": tuple(data["failed_prongs"]),
                "disclosed": tuple(data["disclosed"]),
                "owner_matches": tuple(data["owner_matches"]),
            }
        )


def snapshot(ior: IorRecord, pack: RulePack, watchlist: WatchlistIndex) -> VettingSnapshot:
    classification = classify(ior, pack.classification)
    tier = risk_tier(ior, classification, pack.risk_tiers)
    bond_params = pack.rules.bond_sufficiency.params
    required = continuous_bond_required(
        ior.duties_paid_12m_usd or 0.0,
        bond_params.continuous_floor_usd,
        bond_params.continuous_rate,
    )
    # An IOR without a continuous bond files single-transaction bonds: nothing to size.
    bond_ok = ior.continuous_bond is None or ior.continuous_bond.amount_usd >= required
    disclosed = tuple(
        name for name in _DISCLOSURES if ior.disclosures and getattr(ior.disclosures, name)
    )
    watch = pack.rules.watchlist_match.params
    matches = sorted(
        {
            match.record.id
            for owner in ior.beneficial_owners
            for match in watchlist.match(
                owner.name, owner.country, watch.lists, watch.require_same_country
            )
        }
    )
    return VettingSnapshot(
        status=ior.status,
        category=classification.category,
        failed_prongs=classification.failed_prongs,
        risk_tier=tier.tier,
        good_standing=ior.good_standing,
        ctpat_tier=ior.ctpat_tier,
        disclosed=disclosed,
        bond_sufficient=bond_ok,
        owner_matches=tuple(matches),
    )


def worsened(before: VettingSnapshot | None, after: VettingSnapshot) -> list[AlertFinding]:
    """What got worse from ``before`` to ``after``.

    A newly registered IOR has nothing to get worse from: its standing is the starting
    point (its entries are screened against it anyway). Only an entity-list match on its
    owners, or a registration in a non-active status, is worth an alert at once."""
    if before is None:
        first = []
        if after.status != "active":
            first.append(AlertFinding("status_changed", f"registered as {after.status}"))
        if after.owner_matches:
            first.append(
                AlertFinding(
                    "watchlist_owner_match",
                    "beneficial owner matches " + ", ".join(after.owner_matches),
                )
            )
        return first
    findings = []
    if after.category == "foreign" and before.category != "foreign":
        prongs = ", ".join(after.failed_prongs)
        findings.append(AlertFinding("became_foreign", f"now a foreign IOR (fails {prongs})"))
    if after.good_standing is not True and before.good_standing is True:
        state = "not in good standing" if after.good_standing is False else "standing unknown"
        findings.append(AlertFinding("lost_standing", state))
    if before.ctpat_tier > 0 and after.ctpat_tier == 0:
        findings.append(AlertFinding("lost_ctpat", f"CTPAT tier {before.ctpat_tier} -> none"))
    if not after.bond_sufficient and before.bond_sufficient:
        findings.append(
            AlertFinding("bond_below_formula", "continuous bond below CBP's sizing formula")
        )
    withdrawn = sorted(set(before.disclosed) - set(after.disclosed))
    if withdrawn:
        findings.append(AlertFinding("disclosures_withdrawn", ", ".join(withdrawn)))
    if before.status != after.status:
        findings.append(AlertFinding("status_changed", f"{before.status} -> {after.status}"))
    if after.risk_tier > before.risk_tier:
        findings.append(
            AlertFinding("risk_tier_raised", f"risk tier {before.risk_tier} -> {after.risk_tier}")
        )
    new_matches = sorted(set(after.owner_matches) - set(before.owner_matches))
    if new_matches:
        findings.append(
            AlertFinding(
                "watchlist_owner_match", "beneficial owner matches " + ", ".join(new_matches)
            )
        )
    return findings


def inactive_since(
    last_entry_at: datetime | None, registered_at: datetime, now: datetime, days: int
) -> bool:
    """E4: no entry for ``days`` (an IOR that never filed counts from its registration)."""
    return now - (last_entry_at or registered_at) > timedelta(days=days)


def confidentiality_state(
    expires_at: datetime | None, now: datetime, warning_days: int
) -> AlertKind | None:
    """E9: a manifest-confidentiality certification that has expired, or will within the
    warning period (renewal is due at least 60 days before expiry)."""
    if expires_at is None:
        return None
    if expires_at <= now:
        return "confidentiality_expired"
    if expires_at - now <= timedelta(days=warning_days):
        return "confidentiality_expiring"
    return None

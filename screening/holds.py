"""What a hold resolution does to a held entry, and when a hold has waited too long.

Pure functions over the entry as filed: a cure supplies the missing reference, a formal
refiling changes the entry type and bond; the amended entry is then screened again like
any other. Officers' decisions (release, confirmed seizure) do not re-screen.
"""

from __future__ import annotations

from datetime import datetime

from schemas.decision import RuleHit
from schemas.entry import EntryFiling
from schemas.lifecycle import HoldResolution

HOLD_DEADLINE_RULE = "HOLD-DEADLINE"
HOLD_DEADLINE_CITATION = "EO 2026-06-03 E8 (faster, streamlined seizure of noncompliant entries)"


def amended_entry(entry: EntryFiling, resolution: HoldResolution) -> EntryFiling:
    """The entry as it stands after a cure or a formal refiling."""
    changes: dict[str, object] = {}
    if resolution.export_declaration_ref is not None:
        changes["export_declaration_ref"] = resolution.export_declaration_ref
    if resolution.supply_chain_cert_ref is not None:
        changes["supply_chain_cert_ref"] = resolution.supply_chain_cert_ref
    if resolution.action == "refile_formal":
        changes["entry_type"] = resolution.entry_type
        if resolution.bond is not None:
            changes["bond"] = resolution.bond
    # Re-validate: a refiling must still be a valid entry.
    return EntryFiling.model_validate({**entry.model_dump(), **changes})


def hold_age_hours(held_at: datetime, now: datetime) -> float:
    return (now - held_at).total_seconds() / 3600


def deadline_hit(age_hours: float, limit_hours: float) -> RuleHit:
    """The lifecycle hit that escalates a hold nobody cured in time (not a catalogue rule:
    it depends on how long the entry waited, not on the entry)."""
    return RuleHit(
        HOLD_DEADLINE_RULE,
        "seizure_review",
        f"The entry has been on hold for {age_hours:.0f} hours without a cure, past the "
        f"{limit_hours:.0f}-hour limit. An officer reviews it for seizure.",
        HOLD_DEADLINE_CITATION,
    )

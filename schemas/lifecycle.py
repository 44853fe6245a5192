"""Messages of the registry's and the holds' lifecycle.

* ``HoldResolution`` (topic ``holds.resolutions``): a command, from a review queue or an
  officer, that cures, releases or confirms the seizure of one held entry.
* ``VettingAlert`` (topic ``ior.vetting-alerts``): continuous vetting found that an IOR got
  worse (or now matches an entity list).
* ``HoldRecord``: the worker's own record of an open hold, kept on a compacted changelog
  topic so that a restarted or rebalanced worker picks its holds up again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints, model_validator, with_config

from schemas.base import Message
from schemas.decision import OUTPUT_CONFIG, Outcome
from schemas.entry import Bond
from schemas.fields import EntryNumber, EntryType, IorNumber, Note, Reference, Time

ResolutionAction = Literal["cure", "refile_formal", "officer_release", "confirm_seizure"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class HoldResolution(Message):
    """Resolve one held entry.

    ``cure`` supplies what was missing (the export declaration or supply-chain certification
    reference); ``refile_formal`` turns an informal entry into a formal one (a new entry type
    and, usually, a bond); ``officer_release`` and ``confirm_seizure`` are an officer's
    decisions and need ``officer_id``. Keyed by IOR number on the topic, so it reaches the
    worker that holds the entry.
    """

    resolution_id: Identifier
    entry_number: EntryNumber
    ior_number: IorNumber
    action: ResolutionAction
    resolved_at: Time
    export_declaration_ref: Reference | None = None
    supply_chain_cert_ref: Reference | None = None
    entry_type: EntryType | None = None
    bond: Bond | None = None
    officer_id: Identifier | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _action_has_what_it_needs(self) -> HoldResolution:
        supplied = self.export_declaration_ref or self.supply_chain_cert_ref
        if self.action == "cure" and not supplied:
            raise ValueError(
                "a cure needs export_declaration_ref or supply_chain_cert_ref (what was missing)"
            )
        if self.action == "refile_formal" and self.entry_type is None:
            raise ValueError("refile_formal needs the new entry_type (e.g. 01)")
        if self.action in {"officer_release", "confirm_seizure"} and self.officer_id is None:
            raise ValueError(f"{self.action} is an officer's decision and needs officer_id")
        return self


AlertKind = Literal[
    "became_foreign",
    "lost_standing",
    "lost_ctpat",
    "bond_below_formula",
    "disclosures_withdrawn",
    "status_changed",
    "risk_tier_raised",
    "watchlist_owner_match",
    "removed_from_registry",
    "confidentiality_expiring",
    "confidentiality_expired",
]


@with_config(OUTPUT_CONFIG)
@dataclass
class AlertFinding:
    kind: AlertKind
    detail: str


@with_config(OUTPUT_CONFIG)
@dataclass
class VettingAlert:
    """Something about an IOR got worse. ``alert_id`` is deterministic (IOR and the change
    that caused it), so a replayed change repeats the id and consumers deduplicate."""

    alert_id: str
    ior_number: str
    raised_at: datetime
    findings: tuple[AlertFinding, ...]
    risk_tier_before: int | None
    risk_tier_after: int | None
    classification_after: str | None
    source: str


@with_config(OUTPUT_CONFIG)
@dataclass
class HoldRecord:
    """An open hold as the worker keeps it (compacted topic, keyed by entry number)."""

    entry_number: str
    ior_number: str
    entry: dict[str, object]
    decision_id: str
    outcome: Outcome
    rule_ids: tuple[str, ...]
    held_at: datetime
    updated_at: datetime
    escalated: bool = False
    resolutions: tuple[str, ...] = field(default_factory=tuple)
    # The registry record version (a digest) the hold was last screened against.
    registry_digest: str = ""


__all__ = [
    "AlertFinding",
    "AlertKind",
    "HoldRecord",
    "HoldResolution",
    "Identifier",
    "ResolutionAction",
    "VettingAlert",
]

"""IorRecord: what the IOR registry knows of one importer of record (topic ``ior.registry``).

An absent optional field means *unknown*. The screening core reads unknown as "not shown":
a requirement the registry cannot confirm is a requirement not met.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Message
from schemas.fields import Count, Country, IorNumber, Money, Name, Note, Time

IorStatus = Literal["active", "inactive", "voided", "suspended", "debarred"]
CompanyType = Literal[
    "corporation", "partnership", "llc", "sole_proprietor", "individual", "government"
]
CtpatTier = Annotated[int, Field(ge=0, le=3)]


class Disclosures(Message):
    """The legitimacy disclosures the order requires (E2); CBP has not yet set their format."""

    import_volume: bool = False
    ownership: bool = False
    beneficial_ownership: bool = False


class ContinuousBond(Message):
    amount_usd: Money
    # F2: a foreign IOR may rely on a continuous bond only when CBP grants an exception.
    foreign_exception_granted: bool = False


class BeneficialOwner(Message):
    name: Name
    country: Country | None = None


class IorRecord(Message):
    ior_number: IorNumber
    name: Name
    status: IorStatus
    registered_at: Time
    organized_in_us: bool | None = None
    located_in_us: bool | None = None
    controlling_owner_us_person: bool | None = None
    us_real_property_usd: Money | None = None
    tangible_domestic_assets_usd: Money | None = None
    good_standing: bool | None = None
    standing_issues: Annotated[tuple[Note, ...], Field(max_length=50)] = ()
    disclosures: Disclosures | None = None
    ctpat_tier: CtpatTier = 0
    continuous_bond: ContinuousBond | None = None
    duties_paid_12m_usd: Money | None = None
    expected_entries_per_year: Count | None = None
    last_entry_at: Time | None = None
    beneficial_owners: Annotated[tuple[BeneficialOwner, ...], Field(max_length=100)] = ()
    confidentiality_expires_at: Time | None = None
    # Optional additions to contract version 1: Form 5106 facts and adverse history,
    # which the risk tier reads.
    company_type: CompanyType | None = None
    country: Country | None = None
    prior_suspensions: Count = 0
    holds_12m: Count = 0
    seizures_12m: Count = 0
    updated_at: Time | None = None

"""The rule catalogue: one plain function per rule id of DOMAIN.md.

A rule returns the fact that makes it fire, as a sentence naming the entry's or the IOR's
own figures, or ``None``; the engine adds the rule's outcome, citation and cure from the
pack. Rules never see Kafka, a clock or a file, and never change what they are given.

Two scopes: an *IOR rule* reads only the IOR's registry record, so the engine decides it
once per registry version and reuses the fact for all that IOR's entries; an *entry rule*
reads the :class:`Case` of one entry. An entry rule may declare a *gate*, a cheap test of
entry type and IOR category that tells the engine when it cannot fire at all, so that a US
IOR's formal entry is never even shown to the foreign-IOR or informal-entry rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord
from schemas.registry import IorRecord
from screening import rulepack as rp
from screening.activity import WINDOW_DAYS, ActivityView
from screening.bonds import single_transaction_required
from screening.classification import Classification
from screening.risk import HIGH, RiskTier
from screening.watchlist import WatchlistIndex, WatchlistMatch


@dataclass(slots=True)
class IorProfile:
    """What the engine derives from an IOR record once, reused for all its entries."""

    classification: Classification
    risk: RiskTier | None  # None for an IOR the registry does not know
    shown_ior_number: str
    # (rule id, fact) of every IOR rule that fires for this record, in catalogue order.
    ior_facts: tuple[tuple[str, str], ...] = ()
    # WATCHLIST-MATCH findings on the IOR's beneficial owners.
    owner_matches: tuple[str, ...] = ()
    # The continuous bond CBP's sizing requires of this IOR, and the one on file (None when
    # there is none), for BOND-SUFFICIENCY: read here rather than from the record, which is
    # rarely still in the CPU's cache when the entry is screened.
    required_continuous_bond: float = 0.0
    continuous_bond_usd: float | None = None
    # How the IOR reads in a foreign-IOR rule's reason.
    foreign_description: str = ""
    registered_ts: float = 0.0


@dataclass(slots=True)
class Case:
    """One entry and everything a rule may read about it (built per entry, not frozen:
    a frozen dataclass costs ten times as much to build)."""

    entry: EntryFiling
    ior: IorRecord | None
    profile: IorProfile
    brokers: Mapping[str, BrokerRecord]
    watchlist: WatchlistIndex
    activity: ActivityView | None
    as_of: datetime
    as_of_ts: float


def _usd(amount: float) -> str:
    return f"${amount:,.0f}"


def _who(case: Case | IorProfile) -> str:
    profile = case if isinstance(case, IorProfile) else case.profile
    return f"IOR {profile.shown_ior_number}"


# --- the IOR itself ------------------------------------------------------------------------


def ior_unregistered(case: Case, _: rp.NoParams) -> str | None:
    if case.ior is None:
        return f"{_who(case)} is not in the IOR registry."
    return None


def ior_inactive(ior: IorRecord, profile: IorProfile, _: rp.NoParams) -> str | None:
    if ior.status == "inactive":
        return f"{_who(profile)} is inactive (status 20: no entry for over a year)."
    return None


def ior_voided(ior: IorRecord, profile: IorProfile, _: rp.NoParams) -> str | None:
    if ior.status in {"voided", "suspended", "debarred"}:
        return f"{_who(profile)} is {ior.status}."
    return None


def ior_standing(ior: IorRecord, profile: IorProfile, _: rp.NoParams) -> str | None:
    if ior.good_standing is True:
        return None
    if ior.good_standing is None:
        return f"{_who(profile)} has no good-standing determination on file."
    issues = "; ".join(ior.standing_issues[:3]) or "no reason recorded"
    return f"{_who(profile)} is not in good standing with CBP ({issues})."


_DISCLOSURE_WORDS: Final = {
    "import_volume": "import volumes",
    "ownership": "ownership",
    "beneficial_ownership": "beneficial ownership",
}


def ior_disclosure(ior: IorRecord, profile: IorProfile, p: rp.DisclosureParams) -> str | None:
    shown = ior.disclosures
    missing = [
        _DISCLOSURE_WORDS[name]
        for name in _DISCLOSURE_WORDS
        if name in p.required and (shown is None or not getattr(shown, name))
    ]
    if missing:
        return f"{_who(profile)} has not disclosed its {', '.join(missing)}."
    return None


def ior_assets(ior: IorRecord, profile: IorProfile, p: rp.AssetsParams) -> str | None:
    """E1 asks the IOR itself for assets or bond cover, so the continuous bond on file
    counts, not a single-transaction bond bought for one entry."""
    assets = ior.tangible_domestic_assets_usd or 0.0
    if assets >= p.min_tangible_assets_usd:
        return None
    bond = ior.continuous_bond.amount_usd if ior.continuous_bond else 0.0
    if bond >= p.raised_min_bond_usd:
        return None
    return (
        f"{_who(profile)} shows {_usd(assets)} of US tangible assets (minimum "
        f"{_usd(p.min_tangible_assets_usd)}) and a continuous bond of {_usd(bond)} (raised "
        f"minimum {_usd(p.raised_min_bond_usd)})."
    )


# --- bonds ---------------------------------------------------------------------------------


def _has_pga_goods(entry: EntryFiling) -> bool:
    return any(line.pga_codes for line in entry.lines)


def bond_sufficiency(case: Case, p: rp.BondParams) -> str | None:
    entry = case.entry
    if entry.entry_type in p.bond_exempt_entry_types:
        return None
    bond = entry.bond
    if bond is None or bond.type == "0":
        return f"Entry type {entry.entry_type} needs a bond and none is filed."
    if bond.type == "8":
        if case.ior is None:
            return None  # IOR-UNREGISTERED already holds it; there is no bond on file to size
        profile = case.profile
        on_file = profile.continuous_bond_usd
        if on_file is None:
            return f"The entry claims a continuous bond, but {_who(case)} has none on file."
        required = profile.required_continuous_bond
        if on_file < required:
            return (
                f"The continuous bond of {_usd(on_file)} is below the {_usd(required)} that "
                f"CBP's sizing requires for {_usd(case.ior.duties_paid_12m_usd or 0.0)} of "
                "duties, taxes and fees in 12 months."
            )
        return None
    pga = _has_pga_goods(entry)
    required = single_transaction_required(
        entry.entered_value_usd,
        entry.duties_taxes_fees_usd or 0.0,
        other_agency_goods=pga,
        pga_value_multiple=p.pga_value_multiple,
    )
    if bond.amount_usd < required:
        basis = (
            f"{p.pga_value_multiple:g}x the entered value for goods under other agencies' rules"
            if pga
            else "entered value plus duties, taxes and fees"
        )
        return (
            f"The single-transaction bond of {_usd(bond.amount_usd)} is below the "
            f"{_usd(required)} this entry needs ({basis})."
        )
    return None


# --- foreign IORs --------------------------------------------------------------------------


def _foreign(case: Case) -> str:
    return case.profile.foreign_description


def foreign_informal(case: Case, p: rp.EntryTypeParams) -> str | None:
    if case.profile.classification.is_foreign and case.entry.entry_type in p.entry_types:
        return f"{_foreign(case)} and may not use informal entry type {case.entry.entry_type}."
    return None


def foreign_continuous_bond(case: Case, _: rp.NoParams) -> str | None:
    ior = case.ior
    assert ior is not None
    bond = case.entry.bond
    if not case.profile.classification.is_foreign or bond is None or bond.type != "8":
        return None
    if ior.continuous_bond is not None and ior.continuous_bond.foreign_exception_granted:
        return None
    return f"{_foreign(case)} and relies on a continuous bond without CBP's exception."


def foreign_ctpat(case: Case, p: rp.CtpatParams) -> str | None:
    ior = case.ior
    assert ior is not None
    if not case.profile.classification.is_foreign or ior.ctpat_tier >= p.min_tier:
        return None
    code = case.entry.broker_filer_code
    if code is None:
        channel = "the entry is self-filed"
    else:
        broker = case.brokers.get(code)
        if broker is not None and broker.ctpat_tier >= p.min_tier:
            return None
        known = "not a CTPAT member" if broker is not None else "not in the broker reference data"
        channel = f"filer {code} is {known}"
    return f"{_foreign(case)}, is not a CTPAT member, and {channel}."


def foreign_inbond(case: Case, p: rp.EntryTypeParams) -> str | None:
    if case.profile.classification.is_foreign and case.entry.entry_type in p.entry_types:
        return f"{_foreign(case)} and may not use in-bond entry type {case.entry.entry_type}."
    return None


def foreign_adcvd(case: Case, p: rp.AdcvdParams) -> str | None:
    if not case.profile.classification.is_foreign:
        return None
    entry = case.entry
    if entry.entry_type not in p.adcvd_entry_types:
        for line in entry.lines:  # a loop, not a list: nearly every entry has no AD/CVD line
            if line.adcvd_case:
                break
        else:
            return None
    adcvd_lines = [line for line in entry.lines if line.adcvd_case]
    # Added in order, not with sum(): Python 3.12's sum() of floats compensates rounding, and
    # the native core must get the same figure on every supported Python.
    adcvd_sum = 0.0
    for line in adcvd_lines:
        adcvd_sum += line.entered_value_usd
    adcvd_value = adcvd_sum or entry.entered_value_usd
    base = entry.entered_value_usd + (entry.duties_taxes_fees_usd or 0.0)
    required = base + p.deposit_risk_rate * adcvd_value
    bond = entry.bond
    cover = 0.0
    if bond is not None and bond.type == "9":
        cover = bond.amount_usd
    elif bond is not None and bond.type == "8" and case.ior and case.ior.continuous_bond:
        cover = case.ior.continuous_bond.amount_usd
    if cover >= required:
        return None
    cases = ", ".join(sorted({line.adcvd_case for line in adcvd_lines if line.adcvd_case}))
    return (
        f"{_foreign(case)} on an AD/CVD entry{f' (case {cases})' if cases else ''}; its bond "
        f"cover of {_usd(cover)} is below the {_usd(required)} needed for value, duties and "
        f"{p.deposit_risk_rate:.0%} of the {_usd(adcvd_value)} of AD/CVD goods."
    )


# --- documents and entry types -------------------------------------------------------------


def export_docs(case: Case, p: rp.DocumentParams) -> str | None:
    entry = case.entry
    if entry.export_declaration_ref is None and entry.entry_type not in p.exempt_entry_types:
        return (
            "The entry does not reference the export declaration filed with the foreign "
            "customs administration."
        )
    return None


def supply_chain_cert(case: Case, p: rp.DocumentParams) -> str | None:
    entry = case.entry
    if entry.supply_chain_cert_ref is None and entry.entry_type not in p.exempt_entry_types:
        return "The entry carries no supply-chain and production-method certification."
    return None


def informal_value(case: Case, p: rp.InformalValueParams) -> str | None:
    entry = case.entry
    if entry.entry_type not in p.entry_types:
        return None
    problems = []
    if entry.entered_value_usd > p.informal_limit_usd:
        problems.append(
            f"its value of {_usd(entry.entered_value_usd)} is over the informal limit of "
            f"{_usd(p.informal_limit_usd)}"
        )
    formal_only: list[str] = []
    for line in entry.lines:  # a loop, not a set comprehension: it rarely finds anything
        if line.hts[:4] in p.formal_only_hts_prefixes and line.hts[:4] not in formal_only:
            formal_only.append(line.hts[:4])
    if formal_only:
        formal_only.sort()
        problems.append(f"it has HTS {'/'.join(formal_only)} goods, which need formal entry")
    if problems:
        return f"Informal entry type {entry.entry_type} is not allowed: {' and '.join(problems)}."
    return None


def de_minimis_suspended(case: Case, p: rp.EntryTypeParams) -> str | None:
    if case.entry.entry_type in p.entry_types:
        return f"Entry type {case.entry.entry_type} (de minimis) is suspended for all countries."
    return None


# --- lists and patterns --------------------------------------------------------------------


def describe_match(role: str, name: str, match: WatchlistMatch) -> str:
    record = match.record
    where = f", {record.country}" if record.country else ""
    return (
        f"{role} '{name}' matches {record.list} entry '{match.matched_name}' "
        f"(id {record.id}{where})"
    )


def owner_matches(ior: IorRecord, index: WatchlistIndex, p: rp.WatchlistParams) -> tuple[str, ...]:
    """WATCHLIST-MATCH findings on an IOR's beneficial owners (decided once per IOR)."""
    return tuple(
        describe_match("Beneficial owner", owner.name, match)
        for owner in ior.beneficial_owners
        for match in index.match(owner.name, owner.country, p.lists, p.require_same_country)
    )


def watchlist_match(case: Case, p: rp.WatchlistParams) -> str | None:
    found: list[str] = []
    index = case.watchlist
    if index.records:  # the tuple, not bool(index): this runs for every entry
        entry = case.entry
        lists, same_country = p.lists, p.require_same_country
        for line in entry.lines:
            name = line.manufacturer_name
            if name is not None:
                for match in index.match(name, line.country_of_origin, lists, same_country):
                    role = f"Manufacturer on line {line.line_number}"
                    found.append(describe_match(role, name, match))
        shipper = entry.shipper_name
        if shipper is not None:
            for match in index.match(shipper, entry.shipper_country, lists, same_country):
                found.append(describe_match("Shipper", shipper, match))
    found.extend(case.profile.owner_matches)
    if found:
        more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
        return "; ".join(found[:3]) + more + "."
    return None


def straw_ior(case: Case, p: rp.StrawIorParams) -> str | None:
    if case.activity is None:
        return None
    age_days = int((case.as_of_ts - case.profile.registered_ts) // 86_400)
    if age_days > p.recent_registration_days:
        return None
    ior = case.ior
    assert ior is not None
    if not any(p.fda_pga_codes.intersection(line.pga_codes) for line in case.entry.lines):
        return None
    recent = case.activity.entries_in_window(ior.ior_number, case.as_of)
    declared = ior.expected_entries_per_year or 0
    expected_in_window = declared * WINDOW_DAYS / 365
    if recent < p.min_entries_30d or recent <= p.volume_multiple * expected_in_window:
        return None
    return (
        f"{_who(case)}, registered {max(age_days, 0)} days ago, filed {recent} entries in "
        f"{WINDOW_DAYS} days against {declared} a year declared on Form 5106, with "
        "FDA-regulated goods."
    )


def exam_selected(entry_number: str, rate: float) -> bool:
    """Deterministic sampling: the same entry is always in or always out of the sample."""
    return zlib.crc32(entry_number.encode()) % 10_000 < rate * 10_000


def risk_tier_exam(case: Case, p: rp.ExamParams) -> str | None:
    risk = case.profile.risk
    assert risk is not None
    if risk.tier == HIGH and exam_selected(case.entry.entry_number, p.exam_rate):
        return (
            f"{_who(case)} is in risk tier 4 ({'; '.join(risk.reasons)}) and this entry was "
            "selected for examination."
        )
    return None


# --- the catalogue -------------------------------------------------------------------------

EntryRule = Callable[[Case, Any], str | None]
IorRule = Callable[[IorRecord, IorProfile, Any], str | None]
# (the rule's parameters, the entry type, whether the IOR is foreign) -> can it fire?
Gate = Callable[[Any, str, bool], bool]


def _foreign_only(_: Any, __: str, foreign: bool) -> bool:
    return foreign


def _foreign_and_listed_type(p: Any, entry_type: str, foreign: bool) -> bool:
    return foreign and entry_type in p.entry_types


def _listed_type(p: Any, entry_type: str, _: bool) -> bool:
    return entry_type in p.entry_types


def _not_bond_exempt(p: Any, entry_type: str, _: bool) -> bool:
    return entry_type not in p.bond_exempt_entry_types


def _not_document_exempt(p: Any, entry_type: str, _: bool) -> bool:
    return entry_type not in p.exempt_entry_types


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    rule_id: str
    entry_check: EntryRule | None = None
    ior_check: IorRule | None = None
    # Entry rules that read the registry record are skipped for an unregistered IOR:
    # IOR-UNREGISTERED says all there is to say about it.
    needs_registry: bool = True
    gate: Gate | None = None


CATALOGUE: Final[tuple[CatalogueEntry, ...]] = (
    CatalogueEntry("IOR-UNREGISTERED", entry_check=ior_unregistered, needs_registry=False),
    CatalogueEntry("IOR-INACTIVE", ior_check=ior_inactive),
    CatalogueEntry("IOR-VOIDED", ior_check=ior_voided),
    CatalogueEntry("IOR-STANDING", ior_check=ior_standing),
    CatalogueEntry("IOR-DISCLOSURE", ior_check=ior_disclosure),
    CatalogueEntry("IOR-ASSETS", ior_check=ior_assets),
    CatalogueEntry(
        "BOND-SUFFICIENCY",
        entry_check=bond_sufficiency,
        needs_registry=False,
        gate=_not_bond_exempt,
    ),
    CatalogueEntry("FOREIGN-INFORMAL", entry_check=foreign_informal, gate=_foreign_and_listed_type),
    CatalogueEntry(
        "FOREIGN-CONTINUOUS-BOND", entry_check=foreign_continuous_bond, gate=_foreign_only
    ),
    CatalogueEntry("FOREIGN-CTPAT", entry_check=foreign_ctpat, gate=_foreign_only),
    CatalogueEntry("FOREIGN-INBOND", entry_check=foreign_inbond, gate=_foreign_and_listed_type),
    CatalogueEntry("FOREIGN-ADCVD", entry_check=foreign_adcvd, gate=_foreign_only),
    CatalogueEntry(
        "EXPORT-DOCS", entry_check=export_docs, needs_registry=False, gate=_not_document_exempt
    ),
    CatalogueEntry(
        "SUPPLY-CHAIN-CERT",
        entry_check=supply_chain_cert,
        needs_registry=False,
        gate=_not_document_exempt,
    ),
    CatalogueEntry(
        "INFORMAL-VALUE", entry_check=informal_value, needs_registry=False, gate=_listed_type
    ),
    CatalogueEntry(
        "DE-MINIMIS-SUSPENDED",
        entry_check=de_minimis_suspended,
        needs_registry=False,
        gate=_listed_type,
    ),
    CatalogueEntry("WATCHLIST-MATCH", entry_check=watchlist_match, needs_registry=False),
    CatalogueEntry("STRAW-IOR", entry_check=straw_ior),
    CatalogueEntry("RISK-TIER-EXAM", entry_check=risk_tier_exam),
)

assert tuple(e.rule_id for e in CATALOGUE) == rp.RULE_IDS, "catalogue and pack model disagree"

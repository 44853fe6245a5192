"""The rule catalogue, rule by rule: when each fires, when it must not, its effective date
and its parameters. Every test starts from an entry and IOR that all rules release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.decision import ScreeningDecision
from schemas.entry import EntryFiling
from schemas.registry import IorRecord
from screening.activity import ActivityCounter
from screening.engine import ReferenceData, Screener
from screening.rulepack import RULE_IDS, RulePack, read_rule_pack_data, with_overrides
from screening.watchlist import WatchlistIndex
from tests.factories import (
    FILED_AT,
    FOREIGN_IOR,
    make_broker,
    make_entry,
    make_foreign_ior,
    make_ior,
    make_line,
    make_watch,
)

UNSET: Any = object()


def decide(
    entry: EntryFiling,
    ior: IorRecord | None = UNSET,
    *,
    pack: RulePack | None = None,
    reference: ReferenceData | None = None,
    activity: ActivityCounter | None = None,
    as_of: datetime | None = None,
) -> ScreeningDecision:
    screener = Screener(pack or with_overrides(read_rule_pack_data()), reference)
    record = make_ior(ior_number=entry.ior_number) if ior is UNSET else ior
    return screener.screen(entry, record, screened_at=FILED_AT, as_of=as_of, activity=activity)


def fired(entry: EntryFiling, ior: IorRecord | None = UNSET, **kwargs: Any) -> list[str]:
    return [hit.rule_id for hit in decide(entry, ior, **kwargs).hits]


def pack_with(*settings: str, disable: tuple[str, ...] = ()) -> RulePack:
    return with_overrides(read_rule_pack_data(), settings=settings, disable=disable)


def foreign_entry(**overrides: Any) -> EntryFiling:
    return make_entry(**{"ior_number": FOREIGN_IOR, **overrides})


CTPAT_BROKER = ReferenceData({"B01": make_broker(ctpat_tier=1)})


def test_the_baseline_entry_is_released() -> None:
    decision = decide(make_entry())
    assert (decision.outcome, decision.hits) == ("release", ())


def test_every_catalogue_rule_is_in_the_baseline_pack(baseline_pack: RulePack) -> None:
    assert sorted(baseline_pack.rules.by_id()) == sorted(RULE_IDS)
    assert len(RULE_IDS) == 19


# --- IOR-UNREGISTERED ----------------------------------------------------------------------


def test_an_unregistered_ior_is_held_and_its_registry_rules_are_skipped() -> None:
    decision = decide(make_entry(entry_type="11", bond=None, entered_value_usd=900), None)
    assert [h.rule_id for h in decision.hits] == ["IOR-UNREGISTERED"]
    assert decision.outcome == "hold"
    assert decision.risk_tier is None


def test_entry_rules_still_apply_to_an_unregistered_ior() -> None:
    assert fired(make_entry(export_declaration_ref=None), None) == [
        "IOR-UNREGISTERED",
        "EXPORT-DOCS",
    ]


# --- IOR-INACTIVE / IOR-VOIDED / IOR-STANDING ----------------------------------------------


def test_an_inactive_ior_is_held() -> None:
    assert fired(make_entry(), make_ior(status="inactive")) == ["IOR-INACTIVE"]


def test_the_inactive_rule_starts_on_its_effective_date() -> None:
    before = make_entry(filed_at="2026-11-29T12:00:00Z")
    assert "IOR-INACTIVE" not in fired(before, make_ior(status="inactive"))


@pytest.mark.parametrize("status", ["voided", "suspended", "debarred"])
def test_a_voided_suspended_or_debarred_ior_goes_to_seizure_review(status: str) -> None:
    decision = decide(make_entry(), make_ior(status=status))
    assert "IOR-VOIDED" in decision.rule_ids
    assert decision.outcome == "seizure_review"


def test_an_ior_not_in_good_standing_is_held_with_its_issues() -> None:
    decision = decide(make_entry(), make_ior(good_standing=False, standing_issues=["unpaid bills"]))
    hit = decision.hits[0]
    assert hit.rule_id == "IOR-STANDING"
    assert "(unpaid bills)" in hit.reason


def test_an_unknown_standing_is_held_as_not_shown() -> None:
    decision = decide(make_entry(), make_ior(good_standing=None))
    assert "no good-standing determination" in decision.hits[0].reason


# --- IOR-DISCLOSURE ------------------------------------------------------------------------


def test_missing_disclosures_are_named() -> None:
    ior = make_ior(
        disclosures={"import_volume": True, "ownership": False, "beneficial_ownership": False}
    )
    decision = decide(make_entry(), ior)
    assert decision.rule_ids == ("IOR-DISCLOSURE",)
    assert "its ownership, beneficial ownership." in decision.hits[0].reason


def test_only_the_disclosures_the_pack_requires_count() -> None:
    ior = make_ior(
        disclosures={"import_volume": True, "ownership": False, "beneficial_ownership": False}
    )
    pack = pack_with('IOR-DISCLOSURE.required=["import_volume"]')
    assert fired(make_entry(), ior, pack=pack) == []


# --- IOR-ASSETS ----------------------------------------------------------------------------


def test_low_assets_and_a_low_bond_are_held() -> None:
    ior = make_ior(tangible_domestic_assets_usd=50_000, continuous_bond={"amount_usd": 60_000})
    decision = decide(make_entry(bond={"type": "8", "amount_usd": 60_000}), ior)
    assert decision.rule_ids == ("IOR-ASSETS",)
    assert "$50,000 of US tangible assets (minimum $100,000)" in decision.hits[0].reason


def test_either_assets_or_a_raised_bond_satisfy_e1() -> None:
    bonded = make_ior(tangible_domestic_assets_usd=0, continuous_bond={"amount_usd": 100_000})
    assert fired(make_entry(), bonded) == []
    propertied = make_ior(tangible_domestic_assets_usd=100_000, continuous_bond=None)
    assert "IOR-ASSETS" not in fired(
        make_entry(bond={"type": "9", "amount_usd": 20_000}), propertied
    )


def test_the_asset_minimum_is_a_parameter() -> None:
    pack = pack_with(
        "IOR-ASSETS.min_tangible_assets_usd=1000000", "IOR-ASSETS.raised_min_bond_usd=1000000"
    )
    assert fired(make_entry(), make_ior(), pack=pack) == ["IOR-ASSETS"]


# --- BOND-SUFFICIENCY ----------------------------------------------------------------------


def test_a_formal_entry_without_a_bond_is_held() -> None:
    assert fired(make_entry(bond=None)) == ["BOND-SUFFICIENCY"]
    assert fired(make_entry(bond={"type": "0", "amount_usd": 0})) == ["BOND-SUFFICIENCY"]


def test_an_informal_entry_needs_no_bond() -> None:
    assert fired(make_entry(entry_type="11", bond=None, entered_value_usd=900)) == []


def test_a_continuous_bond_below_the_sizing_formula_is_held() -> None:
    ior = make_ior(duties_paid_12m_usd=2_000_000)  # needs $200,000; has $100,000
    decision = decide(make_entry(), ior)
    assert decision.rule_ids == ("BOND-SUFFICIENCY",)
    assert "below the $200,000 that CBP's sizing requires" in decision.hits[0].reason


def test_a_continuous_bond_claimed_but_not_on_file_is_held() -> None:
    ior = make_ior(continuous_bond=None, tangible_domestic_assets_usd=500_000)
    assert fired(make_entry(), ior) == ["BOND-SUFFICIENCY"]


def test_a_single_transaction_bond_must_cover_value_and_duties() -> None:
    short = make_entry(bond={"type": "9", "amount_usd": 11_499})
    assert fired(short) == ["BOND-SUFFICIENCY"]
    assert fired(make_entry(bond={"type": "9", "amount_usd": 11_500})) == []


def test_a_single_transaction_bond_for_fda_goods_covers_three_times_value() -> None:
    fda = [make_line(pga_codes=["FD2"])]
    assert fired(make_entry(lines=fda, bond={"type": "9", "amount_usd": 29_999})) == [
        "BOND-SUFFICIENCY"
    ]
    assert fired(make_entry(lines=fda, bond={"type": "9", "amount_usd": 30_000})) == []


# --- the foreign-IOR rules -----------------------------------------------------------------


def test_a_foreign_ior_on_an_informal_entry_is_held_to_refile_formally() -> None:
    entry = foreign_entry(entry_type="11", bond=None, entered_value_usd=900)
    decision = decide(entry, make_foreign_ior(), reference=CTPAT_BROKER)
    assert decision.rule_ids == ("FOREIGN-INFORMAL",)
    assert decision.ior_classification == "foreign"
    assert "may not use informal entry type 11" in decision.hits[0].reason
    assert "Refile as a formal entry" in decision.hits[0].reason


@pytest.mark.parametrize("entry_type", ["12", "13"])
def test_every_informal_type_is_closed_to_foreign_iors(entry_type: str) -> None:
    entry = foreign_entry(entry_type=entry_type, bond=None, entered_value_usd=900)
    assert "FOREIGN-INFORMAL" in fired(entry, make_foreign_ior(), reference=CTPAT_BROKER)


def test_a_us_ior_may_still_file_informally() -> None:
    assert fired(make_entry(entry_type="11", bond=None, entered_value_usd=900)) == []


def test_the_informal_ban_follows_its_effective_date() -> None:
    entry = foreign_entry(
        entry_type="11", bond=None, entered_value_usd=900, filed_at="2026-06-02T12:00:00Z"
    )
    assert "FOREIGN-INFORMAL" not in fired(entry, make_foreign_ior(), reference=CTPAT_BROKER)


def test_the_narrow_reading_lets_a_us_organized_ior_located_abroad_file_informally() -> None:
    ior = make_foreign_ior(organized_in_us=True)
    entry = foreign_entry(entry_type="11", bond=None, entered_value_usd=900)
    assert "FOREIGN-INFORMAL" in fired(entry, ior, reference=CTPAT_BROKER)
    narrow = pack_with()
    narrow = narrow.model_copy(
        update={
            "classification": narrow.classification.model_copy(
                update={"reading": "not_organized_in_us"}
            )
        }
    )
    assert "FOREIGN-INFORMAL" not in fired(entry, ior, pack=narrow, reference=CTPAT_BROKER)


def test_a_foreign_ior_on_a_continuous_bond_without_exception_is_held() -> None:
    ior = make_foreign_ior(
        continuous_bond={"amount_usd": 100_000, "foreign_exception_granted": False}
    )
    assert fired(foreign_entry(), ior, reference=CTPAT_BROKER) == ["FOREIGN-CONTINUOUS-BOND"]
    granted = make_foreign_ior()
    assert fired(foreign_entry(), granted, reference=CTPAT_BROKER) == []


def test_a_foreign_ior_on_a_single_transaction_bond_needs_no_exception() -> None:
    entry = foreign_entry(bond={"type": "9", "amount_usd": 20_000})
    ior = make_foreign_ior(continuous_bond=None, tangible_domestic_assets_usd=200_000)
    assert fired(entry, ior, reference=CTPAT_BROKER) == []


def test_a_foreign_ior_outside_ctpat_must_use_a_ctpat_broker() -> None:
    not_ctpat = ReferenceData({"B01": make_broker(ctpat_tier=0)})
    decision = decide(foreign_entry(), make_foreign_ior(), reference=not_ctpat)
    assert decision.rule_ids == ("FOREIGN-CTPAT",)
    assert "filer B01 is not a CTPAT member" in decision.hits[0].reason
    assert fired(foreign_entry(), make_foreign_ior(), reference=CTPAT_BROKER) == []


def test_a_self_filed_foreign_entry_needs_the_ior_in_ctpat() -> None:
    entry = foreign_entry(broker_filer_code=None)
    decision = decide(entry, make_foreign_ior())
    assert "the entry is self-filed" in decision.hits[0].reason
    assert fired(entry, make_foreign_ior(ctpat_tier=1)) == []


def test_an_unknown_broker_is_not_assumed_to_be_ctpat() -> None:
    decision = decide(foreign_entry(broker_filer_code="ZZ9"), make_foreign_ior())
    assert "not in the broker reference data" in decision.hits[0].reason


@pytest.mark.parametrize("entry_type", ["61", "62", "63", "69", "70"])
def test_a_foreign_ior_on_an_in_bond_entry_is_held(entry_type: str) -> None:
    entry = foreign_entry(entry_type=entry_type)
    assert fired(entry, make_foreign_ior(), reference=CTPAT_BROKER) == ["FOREIGN-INBOND"]
    assert fired(make_entry(entry_type=entry_type)) == []


def test_a_foreign_adcvd_entry_needs_bond_cover_for_the_duty_risk() -> None:
    adcvd = [make_line(adcvd_case="A570983001", hts="7306.30.5028")]
    ior = make_foreign_ior(continuous_bond=None, tangible_domestic_assets_usd=200_000)
    short = foreign_entry(entry_type="03", lines=adcvd, bond={"type": "9", "amount_usd": 12_000})
    decision = decide(short, ior, reference=CTPAT_BROKER)
    assert decision.rule_ids == ("FOREIGN-ADCVD",)
    assert "(case A570983001)" in decision.hits[0].reason
    covered = foreign_entry(entry_type="03", lines=adcvd, bond={"type": "9", "amount_usd": 21_500})
    assert fired(covered, ior, reference=CTPAT_BROKER) == []
    assert (
        fired(make_entry(entry_type="03", lines=adcvd, bond={"type": "9", "amount_usd": 12_000}))
        == []
    )


def test_the_adcvd_risk_rate_is_a_parameter() -> None:
    adcvd = [make_line(adcvd_case="A570983001")]
    ior = make_foreign_ior(continuous_bond=None, tangible_domestic_assets_usd=200_000)
    entry = foreign_entry(entry_type="03", lines=adcvd, bond={"type": "9", "amount_usd": 12_000})
    pack = pack_with("FOREIGN-ADCVD.deposit_risk_rate=0")
    assert fired(entry, ior, pack=pack, reference=CTPAT_BROKER) == []


# --- documents -----------------------------------------------------------------------------


def test_an_entry_without_its_export_declaration_is_held() -> None:
    assert fired(make_entry(export_declaration_ref=None)) == ["EXPORT-DOCS"]


def test_export_declarations_are_required_from_the_90_day_deadline() -> None:
    early = make_entry(export_declaration_ref=None, filed_at="2026-08-31T12:00:00Z")
    assert "EXPORT-DOCS" not in fired(early)


def test_government_entries_are_exempt_from_the_document_rules() -> None:
    entry = make_entry(entry_type="51", export_declaration_ref=None, supply_chain_cert_ref=None)
    assert fired(entry) == []


def test_an_entry_without_its_supply_chain_certification_is_held() -> None:
    assert fired(make_entry(supply_chain_cert_ref=None)) == ["SUPPLY-CHAIN-CERT"]


def test_a_disabled_rule_never_fires() -> None:
    pack = pack_with(disable=("SUPPLY-CHAIN-CERT",))
    assert fired(make_entry(supply_chain_cert_ref=None), pack=pack) == []
    assert pack.version == "eo-2026-06-03.1+candidate"


# --- informal entries and de minimis -------------------------------------------------------


def test_an_informal_entry_over_the_limit_is_held() -> None:
    over = make_entry(entry_type="11", bond=None, entered_value_usd=2_500.01)
    decision = decide(over)
    assert decision.rule_ids == ("INFORMAL-VALUE",)
    assert "over the informal limit of $2,500" in decision.hits[0].reason
    assert fired(make_entry(entry_type="11", bond=None, entered_value_usd=2_500)) == []


def test_an_informal_entry_with_chapter_99_goods_is_held() -> None:
    entry = make_entry(
        entry_type="11",
        bond=None,
        entered_value_usd=90,
        lines=[make_line(hts="9903.88.0300", entered_value_usd=90)],
    )
    decision = decide(entry)
    assert "HTS 9903 goods, which need formal entry" in decision.hits[0].reason


def test_the_informal_limit_is_a_parameter() -> None:
    entry = make_entry(entry_type="11", bond=None, entered_value_usd=2_000)
    assert fired(entry, pack=pack_with("INFORMAL-VALUE.informal_limit_usd=800")) == [
        "INFORMAL-VALUE"
    ]


def test_a_de_minimis_entry_is_held_after_the_suspension() -> None:
    entry = make_entry(entry_type="86", bond=None, entered_value_usd=40)
    assert fired(entry) == ["DE-MINIMIS-SUSPENDED"]


def test_a_de_minimis_entry_before_the_suspension_passes() -> None:
    entry = make_entry(
        entry_type="86", bond=None, entered_value_usd=40, filed_at="2025-08-28T12:00:00Z"
    )
    assert "DE-MINIMIS-SUSPENDED" not in fired(entry)


def test_as_of_fixes_the_clock_for_effective_dates() -> None:
    entry = make_entry(
        entry_type="86", bond=None, entered_value_usd=40, filed_at="2025-08-28T12:00:00Z"
    )
    later = datetime(2025, 9, 1, tzinfo=UTC)
    assert "DE-MINIMIS-SUSPENDED" in fired(entry, as_of=later)


# --- WATCHLIST-MATCH -----------------------------------------------------------------------

LISTED = ReferenceData(watchlist=WatchlistIndex([make_watch()]))


def test_a_listed_manufacturer_sends_the_entry_to_seizure_review() -> None:
    line = make_line(
        manufacturer_name="TARIM BASIN COTTON PROCESSING LIMITED", country_of_origin="CN"
    )
    decision = decide(make_entry(lines=[line]), reference=LISTED)
    assert decision.outcome == "seizure_review"
    assert decision.rule_ids == ("WATCHLIST-MATCH",)
    assert "matches UFLPA entry 'Tarim Basin Cotton Processing Co., Ltd.' (id UFLPA-0001, CN)" in (
        decision.hits[0].reason
    )


def test_a_listed_beneficial_owner_or_shipper_matches_too() -> None:
    owner = make_ior(beneficial_owners=[{"name": "Tarim Cotton", "country": "CN"}])
    assert fired(make_entry(), owner, reference=LISTED) == ["WATCHLIST-MATCH"]
    shipper = make_entry(shipper_name="Tarim Cotton Co.", shipper_country="CN")
    assert fired(shipper, reference=LISTED) == ["WATCHLIST-MATCH"]


def test_the_same_name_in_another_country_is_not_a_match() -> None:
    line = make_line(manufacturer_name="Tarim Cotton", country_of_origin="VN")
    assert fired(make_entry(lines=[line]), reference=LISTED) == []


def test_no_loaded_list_means_no_match() -> None:
    line = make_line(manufacturer_name="Tarim Cotton", country_of_origin="CN")
    assert fired(make_entry(lines=[line])) == []


# --- STRAW-IOR -----------------------------------------------------------------------------


def straw_setup(days_registered: int = 30, entries: int = 12, fda: bool = True) -> list[str]:
    ior = make_ior(
        registered_at=(FILED_AT - timedelta(days=days_registered)).isoformat(),
        expected_entries_per_year=12,
    )
    activity = ActivityCounter()
    for n in range(entries):
        activity.record(ior.ior_number, FILED_AT - timedelta(days=n % 20))
    line = make_line(pga_codes=["FD2"] if fda else [], hts="2106.90.9998")
    entry = make_entry(lines=[line])
    return fired(entry, ior, activity=activity)


def test_a_new_ior_filing_fda_goods_far_above_its_declared_pace_goes_to_review() -> None:
    assert straw_setup() == ["STRAW-IOR"]


def test_an_established_ior_is_not_a_straw_ior() -> None:
    assert straw_setup(days_registered=400) == []


def test_without_fda_goods_there_is_no_straw_pattern() -> None:
    assert straw_setup(fda=False) == []


def test_a_few_entries_are_not_a_pattern() -> None:
    assert straw_setup(entries=9) == []


# --- RISK-TIER-EXAM ------------------------------------------------------------------------


def exam_count(ior: IorRecord, pack: RulePack | None = None, n: int = 400) -> int:
    screener = Screener(pack or pack_with(), ReferenceData())
    count = 0
    for serial in range(n):
        from schemas.formats import entry_number_from_parts

        entry = make_entry(entry_number=entry_number_from_parts("EXM", serial))
        decision = screener.screen(entry, ior, screened_at=FILED_AT)
        count += "RISK-TIER-EXAM" in decision.rule_ids
    return count


def test_tier_four_iors_are_sampled_for_exam_at_the_pack_rate() -> None:
    adverse = make_ior(seizures_12m=2)
    assert 60 <= exam_count(adverse) <= 140  # 25% of 400, crc32 spreads entry numbers evenly


def test_exam_sampling_is_deterministic_per_entry() -> None:
    adverse = make_ior(seizures_12m=2)
    assert exam_count(adverse) == exam_count(adverse)


def test_exam_rate_zero_and_one() -> None:
    adverse = make_ior(seizures_12m=2)
    assert exam_count(adverse, pack_with("RISK-TIER-EXAM.exam_rate=0"), n=50) == 0
    assert exam_count(adverse, pack_with("RISK-TIER-EXAM.exam_rate=1"), n=50) == 50


def test_foreign_iors_without_adverse_history_are_never_sampled() -> None:
    assert exam_count(make_foreign_ior(), pack_with("RISK-TIER-EXAM.exam_rate=1"), n=20) == 0


def test_hits_carry_outcome_reason_and_citation_from_the_pack(baseline_pack: RulePack) -> None:
    hit = decide(make_entry(export_declaration_ref=None)).hits[0]
    settings = baseline_pack.rules.by_id()["EXPORT-DOCS"]
    assert hit.outcome == settings.outcome
    assert hit.citation == settings.citation
    assert hit.reason.endswith(settings.cure)


def test_a_rule_outcome_can_be_changed_in_the_pack() -> None:
    pack = pack_with('EXPORT-DOCS.outcome="seizure_review"')
    assert decide(make_entry(export_declaration_ref=None), pack=pack).outcome == "seizure_review"

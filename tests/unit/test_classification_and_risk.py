"""D1 classification under both readings, and the risk tier's limits."""

from __future__ import annotations

from hypothesis import given

from schemas.registry import IorRecord
from screening.classification import (
    PRONG_CONTROLLING_OWNER,
    PRONG_LOCATED,
    PRONG_ORGANIZED,
    classify,
)
from screening.risk import ELEVATED, HIGH, LOW, STANDARD, risk_tier
from screening.rulepack import ClassificationPolicy, RiskTierPolicy, RulePack
from tests import strategies as s
from tests.factories import make_foreign_ior, make_ior

ANY = ClassificationPolicy(reading="any_prong_fails", significant_real_property_usd=500_000)
NARROW = ClassificationPolicy(reading="not_organized_in_us", significant_real_property_usd=500_000)
TIERS = RiskTierPolicy(adverse_holds_12m=3, adverse_seizures_12m=1, low_tier_min_ctpat=2)


def test_a_us_ior_meets_every_prong() -> None:
    result = classify(make_ior(), ANY)
    assert (result.category, result.failed_prongs) == ("us", ())


def test_failing_any_prong_makes_a_foreign_ior_under_the_default_reading() -> None:
    result = classify(make_ior(located_in_us=False), ANY)
    assert result.category == "foreign"
    assert result.failed_prongs == (PRONG_LOCATED,)


def test_the_narrow_reading_looks_only_at_organization_but_still_records_prongs() -> None:
    located_abroad = make_ior(located_in_us=False)
    assert classify(located_abroad, NARROW).category == "us"
    assert classify(located_abroad, NARROW).failed_prongs == (PRONG_LOCATED,)
    assert classify(make_ior(organized_in_us=False), NARROW).category == "foreign"


def test_significant_us_real_property_satisfies_the_third_prong() -> None:
    owner_abroad = make_ior(controlling_owner_us_person=False, us_real_property_usd=499_999)
    assert classify(owner_abroad, ANY).failed_prongs == (PRONG_CONTROLLING_OWNER,)
    with_property = make_ior(controlling_owner_us_person=False, us_real_property_usd=500_000)
    assert classify(with_property, ANY).category == "us"


def test_unknown_prongs_count_as_not_shown() -> None:
    result = classify(make_ior(organized_in_us=None), ANY)
    assert result.failed_prongs == (PRONG_ORGANIZED,)


def test_an_unregistered_ior_shows_no_prong() -> None:
    assert classify(None, ANY).failed_prongs == (
        PRONG_ORGANIZED,
        PRONG_LOCATED,
        PRONG_CONTROLLING_OWNER,
    )


def test_tier_four_needs_adverse_history() -> None:
    assert risk_tier(make_ior(seizures_12m=1), classify(make_ior(), ANY), TIERS).tier == HIGH
    assert risk_tier(make_ior(holds_12m=3), classify(make_ior(), ANY), TIERS).tier == HIGH
    assert risk_tier(make_ior(prior_suspensions=1), classify(make_ior(), ANY), TIERS).tier == HIGH
    standing = make_ior(good_standing=False, standing_issues=["unpaid duties"])
    tier = risk_tier(standing, classify(standing, ANY), TIERS)
    assert tier.tier == HIGH
    assert "standing issues: unpaid duties" in tier.reasons


@given(s.iors)
def test_being_foreign_alone_never_reaches_the_highest_tier(ior: IorRecord) -> None:
    clean = ior.model_copy(
        update={
            "good_standing": True,
            "standing_issues": (),
            "status": "active",
            "prior_suspensions": 0,
            "holds_12m": 0,
            "seizures_12m": 0,
        }
    )
    foreign = classify(clean.model_copy(update={"organized_in_us": False}), ANY)
    assert risk_tier(clean, foreign, TIERS).tier <= ELEVATED


def test_low_and_standard_tiers() -> None:
    assert risk_tier(make_ior(), classify(make_ior(), ANY), TIERS).tier == LOW
    no_ctpat = make_ior(ctpat_tier=0)
    assert risk_tier(no_ctpat, classify(no_ctpat, ANY), TIERS).tier == STANDARD
    foreign = make_foreign_ior()
    assert risk_tier(foreign, classify(foreign, ANY), TIERS).reasons == ("foreign IOR",)


def test_the_baseline_pack_uses_the_default_reading(baseline_pack: RulePack) -> None:
    assert baseline_pack.classification.reading == "any_prong_fails"

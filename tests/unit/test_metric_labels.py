"""The foreign-IOR view's labels, derived once per batch from raw per-entry counts."""

from __future__ import annotations

from screening.classification import PRONG_CONTROLLING_OWNER, PRONG_LOCATED
from streams.metrics import FilingProfile, filing_labels
from tests.factories import make_broker

BROKERS = {
    "B01": make_broker(filer_code="B01", ctpat_tier=0),
    "B02": make_broker(filer_code="B02", ctpat_tier=2),
}
BOTH = (PRONG_LOCATED, PRONG_CONTROLLING_OWNER)


def test_each_entry_is_labelled_by_category_bond_and_ctpat_path() -> None:
    profiles: dict[FilingProfile, int] = {
        ("foreign", "hold", "11", None, False, None, BOTH): 3,
        ("foreign", "hold", "01", "8", False, "B01", BOTH): 2,
        ("foreign", "release", "01", "8", False, "B02", (PRONG_LOCATED,)): 4,
        ("foreign", "hold", "62", "9", False, "ZZZ", BOTH): 1,
        ("us", "release", "01", "0", True, "B01", (PRONG_LOCATED,)): 5,
        ("us", "release", "86", None, True, None, ()): 6,
    }
    by_label, prongs = filing_labels(profiles, BROKERS)
    assert by_label == {
        ("foreign", "hold", "informal", "none", "self_filed"): 3,
        ("foreign", "hold", "formal", "continuous", "non_member_broker"): 2,
        ("foreign", "release", "formal", "continuous", "broker_member"): 4,
        # A filer the reference data does not know is not a CTPAT member.
        ("foreign", "hold", "in_bond", "single_transaction", "non_member_broker"): 1,
        # The IOR's own membership wins over the broker's.
        ("us", "release", "formal", "none", "ior_member"): 5,
        ("us", "release", "de_minimis", "none", "ior_member"): 6,
    }
    # Failed prongs are counted for foreign IORs only (a US IOR under the narrow reading
    # may fail one too).
    assert prongs == {PRONG_LOCATED: 3 + 2 + 4 + 1, PRONG_CONTROLLING_OWNER: 3 + 2 + 1}


def test_equal_labels_from_different_profiles_add_up() -> None:
    profiles: dict[FilingProfile, int] = {
        ("foreign", "hold", "01", "8", False, "B01", BOTH): 2,
        ("foreign", "hold", "02", "8", False, "ZZZ", (PRONG_LOCATED,)): 5,
    }
    by_label, _ = filing_labels(profiles, BROKERS)
    assert by_label == {("foreign", "hold", "formal", "continuous", "non_member_broker"): 7}


def test_labels_worked_out_before_are_reused_and_count_the_same() -> None:
    first: dict[FilingProfile, int] = {
        ("foreign", "hold", "01", "8", False, "B01", BOTH): 2,
        ("us", "release", "11", None, False, "B02", ()): 1,
    }
    second: dict[FilingProfile, int] = {
        ("foreign", "hold", "01", "8", False, "B01", BOTH): 3,
        ("foreign", "release", "62", "9", False, "B02", (PRONG_LOCATED,)): 4,
    }
    known: dict = {}
    assert filing_labels(first, BROKERS, known) == filing_labels(first, BROKERS)
    assert len(known) == 2
    # A profile seen in the first batch is labelled from memory in the second; the
    # counts and prongs are the second batch's own.
    known[("foreign", "hold", "01", "8", False, "B01", BOTH)] = (
        "foreign", "hold", "formal", "continuous", "remembered"
    )  # fmt: skip
    by_label, prongs = filing_labels(second, BROKERS, known)
    assert by_label == {
        ("foreign", "hold", "formal", "continuous", "remembered"): 3,
        ("foreign", "release", "in_bond", "single_transaction", "broker_member"): 4,
    }
    assert prongs == {PRONG_LOCATED: 3 + 4, PRONG_CONTROLLING_OWNER: 3}

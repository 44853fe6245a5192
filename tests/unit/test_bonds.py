"""CBP's continuous-bond sizing and the single-transaction bond's cover."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.bonds import continuous_bond_required, single_transaction_required


@pytest.mark.parametrize(
    ("duties", "required"),
    [
        (0, 50_000),  # the floor
        (400_000, 50_000),  # 10% = 40,000, below the floor
        (550_000, 60_000),  # 55,000 rounds up to the next 10,000
        (700_000, 70_000),  # exactly 70,000 stays (no float creep to 80,000)
        (1_000_000, 100_000),  # exactly 100,000 stays
        (1_000_010, 200_000),  # 100,001 rounds up to the next 100,000
        (12_345_678, 1_300_000),
    ],
)
def test_continuous_bond_sizing(duties: float, required: float) -> None:
    assert continuous_bond_required(duties) == required


@given(st.floats(min_value=0, max_value=1e10, allow_nan=False))
def test_sizing_rounds_up_to_the_right_step(duties: float) -> None:
    base = max(50_000, round(0.10 * duties, 2))
    required = continuous_bond_required(duties)
    step = 10_000 if base <= 100_000 else 100_000
    assert required % step == 0
    assert base <= required < base + step
    assert required >= 50_000


@given(st.floats(0, 1e9), st.floats(0, 1e9))
def test_sizing_never_decreases_with_more_duties(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert continuous_bond_required(low) <= continuous_bond_required(high)


def test_single_transaction_bond_covers_value_and_duties() -> None:
    assert single_transaction_required(10_000, 1_500, other_agency_goods=False) == 11_500


def test_single_transaction_bond_for_other_agency_goods_is_three_times_value() -> None:
    assert single_transaction_required(10_000, 1_500, other_agency_goods=True) == 30_000
    # ... unless value plus duties is more.
    assert single_transaction_required(100, 500, other_agency_goods=True) == 600

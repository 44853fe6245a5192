"""Bond arithmetic: CBP's continuous-bond sizing and the single-transaction bond's cover."""

from __future__ import annotations

import math


def continuous_bond_required(
    duties_paid_12m_usd: float, floor_usd: float = 50_000, rate: float = 0.10
) -> float:
    """The greater of the floor or ``rate`` of 12 months' duties, taxes and fees, rounded up
    to the next $10,000 up to $100,000 and to the next $100,000 above it."""
    # Round to cents first so that 0.1 * 700000 (= 70000.00000000001) is not pushed up a step.
    base = max(floor_usd, round(rate * duties_paid_12m_usd, 2))
    step = 10_000 if base <= 100_000 else 100_000
    return float(math.ceil(base / step) * step)


def single_transaction_required(
    entered_value_usd: float,
    duties_taxes_fees_usd: float,
    *,
    other_agency_goods: bool,
    pga_value_multiple: float = 3,
) -> float:
    """Entered value plus duties, taxes and fees; at least ``pga_value_multiple`` times the
    entered value when goods fall under another agency's requirements (FDA and others)."""
    required = entered_value_usd + duties_taxes_fees_usd
    if other_agency_goods:
        required = max(required, pga_value_multiple * entered_value_usd)
    return required

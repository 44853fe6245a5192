"""Shared fixtures. Broker fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import pytest

from screening.engine import ReferenceData, Screener
from screening.rulepack import RulePack, load_rule_pack


@pytest.fixture(scope="session")
def baseline_pack() -> RulePack:
    return load_rule_pack()


@pytest.fixture
def screener(baseline_pack: RulePack) -> Screener:
    return Screener(baseline_pack, ReferenceData())

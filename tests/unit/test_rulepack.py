"""The rule pack: validated on load, every rule explicit, candidates by override."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screening.rulepack import (
    RULE_IDS,
    RulePackError,
    load_rule_pack,
    parse_rule_pack,
    read_rule_pack_data,
    with_overrides,
)


def baseline() -> dict[str, Any]:
    return read_rule_pack_data()


def test_the_shipped_baseline_loads_with_a_version() -> None:
    pack = load_rule_pack()
    assert pack.version == "eo-2026-06-03.1"
    assert pack.rules.informal_value.params.informal_limit_usd == 2_500


def test_a_pack_must_state_every_rule() -> None:
    data = baseline()
    del data["rules"]["STRAW-IOR"]
    with pytest.raises(RulePackError, match=r"rules\.STRAW-IOR: Field required"):
        parse_rule_pack(data)


def test_an_unknown_rule_is_refused() -> None:
    data = baseline()
    data["rules"]["NO-SUCH-RULE"] = data["rules"]["EXPORT-DOCS"]
    with pytest.raises(RulePackError, match="NO-SUCH-RULE"):
        parse_rule_pack(data)


def test_bad_parameters_are_named() -> None:
    data = baseline()
    data["rules"]["RISK-TIER-EXAM"]["params"]["exam_rate"] = 1.5
    with pytest.raises(
        RulePackError, match=r"rules.RISK-TIER-EXAM.params.exam_rate: .*less than or equal to 1"
    ):
        parse_rule_pack(data)


def test_an_unknown_outcome_is_refused() -> None:
    data = baseline()
    data["rules"]["EXPORT-DOCS"]["outcome"] = "warn"
    with pytest.raises(RulePackError, match=r"rules\.EXPORT-DOCS\.outcome"):
        parse_rule_pack(data)


def test_a_json_pack_loads_too(tmp_path: Path) -> None:
    data = baseline()
    data["version"] = "custom.2"
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(data, default=str))
    assert load_rule_pack(path).version == "custom.2"


def test_an_unreadable_pack_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="cannot read rule pack"):
        load_rule_pack(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = ")
    with pytest.raises(RulePackError, match="is not valid toml"):
        load_rule_pack(broken)


def test_overrides_disable_and_set_parameters_and_mark_the_version() -> None:
    pack = with_overrides(
        baseline(), disable=("EXPORT-DOCS",), settings=("INFORMAL-VALUE.informal_limit_usd=800",)
    )
    assert pack.rules.export_docs.enabled is False
    assert pack.rules.informal_value.params.informal_limit_usd == 800
    assert pack.version.endswith("+candidate")


@pytest.mark.parametrize("bad", ["EXPORT-DOCS", "NOPE.x=1", "INFORMAL-VALUE.informal_limit_usd=-5"])
def test_bad_overrides_are_refused(bad: str) -> None:
    with pytest.raises(RulePackError):
        with_overrides(baseline(), settings=(bad,))


def test_rule_ids_are_exactly_the_catalogue() -> None:
    assert RULE_IDS == (
        "IOR-UNREGISTERED",
        "IOR-INACTIVE",
        "IOR-VOIDED",
        "IOR-STANDING",
        "IOR-DISCLOSURE",
        "IOR-ASSETS",
        "BOND-SUFFICIENCY",
        "FOREIGN-INFORMAL",
        "FOREIGN-CONTINUOUS-BOND",
        "FOREIGN-CTPAT",
        "FOREIGN-INBOND",
        "FOREIGN-ADCVD",
        "EXPORT-DOCS",
        "SUPPLY-CHAIN-CERT",
        "INFORMAL-VALUE",
        "DE-MINIMIS-SUSPENDED",
        "WATCHLIST-MATCH",
        "STRAW-IOR",
        "RISK-TIER-EXAM",
    )

"""The README's rule table says what the baseline pack does."""

from __future__ import annotations

import re
from pathlib import Path

from screening.rulepack import RulePack

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_rule_table_matches_the_baseline_pack(baseline_pack: RulePack) -> None:
    rows = re.findall(r"^\| `([A-Z-]+)` \| (\w+) \| [^|]+ \| ([^|]+) \|$", README.read_text(), re.M)
    table = {rule_id: (outcome, cure.strip()) for rule_id, outcome, cure in rows}
    expected = {
        rule_id: (rule.outcome, rule.cure) for rule_id, rule in baseline_pack.rules.by_id().items()
    }
    assert table == expected

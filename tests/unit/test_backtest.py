"""Backtesting a candidate rule pack: exactly the entries whose outcome changes, per-rule
totals under both packs, the same as-of semantics as `screen`, and the command's exits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from entry_screening import batch
from entry_screening.backtest import (
    Comparison,
    OutcomeChange,
    Position,
    numbered,
    render_table,
    run_backtest,
)
from entry_screening.cli import main
from entry_screening.synthetic import Dataset, FeedSpec, write_dataset
from schemas.decision import OUTCOME_SEVERITY, OUTCOMES
from screening.engine import Screener
from screening.rulepack import RulePack, load_rule_pack, read_rule_pack_data, with_overrides
from tests.factories import US_IOR, entry_data, ior_data, make_ior, make_line


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return write_dataset(FeedSpec(iors=300, entries=3_000, seed=5), tmp_path_factory.mktemp("feed"))


@pytest.fixture(scope="module")
def live_decisions(feed: Dataset) -> list[dict[str, Any]]:
    """The baseline's decisions from the batch form, independently of the backtest."""
    with feed.entries.open("rb") as entries:
        return batch.screen_files(feed.registry, feed.brokers, feed.watchlist, entries)


def held_by_rule_alone(decisions: list[dict[str, Any]], rule_id: str) -> dict[str, tuple[str, str]]:
    """Entries whose worst outcome came from ``rule_id`` only, with the outcome they get
    without it (the worst of the other rules' outcomes)."""
    expected = {}
    for decision in decisions:
        own = [h for h in decision["hits"] if h["rule_id"] == rule_id]
        if not own:
            continue
        others = [
            OUTCOME_SEVERITY[h["outcome"]] for h in decision["hits"] if h["rule_id"] != rule_id
        ]
        rest = max(others, default=0)
        if OUTCOME_SEVERITY[own[0]["outcome"]] > rest:
            expected[decision["entry_number"]] = (decision["outcome"], OUTCOMES[rest])
    return expected


def run_cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    status = main(["backtest", *args])
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err.decode()


def reference_args(feed: Dataset) -> list[str]:
    return [
        "--registry",
        str(feed.registry),
        "--brokers",
        str(feed.brokers),
        "--watchlist",
        str(feed.watchlist),
    ]


@pytest.mark.parametrize("rule_id", ["EXPORT-DOCS", "FOREIGN-CONTINUOUS-BOND", "WATCHLIST-MATCH"])
def test_disabling_a_rule_changes_exactly_the_entries_that_rule_alone_decided(
    feed: Dataset,
    live_decisions: list[dict[str, Any]],
    rule_id: str,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    expected = held_by_rule_alone(live_decisions, rule_id)
    with_rule = [d for d in live_decisions if rule_id in [h["rule_id"] for h in d["hits"]]]
    # The feed must hold both kinds of entry, or the test would prove nothing.
    assert expected, f"no entry decided by {rule_id} alone"
    assert len(with_rule) > len(expected), f"{rule_id} never matched beside an as bad rule"

    status, out, _ = run_cli(
        capsysbinary, *reference_args(feed), "--disable", rule_id, "--json", str(feed.entries)
    )
    assert status == 0
    report = json.loads(out)
    changed = {
        c["entry_number"]: (c["live_outcome"], c["candidate_outcome"]) for c in report["changed"]
    }
    assert changed == expected
    assert all(
        c["rules_removed"] == [rule_id] and c["rules_added"] == [] for c in report["changed"]
    )
    assert report["totals"][rule_id] == {
        "live": len(with_rule),
        "candidate": 0,
        "change": -len(with_rule),
    }
    assert all(t["change"] == 0 for r, t in report["totals"].items() if r != rule_id)
    assert (report["screened"], report["invalid"]) == (3_000, 0)
    assert report["candidate_pack_version"] == "eo-2026-06-03.1+candidate"


# --- the pure comparison -------------------------------------------------------------------


def screeners(candidate: RulePack) -> dict[str, Any]:
    return {"live": Screener(load_rule_pack()), "candidate": Screener(candidate)}


def lines(*entries: dict[str, Any]) -> list[tuple[Position, bytes]]:
    return [(Position(line=n), json.dumps(e).encode()) for n, e in enumerate(entries, start=1)]


def informal(number: str, value: float) -> dict[str, Any]:
    return entry_data(
        entry_number=number,
        entry_type="11",
        bond=None,
        entered_value_usd=value,
        lines=[make_line(entered_value_usd=value)],
    )


def test_a_lower_informal_limit_holds_the_entries_between_the_limits() -> None:
    candidate = with_overrides(
        read_rule_pack_data(), settings=("INFORMAL-VALUE.informal_limit_usd=800",)
    )
    report = run_backtest(
        lines(informal("ABC-0000001-0", 1_000), informal("ABC-0000002-8", 500)),
        **screeners(candidate),
        registry={US_IOR: make_ior()},
        source="test",
    )
    assert report.changed == (
        OutcomeChange("ABC-0000001-0", 0, "release", "hold", ("INFORMAL-VALUE",), ()),
    )
    assert report.totals == {"INFORMAL-VALUE": Comparison(live=0, candidate=1, change=1)}
    assert report.outcomes["release"] == Comparison(2, 1, -1)
    assert report.outcomes["hold"] == Comparison(0, 1, 1)
    assert (report.screened, report.invalid, report.hits_changed_same_outcome) == (2, 0, 0)


def test_effective_dates_follow_each_entrys_filing_time_unless_as_of_is_given() -> None:
    # EXPORT-DOCS takes effect on 2026-09-01; the candidate brings it forward to July.
    candidate = with_overrides(
        read_rule_pack_data(), settings=('EXPORT-DOCS.effective_from="2026-07-01"',)
    )
    august = entry_data(filed_at="2026-08-01T12:00:00+00:00", export_declaration_ref=None)
    registry = {US_IOR: make_ior()}
    by_filing = run_backtest(lines(august), **screeners(candidate), registry=registry, source="t")
    assert [(c.live_outcome, c.candidate_outcome) for c in by_filing.changed] == [
        ("release", "hold")
    ]
    before_both = run_backtest(
        lines(august),
        **screeners(candidate),
        registry=registry,
        source="t",
        as_of=datetime(2026, 6, 15, tzinfo=UTC),
    )
    assert before_both.changed == ()


def test_a_rule_change_that_keeps_the_outcome_is_counted_apart() -> None:
    # Two holds on the entry: without one of them it is still held.
    entry = entry_data(export_declaration_ref=None, supply_chain_cert_ref=None)
    candidate = with_overrides(read_rule_pack_data(), disable=("EXPORT-DOCS",))
    report = run_backtest(
        lines(entry), **screeners(candidate), registry={US_IOR: make_ior()}, source="t"
    )
    assert report.changed == ()
    assert report.hits_changed_same_outcome == 1
    assert report.totals["EXPORT-DOCS"] == Comparison(1, 0, -1)
    assert report.totals["SUPPLY-CHAIN-CERT"] == Comparison(1, 1, 0)


def test_invalid_lines_are_reported_with_their_position_and_the_rest_is_compared() -> None:
    candidate = with_overrides(read_rule_pack_data(), disable=("EXPORT-DOCS",))
    report = run_backtest(
        [(Position(line=1), b"{"), *lines(entry_data())[:1]],
        **screeners(candidate),
        registry={},
        source="entries.jsonl",
    )
    assert (report.screened, report.invalid) == (1, 1)
    assert report.errors[0].line == 1 and report.errors[0].source == "entries.jsonl"


def test_the_table_lists_outcomes_rules_and_changed_entries() -> None:
    candidate = with_overrides(read_rule_pack_data(), disable=("EXPORT-DOCS",))
    entry = entry_data(export_declaration_ref=None)
    report = run_backtest(
        numbered([(1, json.dumps(entry).encode())]),
        **screeners(candidate),
        registry={US_IOR: make_ior()},
        source="t",
    )
    table = "\n".join(render_table(report))
    assert "candidate pack  eo-2026-06-03.1+candidate" in table
    assert "EXPORT-DOCS" in table and "-1" in table
    assert "ABC-1234567-6     0  hold            release" in table


# --- the command ---------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    registry = write_jsonl(tmp_path / "iors.jsonl", [ior_data()])
    entries = write_jsonl(
        tmp_path / "e.jsonl",
        [
            entry_data(export_declaration_ref=None),
            "not json",
            entry_data(entry_number="ABC-0000001-0"),
        ],
    )
    return registry, entries


def test_the_command_prints_a_table_and_exits_1_on_invalid_lines(
    small: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry, entries = small
    status, out, err = run_cli(
        capsysbinary, "--registry", str(registry), "--disable", "EXPORT-DOCS", str(entries)
    )
    assert status == 1
    assert "e.jsonl:2: skipped:" in err
    text = out.decode()
    assert "screened 2 entries, 1 invalid lines; outcome changed for 1" in text
    assert "ABC-1234567-6" in text


def test_a_candidate_file_with_overrides_on_top(
    small: tuple[Path, Path], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry, entries = small
    data = read_rule_pack_data()
    data["version"] = "next.1"
    pack = tmp_path / "next.json"
    pack.write_text(json.dumps(data, default=str))
    status, out, _ = run_cli(
        capsysbinary, "--registry", str(registry), "--candidate", str(pack), "--json", str(entries)
    )
    report = json.loads(out)
    assert status == 1
    assert (report["candidate_pack_version"], report["changed"]) == ("next.1", [])
    status, out, _ = run_cli(
        capsysbinary,
        "--registry",
        str(registry),
        "--candidate",
        str(pack),
        "--set",
        "EXPORT-DOCS.enabled=false",
        "--json",
        str(entries),
    )
    report = json.loads(out)
    assert report["candidate_pack_version"] == "next.1+candidate"
    assert [c["entry_number"] for c in report["changed"]] == ["ABC-1234567-6"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to compare"),
        (("--disable", "NO-SUCH-RULE"), "no such rule"),
        (("--set", "EXPORT-DOCS.enabled"), "expected RULE.PARAM=VALUE"),
        (("--set", "INFORMAL-VALUE.informal_limit_usd=-1"), "not a valid rule pack"),
        (("--disable", "EXPORT-DOCS", "--since", "2027-01-01T00:00:00Z"), "--from-topic only"),
    ],
)
def test_usage_errors_exit_2(
    small: tuple[Path, Path],
    capsysbinary: pytest.CaptureFixture[bytes],
    args: tuple[str, ...],
    message: str,
) -> None:
    registry, entries = small
    status, out, err = run_cli(capsysbinary, "--registry", str(registry), *args, str(entries))
    assert (status, out) == (2, b"")
    assert message in err


def test_from_topic_needs_a_start_time(
    small: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry, _ = small
    status, _, err = run_cli(
        capsysbinary, "--registry", str(registry), "--disable", "EXPORT-DOCS", "--from-topic"
    )
    assert status == 2 and "--from-topic needs --since" in err


def test_entries_and_from_topic_exclude_each_other(
    small: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry, entries = small
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "backtest",
                "--registry",
                str(registry),
                "--disable",
                "EXPORT-DOCS",
                "--from-topic",
                "--since",
                "2027-01-01T00:00:00Z",
                str(entries),
            ]
        )
    assert exit_info.value.code == 2

"""The synthetic data generator: deterministic, valid, and the mix the demo promises."""

from __future__ import annotations

import collections
import io
from pathlib import Path

import orjson

from entry_screening import batch
from entry_screening.synthetic import FeedSpec, write_dataset
from schemas import codec
from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from screening.engine import Screener
from screening.rulepack import load_rule_pack


def test_a_seed_always_gives_the_same_files(tmp_path: Path) -> None:
    spec = FeedSpec(iors=200, entries=500, seed=3)
    first = write_dataset(spec, tmp_path / "a")
    second = write_dataset(spec, tmp_path / "b")
    for a, b in zip(vars(first).values(), vars(second).values(), strict=True):
        assert a.read_bytes() == b.read_bytes()
    other = write_dataset(FeedSpec(iors=200, entries=500, seed=4), tmp_path / "c")
    assert other.entries.read_bytes() != first.entries.read_bytes()


def test_generated_data_is_valid_except_the_lines_asked_to_be_broken(tmp_path: Path) -> None:
    data = write_dataset(FeedSpec(iors=300, entries=2_000, malformed=20), tmp_path)
    report = batch.LoadReport("registry")
    registry = batch.load_registry(data.registry, report)
    assert report.errors == [] and len(registry) == 300
    for path, model in ((data.brokers, BrokerRecord), (data.watchlist, WatchlistRecord)):
        for line in path.read_bytes().splitlines():
            codec.decode(model, line)
    refused = collections.Counter()
    for line in data.entries.read_bytes().splitlines():
        try:
            codec.decode(EntryFiling, line)
        except codec.InputRejected as error:
            refused[error.error_class] += 1
    assert sum(refused.values()) == 20
    assert set(refused) == {"malformed", "invalid"}


def test_the_feed_has_the_promised_mix(tmp_path: Path) -> None:
    data = write_dataset(FeedSpec(iors=1_000, entries=6_000), tmp_path)
    entries = [orjson.loads(line) for line in data.entries.read_bytes().splitlines()]
    types = collections.Counter(e["entry_type"] for e in entries)
    assert {"01", "11", "03", "62", "86"} <= set(types)
    assert sum(e["ior_number"][6] == "-" for e in entries) > 0.3 * len(entries)  # CBP-assigned
    reports = [batch.LoadReport("r")]
    registry = batch.load_registry(data.registry, reports[0])
    reference = batch.load_reference(data.brokers, data.watchlist, reports)
    with data.entries.open("rb") as feed:
        summary = batch.screen_stream(
            feed,
            io.BytesIO(),
            screener=Screener(load_rule_pack(), reference),
            registry=registry,
            source="feed",
        )
    assert set(summary.by_outcome) == {"release", "hold", "seizure_review"}
    assert summary.by_outcome["release"] > 0.1 * summary.screened
    for rule in (
        "FOREIGN-INFORMAL",
        "WATCHLIST-MATCH",
        "STRAW-IOR",
        "DE-MINIMIS-SUSPENDED",
        "EXPORT-DOCS",
        "IOR-UNREGISTERED",
        "FOREIGN-CTPAT",
    ):
        assert summary.by_rule[rule] > 0, rule

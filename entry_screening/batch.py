"""The batch form: JSON Lines files in, one decision or error object per entry line out.

No Kafka. Brokers preflighting their own filings and auditors replaying a day use this;
it runs the same core as the stream worker, so a file screened here gets the decisions the
pipeline would give.
"""

from __future__ import annotations

import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

import orjson
from pydantic import BaseModel

from schemas import codec
from schemas.audit import DeadLetter
from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from screening.activity import new_activity_counter
from screening.engine import ReferenceData, Screener
from screening.rulepack import RulePack, load_rule_pack
from screening.watchlist import WatchlistIndex

M = TypeVar("M", bound=BaseModel)


@dataclass
class LoadReport:
    """How a reference file loaded: the valid records and the refused lines."""

    source: str
    loaded: int = 0
    errors: list[DeadLetter] = field(default_factory=list)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines (numbers count blank lines too, as an editor shows them)."""
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def load_jsonl(path: Path, model: type[M], report: LoadReport) -> Iterator[M]:
    with path.open("rb") as stream:
        for number, line in read_lines(stream):
            try:
                record = codec.decode(model, line)
            except codec.InputRejected as rejected:
                report.errors.append(rejected.dead_letter(report.source, line=number))
                continue
            report.loaded += 1
            yield record


def load_registry(path: Path, report: LoadReport) -> dict[str, IorRecord]:
    # A later line for the same IOR replaces the earlier one, as on the compacted topic.
    return {record.ior_number: record for record in load_jsonl(path, IorRecord, report)}


def load_reference(
    brokers: Path | None, watchlist: Path | None, reports: list[LoadReport]
) -> ReferenceData:
    broker_map: dict[str, BrokerRecord] = {}
    index = WatchlistIndex()
    if brokers is not None:
        report = LoadReport(str(brokers))
        reports.append(report)
        broker_map = {b.filer_code: b for b in load_jsonl(brokers, BrokerRecord, report)}
    if watchlist is not None:
        report = LoadReport(str(watchlist))
        reports.append(report)
        by_id = {w.id: w for w in load_jsonl(watchlist, WatchlistRecord, report)}
        index = WatchlistIndex(by_id.values())
    return ReferenceData(broker_map, index)


@dataclass
class BatchSummary:
    screened: int = 0
    invalid: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> Iterable[str]:
        rate = self.screened / self.seconds if self.seconds else 0.0
        yield (
            f"screened {self.screened} entries, {self.invalid} invalid lines, "
            f"in {self.seconds:.2f} s ({rate:,.0f} entries/s)"
        )
        for outcome in ("release", "hold", "seizure_review"):
            yield f"  {outcome:<15} {self.by_outcome.get(outcome, 0):>9}"
        if self.by_rule:
            yield "  rule hits:"
            for rule_id, count in sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
                yield f"    {rule_id:<24} {count:>9}"


def screen_stream(
    entries: IO[bytes],
    out: IO[bytes],
    *,
    screener: Screener,
    registry: dict[str, IorRecord],
    source: str,
    as_of: datetime | None = None,
    audit_out: IO[bytes] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BatchSummary:
    """Screen every line of ``entries`` in order, writing decisions and error objects."""
    summary = BatchSummary()
    activity = new_activity_counter()
    started = time.perf_counter()
    lookup = registry.get
    for number, line in read_lines(entries):
        try:
            if as_of is None:
                # The hot path, as the worker takes it: bytes to decision and its JSON.
                decision, encoded, audit, *_ = screener.screen_message(
                    line, lookup, screened_at=clock(), activity=activity
                )
            else:
                entry = codec.decode(EntryFiling, line)
                activity.record(entry.ior_number, entry.filed_at)
                decision, encoded, audit = screener.screen_encoded(
                    entry,
                    lookup(entry.ior_number),
                    screened_at=as_of,
                    as_of=as_of,
                    activity=activity,
                )
        except codec.InputRejected as rejected:
            summary.invalid += 1
            out.write(codec.encode_line(rejected.dead_letter(source, line=number)))
            continue
        out.write(encoded + b"\n")
        if audit_out is not None:
            audit_out.write(audit + b"\n")
        summary.screened += 1
        summary.by_outcome[decision.outcome] += 1
        summary.by_rule.update(hit.rule_id for hit in decision.hits)
    summary.seconds = time.perf_counter() - started
    return summary


def screen_files(
    registry: Path,
    brokers: Path | None,
    watchlist: Path | None,
    entries: IO[bytes],
    pack: RulePack | None = None,
) -> list[dict[str, object]]:
    """What ``entry-screening screen`` writes for these files, as objects (decisions and
    error objects, in input order): the reference the stream and backtests compare with."""
    reports = [LoadReport(str(registry))]
    records = load_registry(registry, reports[0])
    reference = load_reference(brokers, watchlist, reports)
    out = io.BytesIO()
    screen_stream(
        entries,
        out,
        screener=Screener(pack or load_rule_pack(), reference),
        registry=records,
        source="entries",
    )
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def report_load_errors(reports: list[LoadReport], err: IO[str] | None = None) -> int:
    err = err or sys.stderr
    refused = 0
    for report in reports:
        for error in report.errors:
            refused += 1
            err.write(f"{report.source}:{error.line}: skipped: {error.message}\n")
        err.write(f"{report.source}: loaded {report.loaded}, skipped {len(report.errors)}\n")
    return refused

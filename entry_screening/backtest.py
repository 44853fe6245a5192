"""Backtesting a candidate rule pack: screen the same entries under both packs and compare.

Before a policy change goes live (a rule switched off, a threshold moved, a new pack) an
operator wants to know which entries would be decided differently. :class:`Backtest` takes
entry lines one at a time, from a file or a topic, screens each with the live screener and
the candidate screener under the same ``as_of`` semantics as ``entry-screening screen``
(each entry's ``filed_at`` unless fixed), and keeps only what differs: the entries whose
outcome changes, with the rules added and removed, and the hits per rule under each pack.
No I/O and no clock here; the command feeds it and prints its report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from schemas import codec
from schemas.audit import DeadLetter
from schemas.decision import OUTCOMES, Outcome
from schemas.entry import EntryFiling
from schemas.registry import IorRecord
from screening.activity import ActivityCounter
from screening.engine import Screener
from screening.rulepack import RULE_IDS


@dataclass(frozen=True)
class Position:
    """Where an entry line came from: a line of a file, or a partition and offset."""

    line: int | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class OutcomeChange:
    """An entry decided differently under the candidate pack."""

    entry_number: str
    revision: int
    live_outcome: Outcome
    candidate_outcome: Outcome
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """One count under the live and the candidate pack."""

    live: int
    candidate: int
    change: int


@dataclass(frozen=True)
class BacktestReport:
    live_pack_version: str
    candidate_pack_version: str
    screened: int
    invalid: int
    # Entries whose outcome changes, in input order.
    changed: tuple[OutcomeChange, ...]
    # Entries whose matched rules change while the outcome stays the same.
    hits_changed_same_outcome: int
    outcomes: dict[str, Comparison]
    # Hits per rule, in catalogue order; rules that matched under neither pack are left out.
    totals: dict[str, Comparison]
    errors: tuple[DeadLetter, ...]


def _compare(
    live: Counter[str], candidate: Counter[str], keys: Iterable[str]
) -> dict[str, Comparison]:
    return {key: Comparison(live[key], candidate[key], candidate[key] - live[key]) for key in keys}


class Backtest:
    """Accumulates the comparison entry by entry, so a topic of any length fits in memory.

    Both screeners see the same activity counter, recorded once per entry before screening,
    exactly as the batch command records it.
    """

    def __init__(
        self,
        live: Screener,
        candidate: Screener,
        registry: Mapping[str, IorRecord],
        *,
        source: str,
        as_of: datetime | None = None,
    ) -> None:
        self._live = live
        self._candidate = candidate
        self._registry = registry
        self._source = source
        self._as_of = as_of
        self._activity = ActivityCounter()
        self._screened = 0
        self._changed: list[OutcomeChange] = []
        self._hits_changed = 0
        self._errors: list[DeadLetter] = []
        self._outcomes: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._hits: tuple[Counter[str], Counter[str]] = (Counter(), Counter())

    def add(self, line: bytes, position: Position) -> None:
        try:
            entry = codec.decode(EntryFiling, line)
        except codec.InputRejected as rejected:
            self._errors.append(
                rejected.dead_letter(
                    self._source,
                    line=position.line,
                    partition=position.partition,
                    offset=position.offset,
                )
            )
            return
        self.add_entry(entry)

    def add_entry(self, entry: EntryFiling) -> None:
        self._activity.record(entry.ior_number, entry.filed_at)
        ior = self._registry.get(entry.ior_number)
        # screened_at is only stamped on the decision; fixing it keeps the run clock-free.
        at = self._as_of or entry.filed_at
        live = self._live.screen(
            entry, ior, screened_at=at, as_of=self._as_of, activity=self._activity
        )
        candidate = self._candidate.screen(
            entry, ior, screened_at=at, as_of=self._as_of, activity=self._activity
        )
        self._screened += 1
        self._outcomes[0][live.outcome] += 1
        self._outcomes[1][candidate.outcome] += 1
        live_rules, candidate_rules = live.rule_ids, candidate.rule_ids
        self._hits[0].update(live_rules)
        self._hits[1].update(candidate_rules)
        if live.outcome != candidate.outcome:
            self._changed.append(
                OutcomeChange(
                    entry_number=entry.entry_number,
                    revision=entry.revision,
                    live_outcome=live.outcome,
                    candidate_outcome=candidate.outcome,
                    rules_added=tuple(r for r in candidate_rules if r not in live_rules),
                    rules_removed=tuple(r for r in live_rules if r not in candidate_rules),
                )
            )
        elif set(live_rules) != set(candidate_rules):
            self._hits_changed += 1

    def report(self) -> BacktestReport:
        live_hits, candidate_hits = self._hits
        matched = [r for r in RULE_IDS if live_hits[r] or candidate_hits[r]]
        # A rule id outside the catalogue cannot come from the engine, but would not be lost.
        matched += sorted((set(live_hits) | set(candidate_hits)) - set(RULE_IDS))
        return BacktestReport(
            live_pack_version=self._live.pack.version,
            candidate_pack_version=self._candidate.pack.version,
            screened=self._screened,
            invalid=len(self._errors),
            changed=tuple(self._changed),
            hits_changed_same_outcome=self._hits_changed,
            outcomes=_compare(*self._outcomes, OUTCOMES),
            totals=_compare(live_hits, candidate_hits, matched),
            errors=tuple(self._errors),
        )


def run_backtest(
    lines: Iterable[tuple[Position, bytes]],
    *,
    live: Screener,
    candidate: Screener,
    registry: Mapping[str, IorRecord],
    source: str,
    as_of: datetime | None = None,
) -> BacktestReport:
    """Screen every line under both packs and report the differences."""
    backtest = Backtest(live, candidate, registry, source=source, as_of=as_of)
    for position, line in lines:
        backtest.add(line, position)
    return backtest.report()


def numbered(lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[Position, bytes]]:
    """File lines as numbered by :func:`entry_screening.batch.read_lines`, with positions."""
    for number, line in lines:
        yield Position(line=number), line


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def render_table(report: BacktestReport) -> Iterator[str]:
    """The report as text for a terminal: outcomes, rules, then each changed entry."""
    yield f"live pack       {report.live_pack_version}"
    yield f"candidate pack  {report.candidate_pack_version}"
    yield (
        f"screened {report.screened:,} entries, {report.invalid:,} invalid lines; "
        f"outcome changed for {len(report.changed):,}, matched rules changed without an "
        f"outcome change for {report.hits_changed_same_outcome:,}"
    )
    yield ""
    yield f"{'outcome':<26} {'live':>10} {'candidate':>10} {'change':>10}"
    for outcome, row in report.outcomes.items():
        yield f"{outcome:<26} {row.live:>10,} {row.candidate:>10,} {_signed(row.change):>10}"
    yield ""
    yield f"{'rule hits':<26} {'live':>10} {'candidate':>10} {'change':>10}"
    for rule_id, row in report.totals.items():
        yield f"{rule_id:<26} {row.live:>10,} {row.candidate:>10,} {_signed(row.change):>10}"
    if not report.totals:
        yield "(no rule matched under either pack)"
    yield ""
    if not report.changed:
        yield "no entry changes outcome"
        return
    yield f"entries whose outcome changes ({len(report.changed):,}):"
    yield (
        f"{'entry number':<15} {'rev':>3}  {'live':<15} {'candidate':<15} "
        f"{'rules added':<28} rules removed"
    )
    for change in report.changed:
        added = ", ".join(change.rules_added) or "-"
        removed = ", ".join(change.rules_removed) or "-"
        yield (
            f"{change.entry_number:<15} {change.revision:>3}  {change.live_outcome:<15} "
            f"{change.candidate_outcome:<15} {added:<28} {removed}"
        )

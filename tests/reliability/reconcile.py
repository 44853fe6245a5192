"""The end of every fault test: what was fed against what came out, and the results table.

Every record fed to entries.filed must end as a decision at filing (``trigger`` "filed")
for its entry revision, or, if the pipeline cannot use it, as a dead letter carrying its
original bytes. Delivery is at-least-once, so a record may come out twice after a fault;
a repeat is only allowed as the same ``decision_id`` with the same outcome and the same
matched rules (or the same dead letter: same source partition and offset). Anything else
is a loss, a conflict or an output nobody fed. A repeat whose reason texts differ (a count
in a reason that a replay changed) is allowed but counted, as ``reworded``.

Each test records its figures with :func:`record_result`; ``python -m
tools.reliability_table`` prints them as a markdown table.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import codec
from schemas.audit import DEAD_LETTER_HEADERS
from schemas.entry import EntryFiling
from streams.kafka import client_options
from streams.settings import Settings
from tools.kraft import REPO, kafka_version

RESULTS_FILE = REPO / "var" / "reliability" / "results.json"
# Reading every output back (tens of thousands of records, a few MB) takes seconds here;
# 120 s allows for a loaded CI machine and still ends a read that can never finish.
READ_TIMEOUT_S = 120.0


def lines(path: Path) -> Iterator[bytes]:
    """The records a file feeds (what ``loaders.feed`` sends: stripped, non-empty lines)."""
    with path.open("rb") as stream:
        for raw in stream:
            line = raw.strip()
            if line:
                yield line


@dataclass
class Feed:
    """What a test fed, sorted the way the pipeline must sort it."""

    max_bytes: int
    records: int = 0
    good: set[tuple[str, int]] = field(default_factory=set)  # (entry number, revision)
    bad: Counter[bytes | None] = field(default_factory=Counter)  # values due in the DLQ

    def add(self, values: Iterable[bytes | None]) -> Feed:
        for value in values:
            self.records += 1
            try:
                if value is None:
                    raise codec.InputRejected("malformed", ())
                entry = codec.decode(EntryFiling, value, max_bytes=self.max_bytes)
            except codec.InputRejected:
                self.bad[value] += 1
                continue
            self.good.add((entry.entry_number, entry.revision))
        return self


@dataclass
class Outputs:
    decisions: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[Any] = field(default_factory=list)  # aiokafka ConsumerRecords


async def read_to_end(settings: Settings) -> Outputs:
    """Every record of the decision topics and the DLQ, up to their end offsets now.

    Call it once the group has committed everything fed: outputs are acknowledged before
    their input is committed, so by then every output is on its topic."""
    topics = settings.topics
    names = [
        topics.entries_released,
        topics.entries_holds,
        topics.entries_seizure_review,
        topics.entries_filed_dlq,
    ]
    # Every output topic has the pipeline's partition count (streams/topics.py).
    tps = [TopicPartition(name, p) for name in names for p in range(settings.partitions)]
    consumer = AIOKafkaConsumer(
        **client_options(settings, role="test-reconcile"),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1_048_576,
    )
    await consumer.start()
    outputs = Outputs()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        todo = {tp for tp, end in ends.items() if end > 0}
        deadline = time.monotonic() + READ_TIMEOUT_S
        while todo:
            if time.monotonic() > deadline:
                raise AssertionError(f"outputs not read to their end in {READ_TIMEOUT_S:.0f} s")
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    if tp.topic == topics.entries_filed_dlq:
                        outputs.dead_letters.append(record)
                    else:
                        outputs.decisions.append(orjson.loads(record.value))
                if records and records[-1].offset + 1 >= ends[tp]:
                    todo.discard(tp)
        return outputs
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Reconciliation:
    fed: int
    decided: int  # fed entry revisions with a decision at filing
    dlq: int  # fed records refused, found in the DLQ
    lost: int  # fed records with neither
    duplicates: int  # repeated decisions (same id) and repeated dead letters
    unexpected: int  # decisions or dead letters for nothing that was fed
    conflicts: int  # one entry revision given two ids, or one id two outcomes or rule sets
    reworded: int  # one id repeated with the same outcome and rules but other reason texts
    without_headers: int  # dead letters missing a header that says why and from where
    examples: tuple[str, ...] = ()

    def check(self) -> None:
        """Nothing lost, nothing made up, no decision contradicting another."""
        problems = {
            "lost": self.lost,
            "unexpected": self.unexpected,
            "conflicts": self.conflicts,
            "without_headers": self.without_headers,
        }
        assert not any(problems.values()), f"{problems}; e.g. {list(self.examples)}"
        assert self.decided + self.dlq == self.fed, self


def reconcile(feed: Feed, outputs: Outputs) -> Reconciliation:
    filed = [d for d in outputs.decisions if d["trigger"] == "filed"]
    ids_by_entry: dict[tuple[str, int], set[str]] = {}
    verdicts: dict[str, set[bytes]] = {}  # decision id -> (outcome, rule ids) seen with it
    wordings: dict[str, set[bytes]] = {}  # decision id -> hits (reasons included) seen with it
    entry_of: dict[str, tuple[str, int]] = {}
    for decision in filed:
        entry = (decision["entry_number"], decision["entry_revision"])
        decision_id = decision["decision_id"]
        ids_by_entry.setdefault(entry, set()).add(decision_id)
        rules = [hit["rule_id"] for hit in decision["hits"]]
        verdicts.setdefault(decision_id, set()).add(orjson.dumps([decision["outcome"], rules]))
        wordings.setdefault(decision_id, set()).add(orjson.dumps(decision["hits"]))
        entry_of[decision_id] = entry
    decided = feed.good & ids_by_entry.keys()
    missing = feed.good - ids_by_entry.keys()
    made_up = ids_by_entry.keys() - feed.good
    conflicts = [f"{e}: ids {sorted(ids)}" for e, ids in ids_by_entry.items() if len(ids) > 1]
    conflicts += [
        f"{i} {entry_of[i]}: " + " vs ".join(sorted(v.decode() for v in found))
        for i, found in verdicts.items()
        if len(found) > 1
    ]
    reworded = sum(len(found) > 1 for found in wordings.values()) - sum(
        len(found) > 1 for found in verdicts.values()
    )

    unique: dict[tuple[bytes | None, ...], Any] = {}  # one per source record
    without_headers = 0
    for record in outputs.dead_letters:
        headers = dict(record.headers or ())
        if set(DEAD_LETTER_HEADERS) - headers.keys():
            without_headers += 1
        source = tuple(
            headers.get(h) for h in ("source.topic", "source.partition", "source.offset")
        )
        unique.setdefault(source, record)
    refused = Counter(record.value for record in unique.values())
    matched = sum((refused & feed.bad).values())
    lost_bad = sum(feed.bad.values()) - matched
    extra_dead = len(unique) - matched

    examples = [f"no decision for {e}" for e in sorted(missing)[:3]]
    examples += [f"decided but never fed: {e}" for e in sorted(made_up)[:3]]
    examples += [f"conflicting decisions: {c}" for c in conflicts[:3]]
    if lost_bad:
        examples.append(f"{lost_bad} refused records missing from the DLQ")
    if extra_dead:
        examples.append(f"{extra_dead} dead letters for records never fed as bad")
    return Reconciliation(
        fed=feed.records,
        decided=len(decided),
        dlq=matched,
        lost=len(missing) + lost_bad,
        duplicates=(len(filed) - len(verdicts)) + (len(outputs.dead_letters) - len(unique)),
        unexpected=len(made_up) + extra_dead,
        conflicts=len(conflicts),
        reworded=reworded,
        without_headers=without_headers,
        examples=tuple(examples),
    )


def record_result(
    key: str,
    fault: str,
    result: Reconciliation,
    *,
    recovery_s: list[float],
    recovery: str,
    brokers: int = 1,
    notes: str = "",
) -> None:
    """Add (or replace) this fault's row in var/reliability/results.json."""
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Any] = {}
    if RESULTS_FILE.exists():
        rows = orjson.loads(RESULTS_FILE.read_bytes())
    row = asdict(result)
    del row["examples"]
    rows[key] = {
        **row,
        "fault": fault,
        "recovery_s": [round(s, 2) for s in recovery_s],
        "recovery": recovery,
        "notes": notes,
        "broker": f"Apache Kafka {kafka_version()}, {brokers} node{'s' if brokers > 1 else ''}",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS_FILE.write_bytes(
        orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )

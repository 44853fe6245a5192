"""The screening loop's short paths for holds and registry lookups give what the general
ones give.

* ``OpenHold.to_wire`` writes its record piece by piece: the bytes must be orjson's for
  the record as a dict, and read back to the same hold.
* ``HoldBook.open_at_filing`` (a decision at filing on an entry with no hold) must leave
  the book and the output exactly as ``HoldBook.record`` does.
* ``RegistryView.lookup`` remembers "no such IOR" as well as records, so a change on the
  registry topic must make it look again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from streams.holds import HoldBook, OpenHold
from streams.mirror import MemoryStore, TopicMirror
from streams.output import OutputBatch
from streams.settings import Settings
from streams.state import RegistryView
from tests.factories import make_ior

stamps = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).flatmap(
    lambda at: st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    ).map(lambda zone: at.replace(tzinfo=zone))
)
texts = st.text(max_size=20)
entries = st.dictionaries(
    st.text(max_size=8), st.integers(-(2**53), 2**53) | texts, max_size=4
).map(orjson.dumps)


def dict_form(hold: OpenHold) -> bytes:
    return orjson.dumps(
        {
            "entry_number": hold.entry_number,
            "ior_number": hold.ior_number,
            "entry": orjson.Fragment(hold.entry_raw),
            "decision_id": hold.decision_id,
            "outcome": hold.outcome,
            "rule_ids": hold.rule_ids,
            "held_at": hold.held_at,
            "updated_at": hold.updated_at,
            "escalated": hold.escalated,
            "resolutions": hold.resolutions,
            "registry_digest": hold.registry_digest,
        },
        option=orjson.OPT_UTC_Z,
    )


@settings(max_examples=300, deadline=None)
@given(
    texts,
    texts,
    entries,
    texts,
    st.sampled_from(["hold", "seizure_review"]),
    st.lists(texts, max_size=4).map(tuple),
    stamps,
    st.none() | stamps,
    st.booleans(),
    st.lists(texts, max_size=3).map(tuple),
    texts,
)
def test_a_hold_record_is_orjsons_dict_and_reads_back(
    entry_number: str,
    ior_number: str,
    entry_raw: bytes,
    decision_id: str,
    outcome: str,
    rule_ids: tuple[str, ...],
    held_at: datetime,
    updated_at: datetime | None,
    escalated: bool,
    resolutions: tuple[str, ...],
    digest: str,
) -> None:
    hold = OpenHold(
        entry_number,
        ior_number,
        entry_raw,
        decision_id,
        outcome,
        rule_ids,
        held_at,
        held_at if updated_at is None else updated_at,  # one stamp for both, as at filing
        escalated,
        resolutions,
        digest,
    )
    wire = hold.to_wire()
    assert wire == dict_form(hold)
    back = OpenHold.from_wire(wire)
    assert back == OpenHold(**{**_fields(hold), "entry_raw": orjson.dumps(orjson.loads(entry_raw))})


def _fields(hold: OpenHold) -> dict[str, Any]:
    return {name: getattr(hold, name) for name in OpenHold.__slots__}


class Registry:
    def digest(self, ior_number: str) -> str:
        return f"digest-{ior_number}"


def book_after(calls: list[tuple[str, str, str]], short: bool) -> tuple[Any, ...]:
    s = Settings()
    book = HoldBook(s, Registry())  # type: ignore[arg-type]
    # aiokafka's builders (the native core's batches when it is installed)
    producer = SimpleNamespace(
        create_batch=lambda: BatchBuilder(1_048_576, 0, is_transactional=False)
    )
    out = OutputBatch(producer, {s.topics.holds_state: 6})  # type: ignore[arg-type]
    emitter = SimpleNamespace(out=out)
    at = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    for n, (entry_number, ior_number, outcome) in enumerate(calls):
        decision = SimpleNamespace(
            entry_number=entry_number,
            decision_id=f"id-{n}",
            outcome=outcome,
            rule_ids=("FOREIGN-CTPAT", f"R{n}"),
            screened_at=at,
        )
        raw = b'{"n":%d}' % n
        if short and entry_number not in book.table and outcome != "release":
            book.open_at_filing(out, n % 7, decision, ior_number, raw)  # type: ignore[arg-type]
        else:
            book.record(emitter, n % 7, decision, ior_number, raw)  # type: ignore[arg-type]
    written = [
        (topic, partition, [(r.key, r.value) for r in DefaultRecordBatch(batch._build())])
        for topic, partition, batch in out.batches()
    ]
    holds = {
        partition: {key: _fields(hold) for key, hold in values.items()}
        for partition, values in book.table.partitions.items()
    }
    return written, holds, {n: book.table.partition_of(n) for n in book.table._where}, book.by_ior


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["E1", "E2", "E3", "E4"]),
            st.sampled_from(["IOR-A", "IOR-B"]),
            st.sampled_from(["release", "hold", "seizure_review"]),
        ),
        max_size=25,
    )
)
def test_opening_a_hold_at_filing_does_what_record_does(calls: list[tuple[str, str, str]]) -> None:
    assert book_after(calls, short=True) == book_after(calls, short=False)


def test_the_registry_lookup_sees_an_ior_that_was_unknown_once_it_is_registered() -> None:
    s = Settings()
    mirror = TopicMirror(s, s.topics.ior_registry, MemoryStore())
    view = RegistryView(mirror)
    record = make_ior()
    number = record.ior_number
    assert view.lookup(number) is None
    assert view.digest(number) == "none"

    changes = [(number.encode(), codec.encode(record))]
    mirror.store.apply(changes, {})
    for listener in mirror.listeners:  # what the mirror does with every applied batch
        listener(changes)
    found = view.lookup(number)
    assert found == record
    assert view.lookup(number) is found  # decoded once, then kept
    digest = view.digest(number)
    assert digest not in {"none", ""}

    changes = [(number.encode(), b"{not json")]
    mirror.store.apply(changes, {})
    for listener in mirror.listeners:
        listener(changes)
    assert view.lookup(number) is None  # unreadable counts as no record
    assert view.invalid_records == 1
    assert view.digest(number) not in {"none", digest}

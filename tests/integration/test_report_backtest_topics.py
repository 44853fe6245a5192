"""The topic forms of `report` and `backtest` on a real broker: a bounded read from the
beginning (or from a time) to the end offsets captured when the read starts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from entry_screening.cli import main
from entry_screening.penalty_commands import read_topic_to_end
from schemas.formats import entry_number_from_parts
from streams.kafka import producer_options
from streams.settings import Settings
from tests.factories import US_IOR, entry_data, ior_data
from tests.integration.harness import BrokerUnderTest, prepare, produce


def use_topics(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands build their settings from the environment, as in production."""
    for name, value in settings.topics.as_environment().items():
        monkeypatch.setenv(name, value)


def audit_event(number: int, at: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"ev-{number}",
            "event_type": "EntryScreened",
            "subject": f"S{number}",
            "occurred_at": at,
            "outcome": "hold" if number % 2 else "release",
            "rule_ids": ["EXPORT-DOCS"] if number % 2 else [],
            "details": {"ior_classification": "us", "risk_tier": 2, "trigger": "filed"},
        }
    )


def test_the_report_reads_the_audit_topic_to_its_end(
    broker: BrokerUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = broker.settings(tmp_path)
    topic = settings.topics.screening_audit
    records: list[tuple[bytes | None, bytes | None]] = [
        (f"k{n}".encode(), audit_event(n, f"2027-0{1 + n % 9}-10T00:00:00Z")) for n in range(40)
    ]
    records += [(b"k0", audit_event(0, "2027-01-10T00:00:00Z"))]  # a replayed event
    records += [(b"k1", b"not an audit event"), (b"k2", audit_event(99, "2026-12-31T23:00:00Z"))]

    async def setup() -> None:
        await prepare(settings)
        await produce(settings, topic, records)

    asyncio.run(setup())
    use_topics(settings, monkeypatch)
    out = tmp_path / "report"
    status = main(
        [
            "report",
            "--year",
            "2027",
            "--out",
            str(out),
            "--from-topic",
            "--bootstrap",
            broker.bootstrap,
        ]
    )
    err = capsys.readouterr().err
    assert status == 1, err  # the line that is not an event
    report = json.loads((out / "report.json").read_text())
    assert report["source"]["events_read"] == 42
    assert report["source"]["duplicates_skipped"] == 1
    assert report["source"]["invalid_lines"] == 1
    assert report["screening"]["decisions"] == 40
    assert report["screening"]["by_outcome"] == {"release": 20, "hold": 20, "seizure_review": 0}
    assert f"{topic}[" in err and "skipped" in err


def test_records_produced_during_the_read_are_left_for_the_next_one(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    topic = settings.topics.screening_audit
    first = [(f"k{n}".encode(), audit_event(n, "2027-02-01T00:00:00Z")) for n in range(30)]

    async def scenario() -> tuple[int, int]:
        await prepare(settings)
        await produce(settings, topic, first)
        started = asyncio.Event()
        seen: list[int] = []

        def on_record(partition: int, offset: int, value: bytes) -> None:
            seen.append(offset)
            started.set()

        async def keep_producing() -> int:
            await started.wait()
            later = [(b"late", audit_event(1_000 + n, "2027-02-02T00:00:00Z")) for n in range(50)]
            return await produce(settings, topic, later)

        producer = asyncio.create_task(keep_producing())
        # Bound: a read of 30 records ends in well under a second on a healthy broker.
        read = await asyncio.wait_for(read_topic_to_end(settings, topic, on_record), 60)
        late = await asyncio.wait_for(producer, 60)
        return read, late

    read, late = asyncio.run(scenario())
    assert (read, late) == (30, 50)


def test_an_empty_or_missing_topic_ends_at_once_or_says_so(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)

    async def scenario() -> int:
        await prepare(settings)
        return await read_topic_to_end(settings, settings.topics.screening_audit, print)

    assert asyncio.run(scenario()) == 0
    missing = broker.settings(tmp_path)  # a fresh prefix: no topic created
    with pytest.raises(RuntimeError, match="does not exist"):
        asyncio.run(read_topic_to_end(missing, missing.topics.screening_audit, print))


async def produce_at(
    settings: Settings, topic: str, records: list[tuple[dict[str, Any], datetime]]
) -> None:
    producer = AIOKafkaProducer(**producer_options(settings, role="test"))
    await producer.start()
    try:
        sends = [
            await producer.send(
                topic,
                key=entry["ior_number"].encode(),
                value=orjson.dumps(entry),
                timestamp_ms=int(at.timestamp() * 1000),
            )
            for entry, at in records
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def test_the_backtest_reads_entries_filed_from_a_time(
    broker: BrokerUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    settings = broker.settings(tmp_path)
    since = datetime.now(UTC).replace(microsecond=0)
    before, after = since - timedelta(hours=2), since + timedelta(minutes=1)
    numbers = [entry_number_from_parts("ABC", serial) for serial in range(1, 5)]
    records = [
        (entry_data(entry_number=n, ior_number=US_IOR, export_declaration_ref=None), before)
        for n in numbers[:2]
    ] + [
        (
            entry_data(
                entry_number=n,
                ior_number=US_IOR,
                export_declaration_ref=None if i % 2 == 0 else "EXP-1",
            ),
            after,
        )
        for i, n in enumerate(numbers[2:])
    ]

    async def setup() -> None:
        await prepare(settings)
        await produce_at(settings, settings.topics.entries_filed, records)

    asyncio.run(setup())
    registry = tmp_path / "iors.jsonl"
    registry.write_text(json.dumps(ior_data()) + "\n")
    use_topics(settings, monkeypatch)
    status = main(
        [
            "backtest",
            "--registry",
            str(registry),
            "--disable",
            "EXPORT-DOCS",
            "--json",
            "--from-topic",
            "--since",
            since.isoformat(),
            "--bootstrap",
            broker.bootstrap,
        ]
    )
    captured = capsysbinary.readouterr()
    assert status == 0, captured.err.decode()
    report = json.loads(captured.out)
    assert report["screened"] == 2
    # Of the two entries filed after `since`, only the first lacks the export declaration.
    assert [c["entry_number"] for c in report["changed"]] == [numbers[2]]

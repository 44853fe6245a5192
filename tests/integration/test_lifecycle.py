"""The registry's and the holds' lifecycle on a real broker: cures, officers' decisions,
deadlines, holds surviving a restart, vetting alerts, the inactivity sweep, entity-list
loads, and the audit trail of one IOR."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from entry_screening.demo import metrics_text, start_worker
from schemas.formats import entry_number_from_parts
from streams.embedded import free_port
from streams.replay import partitions_of, reader
from streams.settings import Settings
from tests.factories import entry_data, ior_data, make_watch
from tests.integration.harness import (
    BrokerUnderTest,
    Outputs,
    entry_record,
    prepare,
    produce,
    read_outputs,
    running_worker,
    wait_for,
)

IOR = "12-3456789AB"
KEY = IOR.encode()
NUMBERS = [entry_number_from_parts("LCY", n) for n in range(1, 6)]


def resolution(number: str, action: str, **fields: Any) -> tuple[bytes, bytes]:
    data = {
        "resolution_id": f"R-{number}-{action}",
        "entry_number": number,
        "ior_number": IOR,
        "action": action,
        "resolved_at": "2026-12-02T09:00:00Z",
        **fields,
    }
    return KEY, orjson.dumps(data)


def test_resolutions_cure_release_and_seize_exactly_their_entries(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    held = [entry_data(entry_number=n, export_declaration_ref=None) for n in NUMBERS[:4]]

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(ior_data()))])
        async with running_worker(settings) as runtime:
            await produce(settings, settings.topics.entries_filed, map(entry_record, held))
            await read_outputs(settings, lambda o: o.accounted >= 4)
            assert runtime.loop is not None and len(runtime.loop.holds) == 4
            await produce(
                settings,
                settings.topics.holds_resolutions,
                [
                    resolution(NUMBERS[0], "cure", export_declaration_ref="CN-EXP-77"),
                    resolution(NUMBERS[0], "cure", export_declaration_ref="CN-EXP-77"),  # replay
                    resolution(NUMBERS[1], "officer_release", officer_id="OFC-7"),
                    resolution(
                        NUMBERS[2], "confirm_seizure", officer_id="OFC-7", note="fake goods"
                    ),
                    resolution(NUMBERS[4], "officer_release", officer_id="OFC-7"),  # nothing held
                    (KEY, b'{"resolution_id": "R-x", "action": "cure"}'),  # invalid
                ],
            )
            # Everything expected: four decisions at filing, three after a resolution (the
            # replayed cure decides nothing again) and two dead letters. Waiting for fewer
            # could stop before a decision whose audit event was already read.
            outputs = await read_outputs(
                settings,
                lambda o: (
                    o.accounted >= 9
                    and len(o.dead_letters) >= 2
                    and len(o.events("HoldResolved")) >= 3
                ),
                with_audit=True,
            )
            await wait_for(lambda: len(runtime.loop.holds) == 1, 10, "the holds to close")
            return outputs

    outputs = asyncio.run(scenario())
    history = {n: [(d["trigger"], d["outcome"]) for d in outputs.history(n)] for n in NUMBERS}
    assert history[NUMBERS[0]] == [("filed", "hold"), ("resolution", "release")]
    assert history[NUMBERS[1]] == [("filed", "hold"), ("resolution", "release")]
    assert history[NUMBERS[2]] == [("filed", "hold"), ("resolution", "seizure_review")]
    assert history[NUMBERS[3]] == [("filed", "hold")]  # untouched: still held
    seized = outputs.history(NUMBERS[2])[-1]
    assert [h["rule_id"] for h in seized["hits"]] == ["SEIZURE-CONFIRMED"]
    assert "fake goods" in seized["hits"][0]["reason"]
    reasons = sorted(dict(r.headers)["error.message"].decode() for r in outputs.dead_letters)
    assert reasons[0].startswith("action: ") or reasons[0].startswith("entry_number: Field")
    assert any(f"no open hold for entry {NUMBERS[4]}" in r for r in reasons)
    assert sorted(e["details"]["resolution"] for e in outputs.events("HoldResolved")) == [
        "cured",
        "released_by_officer",
        "seizure_confirmed",
    ]


def test_holds_survive_a_restart_and_a_later_registry_change_cures_them(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    lacking = ior_data(good_standing=None)

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(lacking))])
        async with running_worker(settings):
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number=n)) for n in NUMBERS[:3]],
            )
            await read_outputs(settings, lambda o: o.accounted >= 3)
        # A new worker (same group) picks the holds up from the changelog.
        async with running_worker(settings) as runtime:
            assert runtime.loop is not None
            await wait_for(lambda: len(runtime.loop.holds) == 3, 30, "the holds to be restored")
            await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(ior_data()))])
            return await read_outputs(settings, lambda o: len(o.decisions) >= 6)

    outputs = asyncio.run(scenario())
    for number in NUMBERS[:3]:
        assert [(d["trigger"], d["outcome"]) for d in outputs.history(number)] == [
            ("filed", "hold"),
            ("registry_change", "release"),
        ]


def test_a_hold_past_its_age_limit_is_escalated_to_seizure_review(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(
        tmp_path, hold_max_age_hours=1 / 3600, hold_deadline_check_seconds=0.5
    )

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(ior_data()))])
        async with running_worker(settings):
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number=NUMBERS[0], supply_chain_cert_ref=None))],
            )
            return await read_outputs(
                settings,
                lambda o: len(o.decisions) >= 2 and len(o.events("HoldEscalated")) >= 1,
                with_audit=True,
            )

    outputs = asyncio.run(scenario())
    filed, escalated = outputs.history(NUMBERS[0])
    assert (filed["outcome"], escalated["outcome"], escalated["trigger"]) == (
        "hold",
        "seizure_review",
        "deadline",
    )
    assert [h["rule_id"] for h in escalated["hits"]] == ["SUPPLY-CHAIN-CERT", "HOLD-DEADLINE"]
    assert [e["decision_id"] for e in outputs.events("HoldEscalated")] == [escalated["decision_id"]]


def test_screened_entries_write_their_date_back_as_last_entry_at(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path, last_entry_flush_seconds=0.5)
    filed_at = "2026-12-03T10:00:00+00:00"

    async def scenario() -> bytes | None:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(ior_data()))])
        async with running_worker(settings) as runtime:
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number=NUMBERS[0], filed_at=filed_at))],
            )
            await wait_for(
                lambda: b"2026-12-03" in (runtime.registry_mirror.get(KEY) or b""),
                30,
                "last_entry_at to be written back to the registry",
            )
            return runtime.registry_mirror.get(KEY)

    stored = asyncio.run(scenario())
    assert stored is not None
    assert orjson.loads(stored)["last_entry_at"] == "2026-12-03T10:00:00Z"


# --- the Faust side: vetting agents and timers, in a real worker process -----------------


@asynccontextmanager
async def worker_process(settings: Settings, workdir: Path) -> AsyncIterator[Settings]:
    worker = start_worker(settings, workdir)
    try:
        deadline = time.monotonic() + 60  # Faust and group joins: seconds here
        while "screening_assigned_partitions 3.0" not in (
            metrics_text(settings.metrics_port) or ""
        ):
            assert worker.poll() is None, (workdir / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready"
            await asyncio.sleep(0.2)
        yield settings
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


async def read_topic(
    settings: Settings, topic: str, until: Callable[[list[Any]], bool], seconds: float = 60
) -> list[Any]:
    consumer = reader(settings, "test-read")
    await consumer.start()
    found: list[Any] = []
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + seconds
        while not until(found):
            assert time.monotonic() < deadline, f"{topic}: only {len(found)} records"
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


def lifecycle_settings(broker: BrokerUnderTest, tmp_path: Path, **overrides: Any) -> Settings:
    return broker.settings(tmp_path, metrics_port=free_port(), **overrides)


def test_an_ior_unused_for_a_year_is_swept_to_inactive_with_an_alert_and_held_next(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = lifecycle_settings(broker, tmp_path, inactivity_sweep_seconds=1.0)
    dormant = ior_data(last_entry_at=(datetime.now(UTC) - timedelta(days=400)).isoformat())

    async def scenario() -> tuple[list[Any], Outputs]:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(dormant))])
        async with worker_process(settings, tmp_path):
            alerts = await read_topic(
                settings, settings.topics.ior_vetting_alerts, lambda found: len(found) >= 1
            )
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number=NUMBERS[0]))],
            )
            outputs = await read_outputs(
                settings,
                lambda o: (
                    o.accounted >= 1
                    and bool(o.events("IorDeactivated"))
                    and bool(o.events("IorUpdated"))
                ),
                with_audit=True,
            )
        return alerts, outputs

    alerts, outputs = asyncio.run(scenario())
    alert = orjson.loads(alerts[0].value)
    assert [f["kind"] for f in alert["findings"]] == ["status_changed"]
    assert alert["findings"][0]["detail"] == "active -> inactive"
    decision = outputs.by_entry()[NUMBERS[0]]
    assert (decision["outcome"], [h["rule_id"] for h in decision["hits"]]) == (
        "hold",
        ["IOR-INACTIVE"],
    )
    types = [e["event_type"] for e in outputs.audit if e["ior_number"] == IOR]
    assert "IorDeactivated" in types and "IorUpdated" in types


def test_a_watchlist_load_turns_a_beneficial_owner_into_an_alert_and_the_audit_is_per_ior(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = lifecycle_settings(broker, tmp_path)
    owned = ior_data(
        beneficial_owners=[{"name": "Tarim Cotton Ltd", "country": "CN"}],
        disclosures={"import_volume": True, "ownership": True, "beneficial_ownership": False},
    )
    listed = make_watch()

    async def scenario() -> tuple[list[Any], Outputs, list[Any]]:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(owned))])
        async with worker_process(settings, tmp_path):
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number=NUMBERS[0]))],
            )
            await read_outputs(settings, lambda o: o.accounted >= 1)
            await produce(
                settings,
                settings.topics.reference_watchlist,
                [(listed.id.encode(), orjson.dumps(listed.model_dump()))],
            )
            alerts = await read_topic(
                settings, settings.topics.ior_vetting_alerts, lambda found: len(found) >= 1
            )
            await produce(
                settings,
                settings.topics.ior_registry,
                [(KEY, orjson.dumps({**owned, "disclosures": ior_data()["disclosures"]}))],
            )
            outputs = await read_outputs(settings, lambda o: len(o.decisions) >= 2, with_audit=True)
            audit = await read_topic(
                settings,
                settings.topics.screening_audit,
                lambda found: (
                    len([r for r in found if orjson.loads(r.value)["event_type"] == "IorUpdated"])
                    >= 1
                ),
            )
        return alerts, outputs, audit

    alerts, _, audit = asyncio.run(scenario())
    alert = orjson.loads(alerts[0].value)
    assert [f["kind"] for f in alert["findings"]] == ["watchlist_owner_match"]
    assert "UFLPA UFLPA-0001" in alert["findings"][0]["detail"]
    # Every state change of the IOR, in one partition of the audit stream, in order.
    mine = [r for r in audit if orjson.loads(r.value).get("ior_number") == IOR]
    assert len({r.partition for r in mine}) == 1
    sequence = [orjson.loads(r.value)["event_type"] for r in sorted(mine, key=lambda r: r.offset)]
    ior_events = [t for t in sequence if t.startswith("Ior")]
    entry_events = [t for t in sequence if t.startswith("Entry")]
    assert ior_events == ["IorRegistered", "IorVetted", "IorUpdated"]
    assert entry_events == ["EntryScreened", "EntryRescreened"]


def test_the_holds_commands_list_the_queue_and_resolve_one_entry(
    broker: BrokerUnderTest, tmp_path: Path, monkeypatch: Any, capsysbinary: Any
) -> None:
    from entry_screening.cli import main

    settings = broker.settings(tmp_path)
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(KEY, orjson.dumps(ior_data()))])
        async with running_worker(settings) as runtime:
            await produce(
                settings,
                settings.topics.entries_filed,
                [
                    entry_record(entry_data(entry_number=n, supply_chain_cert_ref=None))
                    for n in NUMBERS[:2]
                ],
            )
            await read_outputs(settings, lambda o: o.accounted >= 2)
            assert runtime.loop is not None
            await wait_for(lambda: len(runtime.loop.holds) == 2, 10, "two holds")
            await asyncio.to_thread(main, ["holds", "list", "--json"])
            status = await asyncio.to_thread(
                main, ["holds", "resolve", NUMBERS[1], "--cert-ref", "SCC-42"]
            )
            assert status == 0
            return await read_outputs(settings, lambda o: len(o.decisions) >= 3)

    outputs = asyncio.run(scenario())
    listed = [orjson.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert sorted(row["entry_number"] for row in listed) == sorted(NUMBERS[:2])
    assert all(row["rule_ids"] == ["SUPPLY-CHAIN-CERT"] for row in listed)
    assert [(d["trigger"], d["outcome"]) for d in outputs.history(NUMBERS[1])] == [
        ("filed", "hold"),
        ("resolution", "release"),
    ]
    assert [d["trigger"] for d in outputs.history(NUMBERS[0])] == ["filed"]


def test_penalty_cases_are_answered_with_the_floor_and_bad_cases_dead_lettered(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = lifecycle_settings(broker, tmp_path)
    case = {
        "case_id": "PC-2026-001",
        "culpability": "negligence",
        "loss_of_duty_usd": 100_000,
        "domestic_value_usd": 900_000,
        "assessed_usd": 200_000,
        "opened_at": "2026-12-01T09:00:00Z",
        "ior_number": IOR,
    }
    over = {**case, "case_id": "PC-2026-002", "assessed_usd": 250_000}

    async def scenario() -> tuple[list[Any], list[Any]]:
        await prepare(settings)
        async with worker_process(settings, tmp_path):
            await produce(
                settings,
                settings.topics.penalty_cases,
                [(b"PC-2026-001", orjson.dumps(case)), (b"PC-2026-002", orjson.dumps(over))],
            )
            assessed = await read_topic(
                settings, settings.topics.penalty_assessments, lambda found: len(found) >= 1
            )
            dead = await read_topic(
                settings, settings.topics.entries_filed_dlq, lambda found: len(found) >= 1
            )
        return assessed, dead

    assessed, dead = asyncio.run(scenario())
    result = orjson.loads(assessed[0].value)
    assert (result["case_id"], result["max_penalty_usd"], result["floor_usd"]) == (
        "PC-2026-001",
        200_000,
        100_000,
    )
    headers = dict(dead[0].headers)
    assert dead[0].value == orjson.dumps(over)
    assert b"above the statutory maximum" in headers["error.message"]

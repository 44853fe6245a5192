"""The streaming pipeline on a real broker: every entry accounted for, DLQ, registry
updates, rule-pack swaps, and the same decisions as the batch command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from entry_screening import batch
from entry_screening.synthetic import FeedSpec, write_dataset
from schemas.audit import AuditEvent
from schemas.decision import ScreeningDecision
from screening.rulepack import read_rule_pack_data, with_overrides
from streams import loaders
from tests.factories import entry_data, ior_data
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

DECISIONS = TypeAdapter(ScreeningDecision)


def test_a_generated_feed_is_decided_end_to_end_like_the_batch_command(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    data = write_dataset(FeedSpec(iors=400, entries=3_000, malformed=20, seed=5), tmp_path / "d")

    async def scenario() -> Outputs:
        await prepare(settings)
        await loaders.load_dataset(settings, data)
        async with running_worker(settings):
            fed = await loaders.feed(settings, data.entries)
            assert fed.produced == 3_000
            return await read_outputs(settings, lambda o: o.accounted >= 3_000)

    outputs = asyncio.run(scenario())
    # Every entry fed is either decided or dead-lettered, and nothing else appears.
    assert len(outputs.dead_letters) == 20
    assert len({d["decision_id"] for d in outputs.decisions}) == 2_980
    for decision, topic in zip(outputs.decisions, outputs.topics, strict=True):
        DECISIONS.validate_python(decision)
        assert topic.endswith(
            {
                "release": "entries.released",
                "hold": "entries.holds",
                "seizure_review": "entries.seizure-review",
            }[decision["outcome"]]
        )

    # The stream decides exactly as `entry-screening screen` does on the same file.
    with data.entries.open("rb") as entries:
        screened = batch.screen_files(data.registry, data.brokers, data.watchlist, entries)
    expected = {d["entry_number"]: d for d in screened if "decision_id" in d}
    streamed = outputs.by_entry()
    assert streamed.keys() == expected.keys()
    for number, decision in streamed.items():
        want = expected[number]
        assert (decision["decision_id"], decision["outcome"], decision["hits"]) == (
            want["decision_id"],
            want["outcome"],
            want["hits"],
        ), number


def test_malformed_oversized_and_empty_records_are_dead_lettered_between_good_ones(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path, max_message_bytes=4_000)
    good = [entry_data(entry_number=n) for n in ("ABC-1234567-6", "ABC-0000001-0", "ABC-0000002-8")]
    oversized = orjson.dumps(
        entry_data(
            shipper_name="X" * 150,
            lines=[
                {**entry_data()["lines"][0], "line_number": n, "manufacturer_address": "Y" * 250}
                for n in range(1, 20)
            ],
        )
    )
    assert len(oversized) > 4_000
    key = good[0]["ior_number"].encode()
    records = [
        entry_record(good[0]),
        (key, b"{not json"),
        entry_record(good[1]),
        (key, oversized),
        (key, orjson.dumps(entry_data(entry_type="99"))),
        (key, None),
        entry_record(good[2]),
    ]

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(key, orjson.dumps(ior_data()))])
        async with running_worker(settings):
            await produce(settings, settings.topics.entries_filed, records)
            return await read_outputs(settings, lambda o: o.accounted >= 7)

    outputs = asyncio.run(scenario())
    assert sorted(outputs.by_entry()) == sorted(e["entry_number"] for e in good)
    assert all(d["outcome"] == "release" for d in outputs.decisions)
    dead = sorted(outputs.dead_letters, key=lambda r: r.offset)
    headers = [dict(r.headers) for r in dead]
    assert [h["error.class"] for h in headers] == [
        b"malformed",
        b"oversized",
        b"invalid",
        b"malformed",
    ]
    assert [r.value for r in dead] == [b"{not json", oversized, records[4][1], None]
    assert [int(h["source.offset"]) for h in headers] == [1, 3, 4, 5]
    assert (
        headers[2]["error.message"]
        == b"entry_type: is not a known entry type code (01, 11, 86, ...)"
    )
    assert all(h["source.topic"] == settings.topics.entries_filed.encode() for h in headers)


def test_a_registry_update_changes_the_decisions_of_later_entries(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    ior = ior_data(
        disclosures={"import_volume": True, "ownership": False, "beneficial_ownership": False}
    )
    key = ior["ior_number"].encode()

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(key, orjson.dumps(ior))])
        async with running_worker(settings) as runtime:
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number="ABC-1234567-6"))],
            )
            await read_outputs(settings, lambda o: o.accounted >= 1)
            fixed = ior_data()
            await produce(settings, settings.topics.ior_registry, [(key, orjson.dumps(fixed))])
            await wait_for(
                lambda: runtime.registry_mirror.get(key) == orjson.dumps(fixed),
                30,
                "the registry update to reach the worker",
            )
            await produce(
                settings,
                settings.topics.entries_filed,
                [entry_record(entry_data(entry_number="ABC-0000001-0"))],
            )
            return await read_outputs(settings, lambda o: o.accounted >= 3)

    outputs = asyncio.run(scenario())
    decisions = outputs.by_entry()
    assert decisions["ABC-1234567-6"]["outcome"] == "hold"
    assert [h["rule_id"] for h in decisions["ABC-1234567-6"]["hits"]] == ["IOR-DISCLOSURE"]
    assert decisions["ABC-0000001-0"]["outcome"] == "release"
    # The held entry is screened again once the update arrives (continuous vetting).
    assert [(d["trigger"], d["outcome"]) for d in outputs.history("ABC-1234567-6")] == [
        ("filed", "hold"),
        ("registry_change", "release"),
    ]


def test_a_rule_pack_from_the_topic_is_swapped_in_and_stamped_on_later_decisions(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    ior = ior_data()
    key = ior["ior_number"].encode()
    informal = {"entry_type": "11", "bond": None, "entered_value_usd": 2_000}
    pack = with_overrides(
        read_rule_pack_data(),
        settings=("INFORMAL-VALUE.informal_limit_usd=800",),
        version_suffix="test",
    )

    async def scenario() -> Outputs:
        await prepare(settings)
        await produce(settings, settings.topics.ior_registry, [(key, orjson.dumps(ior))])
        async with running_worker(settings) as runtime:
            mirror = runtime.packs_mirror
            for number, pack_bytes in (
                ("ABC-1234567-6", None),
                ("ABC-0000001-0", b"{broken pack"),
                ("ABC-0000002-8", pack.model_dump_json().encode()),
            ):
                if pack_bytes is not None:
                    await produce(
                        settings, settings.topics.reference_rulepacks, [(b"active", pack_bytes)]
                    )
                    await wait_for(
                        lambda b=pack_bytes: mirror.get(b"active") == b,
                        30,
                        "the pack to reach the worker",
                    )
                await produce(
                    settings,
                    settings.topics.entries_filed,
                    [entry_record(entry_data(entry_number=number, **informal))],
                )
                await read_outputs(settings, lambda o, n=number: n in o.by_entry())
            return await read_outputs(
                settings, lambda o: len(o.events("RulePackActivated")) >= 2, with_audit=True
            )

    outputs = asyncio.run(scenario())
    decisions = outputs.by_entry()
    before, refused, after = (
        decisions[n] for n in ("ABC-1234567-6", "ABC-0000001-0", "ABC-0000002-8")
    )
    assert (before["rule_pack_version"], before["outcome"]) == ("eo-2026-06-03.1", "release")
    # A broken pack is refused: the old one stays in force.
    assert (refused["rule_pack_version"], refused["outcome"]) == ("eo-2026-06-03.1", "release")
    assert (after["rule_pack_version"], after["outcome"]) == ("eo-2026-06-03.1+test", "hold")
    assert [h["rule_id"] for h in after["hits"]] == ["INFORMAL-VALUE"]
    activated = [
        TypeAdapter(AuditEvent).validate_python(e) for e in outputs.events("RulePackActivated")
    ]
    assert [e.subject for e in activated] == ["eo-2026-06-03.1", "eo-2026-06-03.1+test"]


def test_the_loaders_skip_bad_lines_and_a_later_record_replaces_an_earlier_one(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    settings = broker.settings(tmp_path)
    path = tmp_path / "iors.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(ior_data(name="First Name Inc.")),
                json.dumps(ior_data(status="dormant")),
                "not json",
                json.dumps(ior_data(name="Second Name Inc.")),
            ]
        )
        + "\n"
    )

    async def scenario() -> tuple[loaders.LoadResult, bytes | None, int]:
        await prepare(settings)
        result = await loaders.load(settings, "registry", path)
        async with running_worker(settings) as runtime:
            return (
                result,
                runtime.registry_mirror.get(b"12-3456789AB"),
                len(runtime.registry_mirror),
            )

    result, stored, size = asyncio.run(scenario())
    assert result.produced == 2
    assert [number for number, _ in result.skipped] == [2, 3]
    assert "status" in result.skipped[0][1]
    assert size == 1
    assert stored is not None and json.loads(stored)["name"] == "Second Name Inc."


def test_topics_create_is_idempotent(broker: BrokerUnderTest, tmp_path: Path) -> None:
    from streams.admin import create_topics

    settings = broker.settings(tmp_path)
    outcomes = [asyncio.run(create_topics(settings)) for _ in range(2)]
    assert all(o.created for o in outcomes[0])
    assert not any(o.created for o in outcomes[1])
    assert not any(o.note for o in outcomes[1])
    compacted = {o.spec.name for o in outcomes[0] if o.spec.compacted}
    assert compacted == {
        settings.topics.ior_registry,
        settings.topics.reference_brokers,
        settings.topics.reference_watchlist,
        settings.topics.reference_rulepacks,
        settings.topics.holds_state,
        settings.topics.activity_state,
    }


def test_logs_are_json_lines_without_ssn_form_ior_numbers(
    broker: BrokerUnderTest, tmp_path: Path, caplog: Any
) -> None:
    from streams.logs import JsonFormatter

    settings = broker.settings(tmp_path)
    ssn = "123-45-6789"
    entries = [
        entry_data(entry_number=n, ior_number=ssn, export_declaration_ref=None)
        for n in ("ABC-1234567-6", "ABC-0000001-0")
    ]

    async def scenario() -> None:
        await prepare(settings)
        await produce(
            settings,
            settings.topics.ior_registry,
            [(ssn.encode(), orjson.dumps(ior_data(ior_number=ssn)))],
        )
        async with running_worker(settings):
            await produce(settings, settings.topics.entries_filed, map(entry_record, entries))
            await read_outputs(settings, lambda o: o.accounted >= 2)

    with caplog.at_level("INFO"):
        asyncio.run(scenario())
    lines = [JsonFormatter().format(record) for record in caplog.records]
    batches = [
        json.loads(line)
        for line in lines
        if '"message": "batch"' in line or '"message":"batch"' in line
    ]
    assert batches and all(
        {"records", "decisions", "ms", "partitions"} <= b.keys() for b in batches
    )
    assert not any(ssn in line for line in lines)

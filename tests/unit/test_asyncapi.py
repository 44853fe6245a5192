"""The AsyncAPI document: committed as generated, valid AsyncAPI 3.0.0, and true to the code.

Validation uses the official AsyncAPI 3.0.0 JSON Schema from the npm package
``@asyncapi/specs``, fetched into ``.cache/asyncapi/`` by ``make asyncapi-schema`` (never
committed). Without it that one test is skipped and says how to fetch it; every other test
here runs offline on the document alone.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator
from jsonschema_specifications import REGISTRY as META_SCHEMAS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from schemas import asyncapi, codec
from schemas.catalog import TOPIC_MESSAGES
from screening.engine import Screener, screened_event
from screening.rulepack import RulePack, load_rule_pack
from streams.settings import Settings, TopicNames
from streams.topics import topic_specs
from tests.factories import FOREIGN_IOR, SSN_IOR, US_IOR, entry_data, make_entry, make_ior

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_SCHEMA = Path(
    os.environ.get("ASYNCAPI_SCHEMA", ROOT / ".cache" / "asyncapi" / "3.0.0.json")
)
DOC_URI = "urn:entry-screening:asyncapi"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(asyncapi.DOCUMENT_PATH.read_text())
    return loaded


def official_validator() -> Draft7Validator:
    if not OFFICIAL_SCHEMA.is_file():
        pytest.skip(
            f"the AsyncAPI 3.0.0 JSON Schema is not at {OFFICIAL_SCHEMA}: fetch it with "
            "`make asyncapi-schema` (npm pack @asyncapi/specs into .cache/asyncapi/)"
        )
    schema = json.loads(OFFICIAL_SCHEMA.read_text())
    # The file embeds every definition under its own $id; crawling registers them, and the
    # draft-07 meta-schema it also refers to ships with jsonschema. Nothing is fetched.
    registry = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)
    )
    return Draft7Validator(schema, registry=META_SCHEMAS.combine(registry).crawl())


def payload_validator(document: dict[str, Any], schema_name: str) -> Draft7Validator:
    """Validates instances against one components/schemas entry, references and all."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT7)
    )
    return Draft7Validator(
        {"$ref": f"{DOC_URI}#/components/schemas/{schema_name}"}, registry=registry
    )


def resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), f"{reference} points outside the document"
    node: Any = document
    for part in reference[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in references(value)]
    if isinstance(node, list):
        return [r for item in node for r in references(item)]
    return []


def payload_schema(document: dict[str, Any], channel: dict[str, Any]) -> str:
    message_ref = next(iter(channel["messages"].values()))["$ref"]
    payload_ref: str = resolve(document, message_ref)["payload"]["$ref"]
    return payload_ref.rsplit("/", 1)[1]


def channel_of(document: dict[str, Any], address: str) -> dict[str, Any]:
    (channel,) = [c for c in document["channels"].values() if c["address"] == address]
    return channel


# --- the document as a whole ---------------------------------------------------------------


def test_the_committed_document_is_the_generated_one() -> None:
    assert asyncapi.DOCUMENT_PATH.is_file(), "missing: run `make asyncapi`"
    assert asyncapi.DOCUMENT_PATH.read_text() == asyncapi.rendered(), (
        f"{asyncapi.DOCUMENT_PATH} is stale: run `make asyncapi`"
    )


def test_the_check_mode_reports_a_fresh_document() -> None:
    assert asyncapi.main([]) == 0


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    validator = official_validator()
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert errors == []


def test_the_official_schema_does_refuse_a_broken_document(document: dict[str, Any]) -> None:
    validator = official_validator()
    broken = copy.deepcopy(document)
    broken["operations"]["receiveEntryFilings"]["action"] = "subscribe"  # AsyncAPI 2 wording
    assert not validator.is_valid(broken)


def test_every_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    for reference in references(document):
        resolve(document, reference)


def test_every_operation_uses_messages_of_its_own_channel(document: dict[str, Any]) -> None:
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), name


# --- true to the code ----------------------------------------------------------------------


def test_there_is_a_channel_for_every_topic_with_its_layout(document: dict[str, Any]) -> None:
    specs = topic_specs(Settings.model_construct(topics=TopicNames.model_construct()))
    assert sorted(c["address"] for c in document["channels"].values()) == sorted(
        s.name for s in specs
    )
    for spec in specs:
        binding = channel_of(document, spec.name)["bindings"]["kafka"]
        assert binding["topic"] == spec.name
        assert binding["partitions"] == spec.partitions
        policy = binding.get("topicConfiguration", {}).get("cleanup.policy", ["delete"])
        assert ("compact" in policy) == spec.compacted, spec.name


def test_each_topic_carries_the_catalog_model(document: dict[str, Any]) -> None:
    for topic, model in TOPIC_MESSAGES.items():
        channel = channel_of(document, topic)
        if topic == "entries.filed.dlq":
            # The record keeps its original bytes; the DeadLetter fields travel as headers.
            assert payload_schema(document, channel) == "OriginalValue"
            assert "DeadLetter" in document["components"]["schemas"]
        else:
            assert payload_schema(document, channel) == model, topic


def test_a_valid_entry_matches_the_entry_payload_and_a_broken_one_does_not(
    document: dict[str, Any],
) -> None:
    validator = payload_validator(document, "EntryFiling")
    validator.validate(entry_data())
    without_lines = {k: v for k, v in entry_data().items() if k != "lines"}
    assert not validator.is_valid(without_lines)
    assert not validator.is_valid(entry_data(bond={"type": "7", "amount_usd": 1}))


def test_decisions_and_audit_events_the_engine_makes_match_their_payloads(
    document: dict[str, Any], screener: Screener
) -> None:
    at = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    foreign = make_ior(ior_number=FOREIGN_IOR, organized_in_us=False, located_in_us=False)
    decisions = [
        screener.screen(make_entry(), make_ior(), screened_at=at),
        screener.screen(
            make_entry(ior_number=FOREIGN_IOR, entry_type="11"), foreign, screened_at=at
        ),
        screener.screen(make_entry(ior_number=SSN_IOR), None, screened_at=at),
    ]
    assert {d.outcome for d in decisions} >= {"release", "hold"}
    for decision in decisions:
        payload_validator(document, "ScreeningDecision").validate(
            orjson.loads(codec.encode(decision))
        )
        payload_validator(document, "AuditEvent").validate(
            orjson.loads(codec.encode(screened_event(decision)))
        )


def test_keys_of_entries_accept_every_ior_number_form(document: dict[str, Any]) -> None:
    message = document["components"]["messages"]["EntryFiling"]
    key = Draft7Validator(message["bindings"]["kafka"]["key"])
    for ior_number in (US_IOR, FOREIGN_IOR, SSN_IOR):
        key.validate(ior_number)
    assert not key.is_valid("not an IOR")


def test_dead_letter_headers_are_the_ones_the_worker_writes(document: dict[str, Any]) -> None:
    from streams.emitter import dead_letter_headers

    rejected = codec.InputRejected("malformed", ())
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    headers = dead_letter_headers(rejected, "entries.filed", 2, 41, at)
    assert tuple(name for name, _ in headers) == asyncapi.DEAD_LETTER_HEADERS
    payload_validator(document, "DeadLetterHeaders").validate(
        {name: value.decode() for name, value in headers}
    )


def test_the_rule_pack_payload_follows_the_rule_pack_model(document: dict[str, Any]) -> None:
    model = RulePack.model_json_schema()
    schema = document["components"]["schemas"]["RulePackDocument"]
    assert sorted(schema["required"]) == sorted(model["required"])
    assert schema["properties"]["version"]["pattern"] == model["properties"]["version"]["pattern"]
    baseline = load_rule_pack().model_dump(mode="json")
    payload_validator(document, "RulePackDocument").validate(baseline)

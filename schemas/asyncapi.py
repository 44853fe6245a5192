"""The AsyncAPI 3.0.0 document of every topic, generated from the models into the repo.

``python -m schemas.asyncapi --write`` regenerates ``schemas/asyncapi.json``; without
``--write`` it exits 1 when the committed file is stale, and a unit test makes the same check.
Downstream teams read that file to learn what travels where, keyed how, and who sends it.

Where each part comes from:

* payloads: the JSON Schemas of :mod:`schemas.catalog`, moved into ``components/schemas``
  together with their ``$defs`` (inside an AsyncAPI document ``#`` means the document, so a
  payload cannot keep its own ``#/$defs/...`` references);
* the topic layout (partitions, compaction, retention): :func:`streams.topics.topic_specs`
  under default settings, so the document describes what ``entry-screening topics create``
  makes; partition counts follow ``SCREENING_PARTITIONS`` in a real deployment;
* keys, and payloads the catalog has no model for (the rule pack, the activity windows,
  the dead-letter headers): written here, and checked against the code by tests.

The workers' own changelog topics are in the document too, marked ``x-internal: true``:
other systems should know they exist (ACLs, capacity) but never write to them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from schemas.audit import DEAD_LETTER_HEADERS
from schemas.catalog import TOPIC_MESSAGES, json_schema
from streams.settings import Settings, TopicNames
from streams.topics import TopicSpec, topic_specs

DOCUMENT_PATH: Final = Path(__file__).parent / "asyncapi.json"
KAFKA_BINDING_VERSION: Final = "0.5.0"
_SCHEMAS: Final = "#/components/schemas/"
_MESSAGES: Final = "#/components/messages/"


@dataclass(frozen=True)
class _Message:
    """One kind of record: what its value, key (and headers) are."""

    title: str
    summary: str
    payload: dict[str, Any]
    key: str  # a name from _key_schemas
    headers: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class _Channel:
    """One topic (its id is its field in :class:`~streams.settings.TopicNames`)."""

    messages: tuple[str, ...]
    description: str
    internal: bool = False


@dataclass(frozen=True)
class _Operation:
    action: str  # "send" or "receive", from the worker's point of view
    channel: str
    summary: str
    # The consumer group it reads in: "screening" (the batched loop, SCREENING_CONSUMER_GROUP)
    # or "faust" (the lifecycle agents, the Faust app's id); None for mirrors without a group.
    group: str | None = None


def _ref(target: str) -> dict[str, str]:
    return {"$ref": target}


MESSAGES: Final[dict[str, _Message]] = {
    "EntryFiling": _Message(
        "Entry filing",
        "One entry (or a revision of it) as filed, to be screened.",
        _ref(_SCHEMAS + "EntryFiling"),
        key="IorNumberKey",
    ),
    "IorRecord": _Message(
        "IOR registry record",
        "The registry's current record of one importer of record; the latest per key wins.",
        _ref(_SCHEMAS + "IorRecord"),
        key="IorNumberKey",
    ),
    "IorRecordDeleted": _Message(
        "IOR registry tombstone",
        "A record with no value: the IOR leaves the registry (compaction removes it).",
        {"type": "null"},
        key="IorNumberKey",
    ),
    "BrokerRecord": _Message(
        "Customs broker",
        "A licensed customs broker with its CTPAT tier.",
        _ref(_SCHEMAS + "BrokerRecord"),
        key="FilerCodeKey",
    ),
    "WatchlistRecord": _Message(
        "Entity-list entry",
        "One entity of a loaded list (UFLPA Entity List, Consolidated Screening List, ...).",
        _ref(_SCHEMAS + "WatchlistRecord"),
        key="WatchlistIdKey",
    ),
    "RulePack": _Message(
        "Rule pack",
        "The rule pack to activate, as JSON; workers swap it in between two batches.",
        _ref(_SCHEMAS + "RulePackDocument"),
        key="RulePackKey",
    ),
    "ScreeningDecision": _Message(
        "Screening decision",
        "The decision for one entry revision under one rule-pack version; consumers "
        "deduplicate on decision_id (a replay after a crash repeats the same id).",
        _ref(_SCHEMAS + "ScreeningDecision"),
        key="EntryNumberKey",
    ),
    "AuditEvent": _Message(
        "Audit event",
        "A fact kept for auditors: every decision, rule-pack activation, registry change "
        "and resolution.",
        _ref(_SCHEMAS + "AuditEvent"),
        key="AuditKey",
    ),
    "VettingAlert": _Message(
        "Vetting alert",
        "Continuous vetting found that an IOR got worse (or now matches an entity list); "
        "alert_id is deterministic, so consumers deduplicate on it.",
        _ref(_SCHEMAS + "VettingAlert"),
        key="MaskedIorNumberKey",
    ),
    "HoldResolution": _Message(
        "Hold resolution",
        "A command that cures, refiles, releases or confirms the seizure of one held entry.",
        _ref(_SCHEMAS + "HoldResolution"),
        key="IorNumberKey",
    ),
    "PenaltyCaseOpened": _Message(
        "Penalty case",
        "A penalty case to assess: culpability, loss of duty, values and the amount assessed.",
        _ref(_SCHEMAS + "PenaltyCaseOpened"),
        key="CaseIdKey",
    ),
    "PenaltyAssessed": _Message(
        "Penalty assessment",
        "The answer to a penalty case: the statutory maximum, the order's floor and the room "
        "left for mitigation, with the reasoning.",
        _ref(_SCHEMAS + "PenaltyAssessed"),
        key="CaseIdKey",
    ),
    "RefusedInput": _Message(
        "Refused input",
        "A record the worker could not use: its key and value exactly as they arrived, and "
        "headers saying why and where it came from.",
        _ref(_SCHEMAS + "OriginalValue"),
        key="OriginalKey",
        headers="DeadLetterHeaders",
        content_type="application/octet-stream",
    ),
    "HoldRecord": _Message(
        "Open hold (worker state)",
        "An open hold as its worker keeps it; a tombstone closes it.",
        _ref(_SCHEMAS + "HoldRecord"),
        key="EntryNumberKey",
    ),
    "IorActivity": _Message(
        "IOR activity window (worker state)",
        "Entries an IOR filed per day over the recent window; a tombstone drops it.",
        _ref(_SCHEMAS + "IorActivityWindow"),
        key="IorNumberKey",
    ),
}

CHANNELS: Final[dict[str, _Channel]] = {
    "entries_filed": _Channel(
        ("EntryFiling",),
        "Entry filings to screen. Producers key by IOR number, so an IOR's entries share a "
        "partition number with its registry record and are decided in order.",
    ),
    "ior_registry": _Channel(
        ("IorRecord", "IorRecordDeleted"),
        "The IOR registry, compacted: the source of truth every worker mirrors in full.",
    ),
    "reference_brokers": _Channel(
        ("BrokerRecord",), "Customs brokers by filer code, compacted; mirrored by every worker."
    ),
    "reference_watchlist": _Channel(
        ("WatchlistRecord",), "Entity-list entries by id, compacted; mirrored by every worker."
    ),
    "reference_rulepacks": _Channel(
        ("RulePack",),
        "The active rule pack under the key 'active', compacted. A pack that does not "
        "validate is refused and the previous one stays active.",
    ),
    "entries_released": _Channel(
        ("ScreeningDecision",),
        "Decisions whose outcome is release. Each goes to the partition number its entry "
        "came from.",
    ),
    "entries_holds": _Channel(
        ("ScreeningDecision",),
        "Decisions whose outcome is hold: the entry waits for a document, a bond or a "
        "refiling, and every hit says what cures it.",
    ),
    "entries_seizure_review": _Channel(
        ("ScreeningDecision",),
        "Decisions whose outcome is seizure_review: an officer looks at the goods.",
    ),
    "screening_audit": _Channel(
        ("AuditEvent",),
        "Audit events, kept forever (retention -1): one per decision, plus rule-pack "
        "activations, registry changes and hold resolutions.",
    ),
    "ior_vetting_alerts": _Channel(
        ("VettingAlert",),
        "Continuous vetting alerts: an IOR whose registry change made it riskier, keyed by "
        "IOR number.",
    ),
    "holds_resolutions": _Channel(
        ("HoldResolution",),
        "Resolutions of held entries from a review queue or an officer, keyed by IOR number "
        "like entries.filed, so partition p reaches the worker that keeps partition p's holds.",
    ),
    "penalty_cases": _Channel(
        ("PenaltyCaseOpened",),
        "Penalty cases to assess, keyed by case id. A case that is malformed or assessed "
        "above the statutory maximum is dead-lettered.",
    ),
    "penalty_assessments": _Channel(
        ("PenaltyAssessed",),
        "One assessment per penalty case, keyed by case id; an audit event goes with each.",
    ),
    "entries_filed_dlq": _Channel(
        ("RefusedInput",),
        "Inputs of entries.filed, holds.resolutions and penalty.cases that were refused "
        "(malformed, invalid or oversized, a resolution that does not apply, a penalty above "
        "the statutory maximum), with the original bytes and the reason in headers. Nothing "
        "is lost; the pipeline never stops on bad input.",
    ),
    "holds_state": _Channel(
        ("HoldRecord",),
        "The workers' own changelog of open holds (compacted): a worker given partition p "
        "reads partition p back before screening. Not for other systems to write.",
        internal=True,
    ),
    "activity_state": _Channel(
        ("IorActivity",),
        "The workers' own changelog of per-IOR activity windows (compacted), restored like "
        "the holds. Not for other systems to write.",
        internal=True,
    ),
}

_GROUPS: Final[dict[str, dict[str, Any]]] = {
    "screening": {
        "type": "string",
        "default": "entry-screening",
        "description": "SCREENING_CONSUMER_GROUP: every worker of a deployment joins it, and "
        "partition p of entries.filed and of holds.resolutions goes to the same worker.",
    },
    "faust": {
        "type": "string",
        "default": "entry-screening-faust",
        "description": "The Faust app's id (SCREENING_CONSUMER_GROUP followed by -faust), "
        "whose agents share the registry's partitions among the workers.",
    },
}
_STATE = "Restore the state of assigned partitions, and keep it up to date."
OPERATIONS: Final[dict[str, _Operation]] = {
    "receiveEntryFilings": _Operation(
        "receive",
        "entries_filed",
        "Screen entry filings in batches; commit offsets only after every output is "
        "acknowledged (at-least-once).",
        group="screening",
    ),
    "receiveHoldResolutions": _Operation(
        "receive",
        "holds_resolutions",
        "Apply resolutions to the open holds of the same partition, in the same batches.",
        group="screening",
    ),
    "receiveIorRegistry": _Operation(
        "receive",
        "ior_registry",
        "Mirror the whole registry (every partition, no group); a change re-screens the "
        "IOR's open holds.",
    ),
    "receiveBrokers": _Operation(
        "receive", "reference_brokers", "Mirror the customs brokers (no group)."
    ),
    "receiveWatchlist": _Operation(
        "receive", "reference_watchlist", "Mirror the entity lists (no group)."
    ),
    "receiveRulePacks": _Operation(
        "receive", "reference_rulepacks", "Follow the active rule pack (no group)."
    ),
    "sendReleases": _Operation("send", "entries_released", "Publish release decisions."),
    "sendHolds": _Operation("send", "entries_holds", "Publish hold decisions."),
    "sendSeizureReviews": _Operation(
        "send", "entries_seizure_review", "Publish seizure-review decisions."
    ),
    "sendAuditEvents": _Operation(
        "send", "screening_audit", "Publish an audit event per decision and per state change."
    ),
    "sendDeadLetters": _Operation(
        "send", "entries_filed_dlq", "Set refused inputs aside with the reason."
    ),
    "vetRegistryChanges": _Operation(
        "receive",
        "ior_registry",
        "Compare each registry change with the IOR's previous snapshot; audit it and raise "
        "a vetting alert when the IOR got worse.",
        group="faust",
    ),
    "vetOwnersOnListLoads": _Operation(
        "receive",
        "reference_watchlist",
        "Check newly loaded entity-list entries against every IOR's beneficial owners.",
        group="faust",
    ),
    "sendVettingAlerts": _Operation(
        "send", "ior_vetting_alerts", "Publish continuous vetting alerts."
    ),
    "sendRegistryUpdates": _Operation(
        "send",
        "ior_registry",
        "Write back what the workers learn: last_entry_at (day precision) and the status "
        "inactive after a year without entries (leader-only sweep).",
    ),
    "assessPenaltyCases": _Operation(
        "receive",
        "penalty_cases",
        "Assess each case: the statutory maximum, the order's floor, the reasoning.",
        group="faust",
    ),
    "sendPenaltyAssessments": _Operation(
        "send", "penalty_assessments", "Publish the assessment of each penalty case."
    ),
    "sendHoldState": _Operation("send", "holds_state", _STATE),
    "receiveHoldState": _Operation("receive", "holds_state", _STATE),
    "sendActivityState": _Operation("send", "activity_state", _STATE),
    "receiveActivityState": _Operation("receive", "activity_state", _STATE),
}


def _default_specs() -> dict[str, TopicSpec]:
    """The topic layout under default settings, whatever ``SCREENING_*`` says here."""
    defaults = Settings.model_construct(topics=TopicNames.model_construct())
    by_name = {spec.name: spec for spec in topic_specs(defaults)}
    names = defaults.topics.model_dump()
    return {field: by_name[name] for field, name in names.items()}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", _SCHEMAS)
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _model_schemas() -> dict[str, Any]:
    """Every catalog schema and its ``$defs``, flat, with references into components."""
    flat: dict[str, Any] = {}
    for name in dict.fromkeys(TOPIC_MESSAGES.values()):
        schema = json_schema(name)
        schema.pop("$schema", None)
        schema.pop("$id", None)
        parts = {name: schema, **schema.pop("$defs", {})}
        for part, definition in parts.items():
            rewritten = _rewrite_refs(definition)
            if flat.setdefault(part, rewritten) != rewritten:
                raise ValueError(f"two different models are both called {part!r}")
    return flat


def _key_schemas(models: dict[str, Any]) -> dict[str, Any]:
    def field_of(model: str, field: str, description: str) -> dict[str, Any]:
        schema = {k: v for k, v in models[model]["properties"][field].items() if k != "title"}
        return {**schema, "description": description}

    return {
        "IorNumberKey": field_of(
            "EntryFiling",
            "ior_number",
            "The IOR number as filed (EIN, SSN or CBP-assigned form), UTF-8.",
        ),
        "EntryNumberKey": field_of(
            "EntryFiling", "entry_number", "The entry number (filer code, serial, check digit)."
        ),
        "FilerCodeKey": field_of("BrokerRecord", "filer_code", "The broker's filer code."),
        "WatchlistIdKey": field_of("WatchlistRecord", "id", "The entity's id in its list."),
        "CaseIdKey": field_of("PenaltyCaseOpened", "case_id", "The penalty case's id."),
        "RulePackKey": {
            "type": "string",
            "const": "active",
            "description": "Always 'active': compaction keeps only the latest pack.",
        },
        "MaskedIorNumberKey": {
            "type": "string",
            "maxLength": 12,
            "description": "The IOR number, masked when in SSN form (***-**-6789).",
        },
        "AuditKey": {
            "type": "string",
            "description": "The event's subject: the entry number for entry events, the "
            "rule-pack version for RulePackActivated, the IOR number (masked when in SSN "
            "form) for IOR events, the case id for PenaltyAssessed.",
        },
        "OriginalKey": {
            "type": ["string", "null"],
            "description": "The refused record's key, unchanged (an IOR number, a case id, "
            "or none).",
        },
    }


def _extra_schemas(models: dict[str, Any]) -> dict[str, Any]:
    error_classes = models["DeadLetter"]["properties"]["error_class"]["enum"]
    decimal = {"type": "string", "pattern": "^[0-9]+$"}
    headers = {
        "error.class": {
            "type": "string",
            "enum": error_classes,
            "description": "malformed: not JSON or no value; invalid: JSON that breaks the "
            "contract; oversized: larger than SCREENING_MAX_MESSAGE_BYTES.",
        },
        "error.message": {
            "type": "string",
            "description": "What is wrong, for a person (at most 2,000 bytes).",
        },
        "error.fields": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": 'A JSON array of the offending fields, e.g. ["entry_number"].',
        },
        "source.topic": {
            "type": "string",
            "description": "The topic the record came from (entries.filed, "
            "holds.resolutions or penalty.cases).",
        },
        "source.partition": {**decimal, "description": "Its partition, in decimal."},
        "source.offset": {**decimal, "description": "Its offset, in decimal."},
        "failed.at": {
            "type": "string",
            "format": "date-time",
            "description": "When the worker refused it (ISO 8601, UTC).",
        },
    }
    assert tuple(headers) == DEAD_LETTER_HEADERS
    return {
        "DeadLetterHeaders": {
            "type": "object",
            "description": "Kafka headers of a dead-lettered record (UTF-8 values). The "
            "DeadLetter schema is the same information as one JSON object, as the batch "
            "`screen` command writes it.",
            "required": list(DEAD_LETTER_HEADERS),
            "properties": headers,
        },
        "OriginalValue": {
            "description": "The refused record's value byte for byte: possibly not JSON, "
            "possibly absent (null).",
        },
        "RulePackDocument": {
            "type": "object",
            "description": "A rule pack in JSON, laid out like screening/packs/baseline.toml "
            "and validated by the worker against screening.rulepack.RulePack (no generated "
            "schema yet).",
            "required": ["version", "classification", "risk_tiers", "rules"],
            "properties": {
                "version": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
                    "description": "Stamped on every decision made under the pack.",
                },
                "description": {"type": "string", "maxLength": 2000},
                "classification": {
                    "type": "object",
                    "description": "How an IOR is classified as US or foreign.",
                },
                "risk_tiers": {"type": "object", "description": "Risk-tier thresholds."},
                "rules": {
                    "type": "object",
                    "description": "Rule id -> enabled, effective_from, outcome, citation "
                    "and the rule's parameters.",
                },
            },
        },
        "IorActivityWindow": {
            "type": "object",
            "description": "Day number (days since 1970-01-01, UTC, as a decimal string) -> "
            "entries the IOR filed that day, for the straw-IOR pace check.",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
    }


def _topic_binding(spec: TopicSpec) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    for name, value in spec.config.items():
        if name == "cleanup.policy":
            configuration[name] = value.split(",")
        elif name.endswith((".ms", ".bytes")):
            configuration[name] = int(value)
        else:
            configuration[name] = value
    binding: dict[str, Any] = {"topic": spec.name, "partitions": spec.partitions}
    if configuration:
        binding["topicConfiguration"] = configuration
    binding["bindingVersion"] = KAFKA_BINDING_VERSION
    return binding


def _message(message_id: str, message: _Message, keys: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": message_id,
        "title": message.title,
        "summary": message.summary,
        "contentType": message.content_type,
        "payload": message.payload,
    }
    if message.headers is not None:
        document["headers"] = _ref(_SCHEMAS + message.headers)
    # The key schema is inline: the binding's "key" is one of (Reference, Schema), and a
    # bare {"$ref": ...} would match both.
    document["bindings"] = {
        "kafka": {"key": keys[message.key], "bindingVersion": KAFKA_BINDING_VERSION}
    }
    return document


def _project_version() -> str:
    try:
        return version("entry-screening")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0+unknown"


def document() -> dict[str, Any]:
    """The AsyncAPI document as a JSON-ready dict."""
    specs = _default_specs()
    if set(CHANNELS) != set(specs):
        raise ValueError(
            "every topic of streams.topics needs a channel here, and only those: "
            f"missing {sorted(set(specs) - set(CHANNELS))}, "
            f"unknown {sorted(set(CHANNELS) - set(specs))}"
        )
    models = _model_schemas()
    keys = _key_schemas(models)
    channels: dict[str, Any] = {}
    for channel_id, channel in CHANNELS.items():
        spec = specs[channel_id]
        entry: dict[str, Any] = {
            "address": spec.name,
            "title": spec.name,
            "description": channel.description,
            "messages": {m: _ref(_MESSAGES + m) for m in channel.messages},
            "bindings": {"kafka": _topic_binding(spec)},
        }
        if channel.internal:
            entry["x-internal"] = True
        channels[channel_id] = entry
    operations: dict[str, Any] = {}
    for operation_id, operation in OPERATIONS.items():
        channel = CHANNELS[operation.channel]
        entry = {
            "action": operation.action,
            "channel": _ref(f"#/channels/{operation.channel}"),
            "summary": operation.summary,
            "messages": [
                _ref(f"#/channels/{operation.channel}/messages/{m}") for m in channel.messages
            ],
        }
        if operation.group is not None:
            entry["bindings"] = {
                "kafka": {
                    "groupId": _GROUPS[operation.group],
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            }
        operations[operation_id] = entry
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "entry-screening",
            "version": _project_version(),
            "description": "Screens US import entry filings and decides release, hold or "
            "seizure review. Operations are those of a screening worker; every worker of a "
            "deployment does the same. Keys and values are UTF-8 JSON unless said otherwise.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The default SCREENING_KAFKA_BOOTSTRAP: a broker on this "
                "machine (`make demo` starts an embedded one).",
            },
            "compose": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "Apache Kafka of docker-compose.yml, seen from the compose network.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {**models, **_extra_schemas(models)},
            "messages": {m: _message(m, message, keys) for m, message in MESSAGES.items()},
        },
    }


def rendered() -> str:
    """The exact text of ``schemas/asyncapi.json``."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate or check the AsyncAPI document.")
    parser.add_argument("--write", action="store_true", help="rewrite the file")
    args = parser.parse_args(argv)
    text = rendered()
    if args.write:
        DOCUMENT_PATH.write_text(text)
        print(f"wrote {DOCUMENT_PATH}")
        return 0
    if not DOCUMENT_PATH.is_file() or DOCUMENT_PATH.read_text() != text:
        print(f"stale: {DOCUMENT_PATH} (run: python -m schemas.asyncapi --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

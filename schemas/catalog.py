"""Which message travels on which topic, and the JSON Schema of each, generated into the repo.

``python -m schemas.catalog --write`` regenerates ``schemas/jsonschema/``; a test fails when
the models and the committed files drift apart. Downstream teams read those files (or the
AsyncAPI document built from them) instead of this code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from pydantic import TypeAdapter

from schemas.audit import AuditEvent, DeadLetter
from schemas.decision import ScreeningDecision
from schemas.entry import EntryFiling
from schemas.lifecycle import HoldRecord, HoldResolution, VettingAlert
from schemas.penalty import PenaltyAssessed, PenaltyCaseOpened
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord

SCHEMA_DIR: Final = Path(__file__).parent / "jsonschema"

MESSAGES: Final[dict[str, Any]] = {
    "EntryFiling": EntryFiling,
    "IorRecord": IorRecord,
    "BrokerRecord": BrokerRecord,
    "WatchlistRecord": WatchlistRecord,
    "ScreeningDecision": ScreeningDecision,
    "AuditEvent": AuditEvent,
    "DeadLetter": DeadLetter,
    "HoldResolution": HoldResolution,
    "VettingAlert": VettingAlert,
    "HoldRecord": HoldRecord,
    "PenaltyCaseOpened": PenaltyCaseOpened,
    "PenaltyAssessed": PenaltyAssessed,
}

# Default topic name -> message carried (for the DLQ: what its headers describe; the
# record's value stays the original bytes).
TOPIC_MESSAGES: Final[dict[str, str]] = {
    "entries.filed": "EntryFiling",
    "ior.registry": "IorRecord",
    "reference.brokers": "BrokerRecord",
    "reference.watchlist": "WatchlistRecord",
    "entries.released": "ScreeningDecision",
    "entries.holds": "ScreeningDecision",
    "entries.seizure-review": "ScreeningDecision",
    "screening.audit": "AuditEvent",
    "entries.filed.dlq": "DeadLetter",
    "holds.resolutions": "HoldResolution",
    "ior.vetting-alerts": "VettingAlert",
    "screening.open-holds": "HoldRecord",
    "penalty.cases": "PenaltyCaseOpened",
    "penalty.assessments": "PenaltyAssessed",
}


def json_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = TypeAdapter(MESSAGES[name]).json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://entry-screening.invalid/schemas/{name}.schema.json"
    return schema


def rendered() -> dict[str, str]:
    """File name -> exact file text, for every generated schema and the topic index."""
    files = {
        f"{name}.schema.json": json.dumps(json_schema(name), indent=2, sort_keys=True) + "\n"
        for name in MESSAGES
    }
    files["topics.json"] = json.dumps(TOPIC_MESSAGES, indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate or check the JSON Schema files.")
    parser.add_argument("--write", action="store_true", help="rewrite the files")
    args = parser.parse_args(argv)
    stale = [
        name
        for name, text in rendered().items()
        if not (SCHEMA_DIR / name).is_file() or (SCHEMA_DIR / name).read_text() != text
    ]
    if args.write:
        SCHEMA_DIR.mkdir(exist_ok=True)
        for name, text in rendered().items():
            (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {len(rendered())} files to {SCHEMA_DIR}")
        return 0
    for name in stale:
        print(f"stale: {SCHEMA_DIR / name}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

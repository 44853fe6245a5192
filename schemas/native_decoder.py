"""The compiled entry decoder (``native/``), when it is installed.

``codec.decode(EntryFiling, data)`` asks it first: for the common shape of a filing it
builds the same ``EntryFiling`` as ``model_validate_json`` in about a third of the time.
It never refuses anything itself: whatever it is not sure of goes to pydantic, which
accepts it or says exactly what is wrong, so error messages and the dead-letter topic do
not depend on it. Its field rules are read from the models' JSON Schema here, so a changed
pattern or limit reaches both decoders. ``ENTRY_SCREENING_CORE=python`` switches it off
with the rest of the native core; ``tests/unit/test_native_decoder.py`` compares the two.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any, Final

import pydantic_core
from pydantic import BaseModel

from schemas import formats
from schemas.entry import Bond, EntryFiling, EntryLine

CORE_VARIABLE: Final = "ENTRY_SCREENING_CORE"
_RULE_KEYS: Final = (
    "pattern",
    "minLength",
    "maxLength",
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
)


def field_rules(*models: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field's constraints from its model's JSON Schema, by "Model.field": the
    non-null branch of an optional field, and the item rule of an array."""
    rules: dict[str, dict[str, Any]] = {}
    for model in models:
        for name, spec in model.model_json_schema()["properties"].items():
            branch = next((b for b in spec.get("anyOf", [spec]) if b.get("type") != "null"), spec)
            rule = {key: branch[key] for key in _RULE_KEYS if key in branch}
            items = branch.get("items")
            if isinstance(items, dict):
                rule["items"] = {key: items[key] for key in _RULE_KEYS if key in items}
            rules[f"{model.__name__}.{name}"] = rule
    return rules


def native_module() -> ModuleType | None:
    """The compiled module (``native/``), or None when it is not installed or
    ``ENTRY_SCREENING_CORE=python`` switches it off. The one place that decides."""
    if os.environ.get(CORE_VARIABLE, "").strip().lower() == "python":
        return None
    try:
        import screening_native
    except ImportError:
        return None
    module: ModuleType = screening_native
    return module


def load() -> Any:
    """The decoder, or None when the native module is missing or switched off."""
    module = native_module()
    if module is None:
        return None
    return module.EntryDecoder(
        EntryFiling,
        EntryLine,
        Bond,
        field_rules(EntryFiling, EntryLine, Bond),
        f"^(?:{formats.ADCVD_CASE_FORM})$",
        pydantic_core.TzInfo,
    )


ENTRY_DECODER: Final = load()

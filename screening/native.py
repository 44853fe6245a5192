"""The compiled screening core (``native/``, Rust), when it is installed.

``Screener`` hands each entry to it when it is there: the same decisions as the rules in
:mod:`screening.rules`, at a fraction of the cost (``make bench-core`` prints both). It is
optional: ``pip install ./native`` (``make venv`` does it where a Rust toolchain is found)
builds it, and without it the Python core decides alone. ``ENTRY_SCREENING_CORE=python``
switches it off, to rule it out when a decision looks wrong; ``tests/unit/test_native_core.py``
holds the two cores to the same decisions.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Final

from schemas.native_decoder import CORE_VARIABLE, native_module
from screening.rulepack import RULE_IDS

__all__ = ["CORE_VARIABLE", "NATIVE", "load"]

log = logging.getLogger(__name__)


def load() -> ModuleType | None:
    """The native module, or None when it is not installed, switched off, or built from a
    different rule catalogue than this package's (then it would not decide the same)."""
    module = native_module()
    if module is not None and tuple(module.RULE_IDS) != RULE_IDS:
        log.warning(
            "the installed native core has another rule catalogue; using the Python core "
            "(reinstall it: pip install ./native)"
        )
        return None
    return module


NATIVE: Final = load()

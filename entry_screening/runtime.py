"""Runtime tuning shared by every long-running entry point.

CPython's cyclic garbage collector runs a young-generation pass every 700 net allocations
and, now and then, a full pass over every live object. A worker holding a large registry
and allocating a few dozen objects per entry pays for that over and over: on this
project's machine it added half again to the core's cost per entry. Entries, decisions and
hits form no reference cycles, so collecting rarely loses nothing. Entry points call
:func:`settle_heap` once their long-lived state (registry, reference data, code) is loaded.
"""

from __future__ import annotations

import gc
from typing import Final

# Young generation every 50k allocations; older generations correspondingly rarely.
GC_THRESHOLDS: Final = (50_000, 20, 100)


def settle_heap() -> None:
    """Move everything alive now out of the collector's sight and collect rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

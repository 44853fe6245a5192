"""Runtime tuning shared by every long-running entry point.

CPython's cyclic garbage collector runs a young-generation pass every 700 net allocations
and, now and then, a full pass over every live object. A worker holding a large registry
and allocating a few dozen objects per entry pays for that over and over: on this
project's machine it added half again to the core's cost per entry. Entries, decisions and
hits form no reference cycles, so collecting rarely loses nothing. Entry points call
:func:`settle_heap` once their long-lived state (registry, reference data, code) is loaded.

glibc's allocator gives large freed blocks back to the kernel: a block above the mmap
threshold is unmapped when freed, and the heap's free top is trimmed above twice that.
The worker writes and frees tens of megabytes of record batches per consumer batch, so
every batch had its pages faulted in and zeroed afresh by the kernel (in ``perf``, most of
the time of building a batch's bytes). :func:`keep_freed_memory` keeps those pages for
reuse: the process's resident size stays at its high-water mark instead of falling back
between batches.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from typing import Final

# Young generation every 50k allocations; older generations correspondingly rarely.
GC_THRESHOLDS: Final = (50_000, 20, 100)

# mallopt parameters (malloc.h) and the values set: blocks up to 32 MiB (the largest
# threshold glibc accepts) come from the heap, and up to 256 MiB of its free top is kept.
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
MMAP_THRESHOLD_BYTES: Final = 32 << 20
TRIM_THRESHOLD_BYTES: Final = 256 << 20


def keep_freed_memory() -> bool:
    """Have glibc's allocator keep freed memory for reuse; False where it cannot (not
    Linux, or a C library without ``mallopt``, such as musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 for a value it refuses.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def settle_heap() -> None:
    """Move everything alive now out of the collector's sight and collect rarely; keep
    freed memory for reuse (:func:`keep_freed_memory`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    keep_freed_memory()

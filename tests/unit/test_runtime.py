"""Runtime tuning (entry_screening/runtime.py): what it changes is observable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from entry_screening.runtime import keep_freed_memory

# Rounds of the worker's pattern: a batch's worth of multi-megabyte blocks written, then
# all freed. Prints the page faults taken by the rounds after the first.
ROUNDS = """
import resource, sys
from entry_screening.runtime import keep_freed_memory

if sys.argv[1] == "keep":
    assert keep_freed_memory()


def one_round():
    blocks = [b"\x01" * (3 << 20) for _ in range(10)]  # every page written
    del blocks


one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    one_round()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_after_first_round(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not keep_freed_memory(), reason="no glibc mallopt here")
def test_freed_batch_memory_is_reused_instead_of_faulted_in_again() -> None:
    default = faults_after_first_round("default")
    kept = faults_after_first_round("keep")
    # 4 rounds x 30 MiB is about 30,000 pages: by default most are given back to the
    # kernel and faulted in again; kept, they are reused.
    assert default > 10_000
    assert kept < default / 10

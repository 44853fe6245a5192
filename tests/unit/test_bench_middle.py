"""The benchmark's reading of a run's middle (``bench/pipeline.py``): which commits bound
it, the rate over it, and the CPU per record of the loop's process and of the broker."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from pipeline import Mark, middle, timed


def run_marks(start_up: float) -> list[Mark]:
    """100 records committed ten at a time, one commit a second after ``start_up`` seconds
    with nothing committed; the loop uses 0.5 s of CPU per commit, the broker 0.2 s."""
    marks = [Mark(0.0, 0, 0.0, 0.0)]
    for n in range(1, 11):
        marks.append(Mark(start_up + n, 10 * n, 0.5 * n, 0.2 * n))
    return marks


def test_the_middle_runs_from_the_first_commit_past_a_tenth_to_the_first_past_nine_tenths() -> None:
    marks = [Mark(float(i), n, 0.0, 0.0) for i, n in enumerate((0, 5, 15, 50, 85, 95, 100))]
    start, end = middle(marks, 100)
    assert (start.committed, end.committed) == (15, 95)


def test_a_slow_start_lowers_the_whole_run_rate_but_not_the_middle() -> None:
    quick, slow = run_marks(start_up=0.0), run_marks(start_up=5.0)
    quick_run = timed(100 / quick[-1].seconds, quick, quick, 100)
    slow_run = timed(100 / slow[-1].seconds, slow, slow, 100)
    assert slow_run.eps < quick_run.eps
    # Ten records a second between the commits of records 10 and 90, either way.
    assert quick_run.sustained_eps == slow_run.sustained_eps == 10.0
    # 0.5 s and 0.2 s of CPU per ten records: 50,000 and 20,000 µs per record.
    assert math.isclose(slow_run.cpu_us, 50_000.0)
    assert math.isclose(slow_run.broker_cpu_us, 20_000.0)


def test_the_cpu_can_come_from_marks_of_its_own() -> None:
    # The pipeline's rate comes from the worker's batch lines, its CPU from the benchmark's
    # polls, which see the commits later and less often.
    rate_marks = run_marks(start_up=0.0)
    polls = [Mark(2.5, 20, 1.0, 0.5), Mark(6.0, 60, 3.0, 1.5), Mark(9.5, 90, 4.0, 2.0)]
    run = timed(10.0, rate_marks, polls, 100)
    assert run.sustained_eps == 10.0
    assert math.isclose(run.cpu_us, (4.0 - 1.0) / 70 * 1e6)
    assert math.isclose(run.broker_cpu_us, (2.0 - 0.5) / 70 * 1e6)


def test_a_run_committed_in_one_batch_has_no_middle_rate() -> None:
    marks = [Mark(0.0, 0, 0.0, 0.0), Mark(1.0, 100, 0.3, 0.1)]
    assert math.isnan(timed(100.0, marks, marks, 100).sustained_eps)

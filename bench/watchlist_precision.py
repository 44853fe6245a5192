"""Precision and recall of entity-list name matching on a labelled set of near misses.

The set (``tests/data/watchlist_labelled.csv``) pairs names as they appear on entries with
the listed party they are (or blank: a different party with a similar name): company
suffixes, punctuation, word order, spacing, transliteration, aliases, other countries.
The lists are the UFLPA and Consolidated Screening List samples in ``tests/data``.

    python bench/watchlist_precision.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from entry_screening.watchlists import read_csl_json, read_uflpa_csv
from screening.watchlist import WatchlistIndex

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def evaluate() -> tuple[int, int, int, int, list[str]]:
    index = WatchlistIndex(
        [
            *read_uflpa_csv(DATA / "uflpa_entity_list_sample.csv"),
            *read_csl_json(DATA / "csl_sample.json"),
        ]
    )
    true_pos = false_pos = false_neg = true_neg = 0
    wrong = []
    with (DATA / "watchlist_labelled.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            found = {m.record.name for m in index.match(row["query"], row["country"] or None)}
            expected = row["expected"]
            if expected and expected in found:
                true_pos += 1
            elif expected:
                false_neg += 1
                wrong.append(f"missed: {row['query']!r} ({row['why']})")
            elif found:
                false_pos += 1
                wrong.append(f"false match: {row['query']!r} -> {sorted(found)} ({row['why']})")
            else:
                true_neg += 1
    return true_pos, false_pos, false_neg, true_neg, wrong


def main() -> None:
    tp, fp, fn, tn, wrong = evaluate()
    for line in wrong:
        print(line)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(
        f"labelled={tp + fp + fn + tn} true_matches={tp} false_matches={fp} "
        f"missed={fn} correctly_unmatched={tn}"
    )
    print(f"precision={precision:.3f} recall={recall:.3f}")


if __name__ == "__main__":
    main()

"""Prints the fault tests' results as a markdown table: ``python -m tools.reliability_table``.

Each test of ``tests/reliability`` records its row (entries fed, decided, dead-lettered,
lost, duplicated, and the recovery time it measured) in ``var/reliability/results.json``;
a test run again replaces its own row. What each recovery time measures is printed under
the table. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "var" / "reliability" / "results.json"
COLUMNS = ("fault", "entries fed", "decided", "DLQ", "lost", "duplicates", "recovery time")


def recovery_cell(seconds: list[float]) -> str:
    if not seconds:
        return "-"
    if len(seconds) == 1:
        return f"{seconds[0]:.1f} s"
    each = " / ".join(f"{s:.1f}" for s in seconds)
    return f"{max(seconds):.1f} s (max of {len(seconds)}: {each})"


def table(rows: dict[str, dict[str, Any]]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["--:"] * 6) + "|"]
    notes = []
    for number, key in enumerate(sorted(rows), start=1):
        row = rows[key]
        cells = [
            f"{row['fault'][0].upper()}{row['fault'][1:]} [{number}]",
            f"{row['fed']:,}",
            f"{row['decided']:,}",
            f"{row['dlq']:,}",
            f"**{row['lost']}**",
            f"{row['duplicates']:,}"
            + (f" (**{row['conflicts']} conflicting**)" if row.get("conflicts") else ""),
            recovery_cell(row["recovery_s"]),
        ]
        out.append("| " + " | ".join(cells) + " |")
        detail = f"[{number}] {row['broker']}. Recovery time: {row['recovery']}."
        if row.get("notes"):
            detail += f" {row['notes'][0].upper()}{row['notes'][1:]}."
        if row.get("conflicts"):
            detail += (
                f" {row['conflicts']} entries came out twice under one decision id with "
                "different outcomes or rules."
            )
        if row.get("reworded"):
            detail += (
                f" {row['reworded']} repeated decision(s) kept their outcome and rules but "
                "not their reason texts."
            )
        notes.append(detail)
    return "\n".join([*out, "", *notes]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.results.exists():
        print(
            f"no results in {args.results}: run the reliability tests (make test-kafka)",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(table(json.loads(args.results.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

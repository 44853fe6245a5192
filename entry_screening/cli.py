"""``entry-screening``: the one command line for every way of running the project.

Each sub-command imports what it needs when it runs, so ``screen`` on a file never loads
the Kafka stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

EXIT_OK = 0
EXIT_INPUT_ERRORS = 1
EXIT_USAGE = 2


def _aware_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a zone, e.g. 2026-12-01T00:00:00Z")
    return value


def _existing_file(text: str) -> Path:
    path = Path(text)
    if text != "-" and not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


# --- screen --------------------------------------------------------------------------------


def cmd_screen(args: argparse.Namespace) -> int:
    from entry_screening import batch
    from entry_screening.runtime import settle_heap
    from screening.engine import Screener
    from screening.rulepack import RulePackError, load_rule_pack
    from streams.settings import Settings

    try:
        pack = load_rule_pack(args.rule_pack)
    except RulePackError as error:
        print(f"entry-screening screen: {error}", file=sys.stderr)
        return EXIT_USAGE
    reports = [batch.LoadReport(str(args.registry))]
    registry = batch.load_registry(args.registry, reports[0])
    reference = batch.load_reference(args.brokers, args.watchlist, reports)
    screener = Screener(pack, reference, ior_hash_key=Settings().ior_hash_key_bytes())
    settle_heap()
    audit = args.audit_out.open("wb") if args.audit_out else None
    entries = sys.stdin.buffer if str(args.entries) == "-" else args.entries.open("rb")
    try:
        summary = batch.screen_stream(
            entries,
            sys.stdout.buffer,
            screener=screener,
            registry=registry,
            source=str(args.entries),
            as_of=args.as_of,
            audit_out=audit,
        )
    finally:
        sys.stdout.buffer.flush()
        if audit is not None:
            audit.close()
        if entries is not sys.stdin.buffer:
            entries.close()
    refused = batch.report_load_errors(reports)
    print(f"rule pack {pack.version}", file=sys.stderr)
    for line in summary.lines():
        print(line, file=sys.stderr)
    return EXIT_INPUT_ERRORS if summary.invalid or refused else EXIT_OK


# --- generate ------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from entry_screening.synthetic import FeedSpec, write_dataset

    spec = FeedSpec(
        iors=args.iors,
        entries=args.entries,
        seed=args.seed,
        malformed=args.malformed,
        **({"start": args.start} if args.start else {}),
    )
    dataset = write_dataset(spec, args.out)
    for label, path in vars(dataset).items():
        print(f"{label:<10} {path}")
    return EXIT_OK


# --- the parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entry-screening",
        description="Screen US import entries under the 2026 customs-enforcement order.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    screen = commands.add_parser(
        "screen",
        help="screen a JSON Lines file of entries (no Kafka)",
        description="Write one ScreeningDecision (or one error object) per entry line to "
        "standard output and a summary to standard error. Exit status 1 when any line "
        "was invalid.",
    )
    screen.add_argument("--registry", type=_existing_file, required=True, metavar="IORS.jsonl")
    screen.add_argument("--brokers", type=_existing_file, metavar="B.jsonl")
    screen.add_argument("--watchlist", type=_existing_file, metavar="W.jsonl")
    screen.add_argument(
        "--rule-pack",
        type=_existing_file,
        metavar="PACK",
        help="TOML or JSON rule pack (default: the shipped baseline)",
    )
    screen.add_argument(
        "--as-of",
        type=_aware_time,
        metavar="TIME",
        help="fix the clock for effective dates and registry ages (default: each entry's filed_at)",
    )
    screen.add_argument(
        "--audit-out",
        type=Path,
        metavar="FILE",
        help="also write one AuditEvent per decision to FILE",
    )
    screen.add_argument(
        "entries",
        type=_existing_file,
        metavar="ENTRIES.jsonl",
        help="entries, one JSON object per line ('-' for standard input)",
    )
    screen.set_defaults(run=cmd_screen)

    generate = commands.add_parser(
        "generate",
        help="write a synthetic registry, reference data and entry feed",
        description="Deterministic for a seed: registry.jsonl, brokers.jsonl, "
        "watchlist.jsonl and entries.jsonl in OUT.",
    )
    generate.add_argument("--iors", type=int, default=2_000)
    generate.add_argument("--entries", type=int, default=10_000)
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument(
        "--malformed",
        type=int,
        default=0,
        help="how many entry lines to break, of ten different kinds",
    )
    generate.add_argument(
        "--start",
        type=_aware_time,
        help="filed_at of the first entry (default 2026-12-01T08:00:00Z)",
    )
    generate.add_argument("--out", type=Path, required=True, metavar="DIR")
    generate.set_defaults(run=cmd_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `entry-screening screen ... | head` is normal use, not an error.
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

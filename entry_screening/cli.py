"""``entry-screening``: the one command line for every way of running the project.

Each sub-command imports what it needs when it runs, so ``screen`` on a file never loads
the Kafka stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.settings import Settings

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


# --- Kafka commands ------------------------------------------------------------------------


def add_bootstrap(
    parser: argparse.ArgumentParser,
    help: str = "Kafka bootstrap servers (default: $SCREENING_KAFKA_BOOTSTRAP)",
) -> argparse.ArgumentParser:
    parser.add_argument("--bootstrap", metavar="HOST:PORT", help=help)
    return parser


def kafka_settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with ``--bootstrap`` over the broker address."""
    from streams.settings import Settings

    bootstrap = getattr(args, "bootstrap", None)
    return Settings(kafka_bootstrap=bootstrap) if bootstrap else Settings()


def cmd_topics_create(args: argparse.Namespace) -> int:
    from streams.admin import create_topics

    settings = kafka_settings(args)
    for outcome in asyncio.run(create_topics(settings)):
        spec = outcome.spec
        state = "created" if outcome.created else "exists "
        kind = "compacted" if spec.compacted else "         "
        note = f"  ({outcome.note})" if outcome.note else ""
        print(f"{state} {spec.name:<28} {spec.partitions:>3} partitions {kind} {spec.role}{note}")
    return EXIT_OK


def _report(result: Any, label: str) -> int:
    for number, reason in result.skipped:
        print(f"line {number}: skipped: {reason}", file=sys.stderr)
    print(
        f"{label}: produced {result.produced}, skipped {len(result.skipped)} "
        f"in {result.seconds:.2f} s",
        file=sys.stderr,
    )
    return EXIT_INPUT_ERRORS if result.skipped else EXIT_OK


def cmd_load(args: argparse.Namespace) -> int:
    from streams import loaders

    settings = kafka_settings(args)
    if args.kind == "registry" and args.delete:
        count = asyncio.run(loaders.delete_registry_records(settings, args.delete))
        print(f"registry: {count} deletions produced", file=sys.stderr)
        return EXIT_OK
    if args.file is None:
        print("entry-screening load: FILE is required", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "format", "records") != "records":
        from entry_screening.watchlists import READERS

        try:
            records = READERS[args.format](args.file)
        except (ValueError, KeyError) as error:
            print(
                f"entry-screening load: {args.file} is not a valid {args.format} file: {error}",
                file=sys.stderr,
            )
            return EXIT_INPUT_ERRORS
        result = asyncio.run(loaders.load_records(settings, args.kind, records))
    else:
        result = asyncio.run(loaders.load(settings, args.kind, args.file))
    return _report(result, f"{args.kind} -> {loaders.topic_for(settings, args.kind)}")


def cmd_feed(args: argparse.Namespace) -> int:
    from streams import loaders

    settings = kafka_settings(args)
    total = sum(1 for line in args.file.open("rb") if line.strip())
    result = asyncio.run(
        loaders.feed(
            settings,
            args.file,
            rate=args.rate,
            strict=args.strict,
            progress=loaders.Progress(total),
        )
    )
    return _report(result, f"entries -> {settings.topics.entries_filed}")


def cmd_worker(args: argparse.Namespace) -> int:
    # streams.app builds its Settings from the environment when it is imported.
    if args.bootstrap:
        os.environ["SCREENING_KAFKA_BOOTSTRAP"] = args.bootstrap
    import faust

    from streams.app import app

    # quiet: no banner or spinner; the logs are JSON lines.
    worker = faust.Worker(
        app,
        loglevel=app.conf.logging_config["root"]["level"].lower(),
        quiet=not sys.stdout.isatty(),
    )
    worker.execute_from_commandline()
    return EXIT_OK  # not reached: the worker exits the process


def cmd_holds_list(args: argparse.Namespace) -> int:
    from datetime import UTC

    from schemas import codec
    from streams.holds_admin import hold_rows, read_open_holds

    settings = kafka_settings(args)
    holds = asyncio.run(read_open_holds(settings))
    if args.ior:
        holds = {n: h for n, h in holds.items() if h.ior_number == args.ior}
    rows = hold_rows(holds, datetime.now(UTC))
    if args.json:
        for row in rows:
            sys.stdout.buffer.write(codec.encode_line(row))
        return EXIT_OK
    print(f"{'entry':<15} {'IOR':<14} {'outcome':<15} {'age h':>7}  rules")
    for row in rows:
        flag = " (escalated)" if row["escalated"] else ""
        rules = ",".join(str(rule) for rule in row["rule_ids"])  # type: ignore[attr-defined]
        print(
            f"{row['entry_number']:<15} {row['ior_number']:<14} {row['outcome']:<15} "
            f"{row['age_hours']:>7}  {rules}{flag}"
        )
    print(f"{len(rows)} open holds", file=sys.stderr)
    return EXIT_OK


def cmd_holds_resolve(args: argparse.Namespace) -> int:
    import uuid
    from datetime import UTC

    from pydantic import ValidationError

    from schemas import codec
    from schemas.formats import canonical_entry_number
    from schemas.lifecycle import HoldResolution
    from streams.holds_admin import read_open_holds, send_resolution

    settings = kafka_settings(args)
    try:
        entry_number = canonical_entry_number(args.entry)
    except ValueError as error:
        print(f"entry-screening holds resolve: entry {args.entry}: {error}", file=sys.stderr)
        return EXIT_USAGE
    hold = asyncio.run(read_open_holds(settings)).get(entry_number)
    if hold is None:
        print(
            f"entry-screening holds resolve: no open hold for entry {entry_number}", file=sys.stderr
        )
        return EXIT_INPUT_ERRORS
    action = (
        "officer_release"
        if args.release
        else "confirm_seizure"
        if args.confirm_seizure
        else "refile_formal"
        if args.refile_formal
        else "cure"
    )
    data: dict[str, Any] = {
        "resolution_id": args.id or f"cli-{uuid.uuid4().hex[:12]}",
        "entry_number": entry_number,
        "ior_number": hold.ior_number,
        "action": action,
        "resolved_at": datetime.now(UTC),
        "export_declaration_ref": args.export_ref,
        "supply_chain_cert_ref": args.cert_ref,
        "entry_type": args.refile_formal,
        "officer_id": args.officer,
        "note": args.note,
    }
    if args.bond_amount is not None:
        data["bond"] = {
            "type": args.bond_type,
            "amount_usd": args.bond_amount,
            "surety_code": args.surety,
        }
    try:
        resolution = HoldResolution.model_validate(data)
    except ValidationError as error:
        rejected = codec.describe_validation_error(error)
        print(f"entry-screening holds resolve: {rejected.message}", file=sys.stderr)
        return EXIT_USAGE
    asyncio.run(send_resolution(settings, resolution))
    print(
        f"sent {action} {resolution.resolution_id} for entry {entry_number}; its decision "
        f"follows on the decision topics",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from entry_screening.demo import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            entries=args.entries,
            iors=args.iors,
            rate=args.rate,
            malformed=args.malformed,
            seed=args.seed,
            keep=args.keep,
        )
    )


# --- the parser ----------------------------------------------------------------------------


def add_reference_files(parser: argparse.ArgumentParser, pack_name: str, pack_help: str) -> None:
    """The files every screening run reads: registry, brokers, entity list, rule pack."""
    parser.add_argument("--registry", type=_existing_file, required=True, metavar="IORS.jsonl")
    parser.add_argument("--brokers", type=_existing_file, metavar="B.jsonl")
    parser.add_argument("--watchlist", type=_existing_file, metavar="W.jsonl")
    parser.add_argument("--rule-pack", type=_existing_file, metavar=pack_name, help=pack_help)


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
    add_reference_files(screen, "PACK", "TOML or JSON rule pack (default: the shipped baseline)")
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

    bootstrap = add_bootstrap(argparse.ArgumentParser(add_help=False))

    topics = commands.add_parser("topics", help="manage the pipeline's topics")
    topic_commands = topics.add_subparsers(dest="topics_command", required=True, metavar="ACTION")
    create = topic_commands.add_parser(
        "create",
        parents=[bootstrap],
        help="create every topic with its partitions and config (idempotent)",
    )
    create.set_defaults(run=cmd_topics_create)

    load = commands.add_parser("load", help="validate and produce registry or reference data")
    load_kinds = load.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, text in (
        ("registry", "IOR records to ior.registry, keyed by IOR number"),
        ("brokers", "broker records to reference.brokers, keyed by filer code"),
        ("watchlist", "entity-list records to reference.watchlist, keyed by id"),
    ):
        sub = load_kinds.add_parser(kind, parents=[bootstrap], help=text)
        sub.add_argument(
            "file", type=_existing_file, nargs="?" if kind == "registry" else None, metavar="FILE"
        )
        if kind == "registry":
            sub.add_argument(
                "--delete",
                nargs="+",
                metavar="IOR",
                help="remove these IORs from the registry instead",
            )
        if kind == "watchlist":
            sub.add_argument(
                "--format",
                choices=("records", "uflpa", "csl"),
                default="records",
                help="records: WatchlistRecord JSON Lines; uflpa: the UFLPA Entity List as CSV; "
                "csl: the Consolidated Screening List JSON export",
            )
        sub.set_defaults(run=cmd_load)

    feed = commands.add_parser(
        "feed",
        parents=[bootstrap],
        help="produce entry filings to entries.filed, keyed by IOR number",
    )
    feed.add_argument("file", type=_existing_file, metavar="ENTRIES.jsonl")
    feed.add_argument("--rate", type=float, metavar="N", help="at most N entries per second")
    feed.add_argument(
        "--strict", action="store_true", help="validate each line first and skip invalid ones"
    )
    feed.set_defaults(run=cmd_feed)

    worker = commands.add_parser(
        "worker",
        parents=[bootstrap],
        help="run a screening worker (same as `faust -A streams.app worker`)",
    )
    worker.set_defaults(run=cmd_worker)

    holds = commands.add_parser("holds", help="the hold queue: list open holds, resolve one")
    hold_commands = holds.add_subparsers(dest="holds_command", required=True, metavar="ACTION")
    listing = hold_commands.add_parser("list", parents=[bootstrap], help="list open holds")
    listing.add_argument("--ior", metavar="IOR", help="only this IOR's holds")
    listing.add_argument("--json", action="store_true", help="one JSON object per hold")
    listing.set_defaults(run=cmd_holds_list)
    resolve = hold_commands.add_parser(
        "resolve",
        parents=[bootstrap],
        help="cure, refile, release or confirm the seizure of one held entry",
        description="Produces a HoldResolution to holds.resolutions; the worker that keeps "
        "the hold applies it and answers with a decision.",
    )
    resolve.add_argument("entry", metavar="ENTRY", help="the held entry's number")
    what = resolve.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--export-ref", metavar="REF", help="cure: the export declaration filed abroad"
    )
    what.add_argument(
        "--cert-ref",
        metavar="REF",
        help="cure: the supply-chain and production-method certification",
    )
    what.add_argument("--refile-formal", metavar="TYPE", help="refile as this entry type (e.g. 01)")
    what.add_argument("--release", action="store_true", help="an officer releases the entry")
    what.add_argument(
        "--confirm-seizure", action="store_true", help="an officer confirms the seizure"
    )
    resolve.add_argument("--bond-type", choices=("8", "9"), default="9")
    resolve.add_argument(
        "--bond-amount",
        type=float,
        metavar="USD",
        help="with --refile-formal: the bond the formal entry is filed under",
    )
    resolve.add_argument("--surety", metavar="CODE", help="the bond's 3-digit surety code")
    resolve.add_argument("--officer", metavar="ID", help="the officer deciding (release, seizure)")
    resolve.add_argument("--note", help="a note for the audit trail")
    resolve.add_argument("--id", metavar="ID", help="resolution id (default: generated)")
    resolve.set_defaults(run=cmd_holds_resolve)

    demo = commands.add_parser(
        "demo", help="the whole pipeline on the embedded broker with a generated feed"
    )
    demo.add_argument("--entries", type=int, default=30_000)
    demo.add_argument("--iors", type=int, default=5_000)
    demo.add_argument("--rate", type=float, metavar="N", help="feed at most N entries per second")
    demo.add_argument("--malformed", type=int, default=30)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    demo.set_defaults(run=cmd_demo)

    from entry_screening import penalty_commands  # penalty, report, backtest

    penalty_commands.register(commands)
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

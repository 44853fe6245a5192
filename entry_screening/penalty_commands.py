"""The ``penalty``, ``report`` and ``backtest`` commands, and the bounded topic read they share.

:func:`register` adds the three sub-commands to the main parser (``entry_screening.cli``).
As there, each command imports what it needs when it runs, so computing a penalty never
loads the Kafka stack. The work itself lives in :mod:`screening.penalties`,
:mod:`entry_screening.report` and :mod:`entry_screening.backtest`; this module only reads
arguments and files or topics, calls them and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from entry_screening.cli import (
    EXIT_INPUT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    _aware_time,
    _existing_file,
    add_bootstrap,
    add_reference_files,
    kafka_settings,
)

if TYPE_CHECKING:
    from schemas.audit import DeadLetter
    from streams.settings import Settings

# The same names as screening.penalties.CULPABILITIES (a unit test keeps them equal); spelt
# out here so that building the parser imports nothing.
CULPABILITY_CHOICES = ("fraud", "gross_negligence", "negligence")

# How long a topic read may go without a single record before it gives up: a broker that
# answers at all delivers far more often than this, even on a loaded 2-core machine.
STALL_SECONDS = 30.0


# --- reading a topic to its end ------------------------------------------------------------


class TopicReadError(RuntimeError):
    """The topic is missing or stopped delivering before its end was reached."""


async def read_topic_to_end(
    settings: Settings,
    topic: str,
    on_record: Callable[[int, int, bytes], None],
    *,
    since: datetime | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> int:
    """Call ``on_record(partition, offset, value)`` for every record of ``topic`` from the
    beginning (or from the first record at or after ``since``) up to the end offsets as
    they were when the read started; returns how many records were passed on.

    The end is fixed at the start so the read always finishes, even while producers keep
    writing: what arrives later belongs to the next report or backtest.
    """
    from aiokafka import TopicPartition

    from streams.replay import ReplayStalled, partitions_of, read_to_end, reader

    consumer = reader(settings, "replay")
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        if not partitions:
            raise TopicReadError(
                f"topic {topic!r} does not exist: run `entry-screening topics create`"
            )
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        if since is None:
            await consumer.seek_to_beginning(*tps)
        else:
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in tps}
            )
            for tp in tps:
                first = found.get(tp)
                # None: no record at or after `since` in this partition.
                consumer.seek(tp, ends[tp] if first is None else first.offset)
        passed = 0

        # offsets_for_times only positions the read (and the embedded broker ignores the
        # time): records older than `since` are also skipped here.
        since_ms = -1 if since is None else int(since.timestamp() * 1000)

        def pass_on(tp: TopicPartition, records: list[Any]) -> None:
            nonlocal passed
            for record in records:
                if record.value is not None and record.timestamp >= since_ms:
                    on_record(tp.partition, record.offset, record.value)
                    passed += 1

        try:
            await read_to_end(consumer, tps, pass_on, stall_seconds=stall_seconds)
        except ReplayStalled as stalled:
            raise TopicReadError(f"topic {topic!r}: {stalled}") from None
        return passed
    finally:
        await consumer.stop()


def _where(error: DeadLetter) -> str:
    if error.line is not None:
        return f"{error.source}:{error.line}"
    return f"{error.source}[{error.partition}]@{error.offset}"


def _print_errors(errors: list[DeadLetter] | tuple[DeadLetter, ...], err: IO[str]) -> None:
    for error in errors:
        print(f"{_where(error)}: skipped: {error.message}", file=err)


# --- penalty -------------------------------------------------------------------------------


def _amount(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of US dollars") from None


def cmd_penalty(args: argparse.Namespace) -> int:
    from schemas import codec
    from screening.penalties import PenaltyCase, PenaltyError, assess_penalty

    case = PenaltyCase(
        culpability=args.culpability,
        loss_of_duty_usd=args.loss_of_duty,
        domestic_value_usd=args.domestic_value,
        dutiable_value_usd=args.dutiable_value,
        assessed_usd=args.assessed,
        repeat_offender=args.repeat_offender,
        national_security=args.national_security,
    )
    try:
        assessment = assess_penalty(case, floor_share=args.floor_share)
    except PenaltyError as error:
        print(f"entry-screening penalty: {error}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.buffer.write(codec.encode(assessment) + b"\n")
    sys.stdout.buffer.flush()
    return EXIT_OK


# --- report --------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from entry_screening import batch
    from entry_screening.report import ReportBuilder, write_report

    if args.from_topic:
        settings = kafka_settings(args)
        topic = settings.topics.screening_audit
        builder = ReportBuilder(args.year, source=topic)

        def add(partition: int, offset: int, value: bytes) -> None:
            builder.add_line(value, partition=partition, offset=offset)

        try:
            asyncio.run(read_topic_to_end(settings, topic, add))
        except TopicReadError as error:
            print(f"entry-screening report: {error}", file=sys.stderr)
            return EXIT_USAGE
    else:
        builder = ReportBuilder(args.year, source=str(args.audit))
        stream = sys.stdin.buffer if str(args.audit) == "-" else args.audit.open("rb")
        try:
            for number, line in batch.read_lines(stream):
                builder.add_line(line, line=number)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    report = builder.build()
    figures, page = write_report(report, args.out)
    _print_errors(builder.errors, sys.stderr)
    source = report.source
    print(
        f"report {report.year}: {source.events_in_year:,} events of the year from "
        f"{source.events_read:,} read ({source.duplicates_skipped:,} repeated, "
        f"{source.invalid_lines:,} invalid lines)",
        file=sys.stderr,
    )
    print(f"figures  {figures}\npage     {page}", file=sys.stderr)
    return EXIT_INPUT_ERRORS if builder.errors else EXIT_OK


# --- backtest ------------------------------------------------------------------------------


def cmd_backtest(args: argparse.Namespace) -> int:
    from entry_screening import batch
    from entry_screening.backtest import Backtest, Position, render_table
    from schemas import codec
    from screening.engine import Screener
    from screening.rulepack import (
        RulePackError,
        load_rule_pack,
        read_rule_pack_data,
        with_overrides,
    )

    def usage(message: str) -> int:
        print(f"entry-screening backtest: {message}", file=sys.stderr)
        return EXIT_USAGE

    if not (args.candidate or args.disable or args.settings):
        return usage("nothing to compare: give --candidate PACK, --disable RULE or --set")
    if args.from_topic and args.since is None:
        return usage("--from-topic needs --since TIME (where in entries.filed to start)")
    if args.since is not None and not args.from_topic:
        return usage("--since applies to --from-topic only")
    try:
        live_pack = load_rule_pack(args.rule_pack)
        # Overrides apply to the candidate file when there is one, else to the live pack.
        candidate_pack = with_overrides(
            read_rule_pack_data(args.candidate or args.rule_pack),
            disable=tuple(args.disable),
            settings=tuple(args.settings),
        )
    except RulePackError as error:
        return usage(str(error))

    reports = [batch.LoadReport(str(args.registry))]
    registry = batch.load_registry(args.registry, reports[0])
    reference = batch.load_reference(args.brokers, args.watchlist, reports)
    live = Screener(live_pack, reference)
    candidate = Screener(candidate_pack, reference)

    if args.from_topic:
        settings = kafka_settings(args)
        topic = settings.topics.entries_filed
        backtest = Backtest(live, candidate, registry, source=topic, as_of=args.as_of)

        def add(partition: int, offset: int, value: bytes) -> None:
            backtest.add(value, Position(partition=partition, offset=offset))

        try:
            asyncio.run(read_topic_to_end(settings, topic, add, since=args.since))
        except TopicReadError as error:
            return usage(str(error))
    else:
        backtest = Backtest(live, candidate, registry, source=str(args.entries), as_of=args.as_of)
        stream = sys.stdin.buffer if str(args.entries) == "-" else args.entries.open("rb")
        try:
            for number, line in batch.read_lines(stream):
                backtest.add(line, Position(line=number))
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    report = backtest.report()
    refused = batch.report_load_errors(reports)
    _print_errors(report.errors, sys.stderr)
    if args.json:
        sys.stdout.buffer.write(codec.encode(report) + b"\n")
        sys.stdout.buffer.flush()
    else:
        for row in render_table(report):
            print(row)
    return EXIT_INPUT_ERRORS if report.invalid or refused else EXIT_OK


# --- the parsers ---------------------------------------------------------------------------

_FROM_TOPIC_BOOTSTRAP = (
    "Kafka bootstrap servers for --from-topic (default: $SCREENING_KAFKA_BOOTSTRAP)"
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``penalty``, ``report`` and ``backtest`` to the main parser's sub-commands."""
    penalty = commands.add_parser(
        "penalty",
        help="a 19 USC 1592 penalty's maximum and the order's mitigation floor",
        description="Print one JSON object: the statutory maximum for the culpability, the "
        "least amount mitigation may leave under the order (50%% of the assessed penalty, "
        "all of it for a repeat offender, none in a national-security case) and the "
        "reasoning with the figures. Exit status 2 when the figures are not usable, "
        "including an assessed amount above the statutory maximum.",
    )
    penalty.add_argument("--culpability", choices=CULPABILITY_CHOICES, required=True)
    penalty.add_argument(
        "--loss-of-duty",
        type=_amount,
        required=True,
        metavar="USD",
        help="duties, taxes and fees of which the US is or may be deprived (0: none)",
    )
    penalty.add_argument("--domestic-value", type=_amount, required=True, metavar="USD")
    penalty.add_argument(
        "--dutiable-value",
        type=_amount,
        metavar="USD",
        help="needed when no duty was lost (gross negligence and negligence)",
    )
    penalty.add_argument("--assessed", type=_amount, required=True, metavar="USD")
    penalty.add_argument(
        "--repeat-offender", action="store_true", help="no mitigation: the floor is all of it"
    )
    penalty.add_argument(
        "--national-security",
        action="store_true",
        help="a national-security case, which the order excepts from its floor",
    )
    penalty.add_argument(
        "--floor-share",
        type=float,
        default=0.5,
        metavar="SHARE",
        help="share of the assessed penalty mitigation may not go below (0.5 to 1; "
        "default 0.5, the order's)",
    )
    penalty.set_defaults(run=cmd_penalty)

    report = commands.add_parser(
        "report",
        help="the annual enforcement transparency report from audit events",
        description="Count one calendar year (UTC) of AuditEvents and write DIR/report.json "
        "(every figure) and DIR/index.html (a self-contained page with charts). Exit "
        "status 1 when any input line was not an AuditEvent.",
    )
    report.add_argument("--year", type=int, required=True, metavar="YEAR")
    report.add_argument("--out", type=Path, required=True, metavar="DIR")
    report_source = report.add_mutually_exclusive_group(required=True)
    report_source.add_argument(
        "--audit",
        type=_existing_file,
        metavar="FILE",
        help="AuditEvent JSON Lines, as written by `screen --audit-out` ('-' for standard input)",
    )
    report_source.add_argument(
        "--from-topic",
        action="store_true",
        help="read the screening.audit topic from the beginning to its current end",
    )
    add_bootstrap(report, _FROM_TOPIC_BOOTSTRAP)
    report.set_defaults(run=cmd_report)

    backtest = commands.add_parser(
        "backtest",
        help="compare a candidate rule pack with the live one on the same entries",
        description="Screen every entry under the live pack and the candidate (a pack file, "
        "or the live pack with rules disabled or parameters set) and report the entries "
        "whose outcome changes and the hits per rule under each. Exit status 1 when any "
        "line was invalid, 2 for a usage error.",
    )
    add_reference_files(backtest, "LIVE", "the live rule pack (default: the shipped baseline)")
    backtest.add_argument(
        "--candidate", type=_existing_file, metavar="PACK", help="the candidate rule pack"
    )
    backtest.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="switch a rule off in the candidate (repeatable)",
    )
    backtest.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="RULE.PARAM=VALUE",
        help="change a rule's parameter (or enabled, outcome, effective_from) in the "
        "candidate (repeatable)",
    )
    backtest.add_argument(
        "--as-of",
        type=_aware_time,
        metavar="TIME",
        help="fix the clock for effective dates and registry ages (default: each entry's "
        "filed_at, as in `screen`)",
    )
    backtest.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    backtest_source = backtest.add_mutually_exclusive_group(required=True)
    backtest_source.add_argument(
        "entries",
        nargs="?",
        type=_existing_file,
        metavar="ENTRIES.jsonl",
        help="entries, one JSON object per line ('-' for standard input)",
    )
    backtest_source.add_argument(
        "--from-topic",
        action="store_true",
        help="read entries.filed from --since to its current end",
    )
    backtest.add_argument(
        "--since",
        type=_aware_time,
        metavar="TIME",
        help="with --from-topic: start at the first entry record at or after TIME",
    )
    add_bootstrap(backtest, _FROM_TOPIC_BOOTSTRAP)
    backtest.set_defaults(run=cmd_backtest)

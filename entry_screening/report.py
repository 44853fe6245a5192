"""The annual enforcement transparency report (E9), built from the audit stream.

The order asks CBP for an annual enforcement transparency report. Everything it needs is
already in the audit events the pipeline and the batch command write: every decision, every
hold resolved or escalated, every penalty with its mitigation floor, every confidentiality
certification reviewed or expired. :class:`ReportBuilder` reads those events one at a time
(from a JSON Lines file or the ``screening.audit`` topic), keeps one calendar year, and
counts; :func:`render_html` turns the figures into a self-contained page an agency could
publish: no script, no external file or font, charts drawn here as inline SVG, each with a
title, a description and a table of the same figures for readers who cannot see it.

How events are counted (stated on the page too):

* a year is a calendar year in UTC, and so is each month;
* an event counts once: replays repeat ``event_id`` (see :class:`schemas.audit.AuditEvent`),
  so a repeated id is skipped;
* screening figures count decisions at filing (``EntryScreened``); re-screenings after a
  registry change or a resolution are counted apart, so an entry is not counted twice;
* nothing about a single importer or entry is published: only totals.
"""

from __future__ import annotations

import hashlib
import html
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from pydantic import TypeAdapter, ValidationError

from schemas import codec
from schemas.audit import AuditEvent, DeadLetter, DetailValue, FieldError
from schemas.decision import OUTCOMES
from screening.penalties import CULPABILITIES

_EVENTS: Final = TypeAdapter(AuditEvent)

MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
RESOLUTIONS: Final = ("cured", "refiled_formal", "released_by_officer", "seizure_confirmed")
# Resolutions by which the filer cured the hold, and those an officer decided.
CURED_BY_FILER: Final = frozenset({"cured", "refiled_formal"})
FLOOR_RULES: Final = ("order_floor", "repeat_offender", "national_security")
TOP_RULES_SHOWN: Final = 10

# The documented ``details`` keys an event type must carry for the report to use it.
_REQUIRED_DETAILS: Final[dict[str, tuple[str, ...]]] = {
    "EntryScreened": ("ior_classification",),
    "HoldResolved": ("resolution",),
    "HoldEscalated": ("age_hours",),
    "PenaltyAssessed": (
        "culpability",
        "assessed_usd",
        "floor_usd",
        "max_penalty_usd",
        "repeat_offender",
        "national_security",
    ),
    "ConfidentialityExpiring": ("expires_at",),
    "ConfidentialityExpired": ("expires_at",),
}


# --- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFigures:
    """What was read: every valid event, those of the year, duplicates and refused lines."""

    events_read: int
    events_in_year: int
    duplicates_skipped: int
    invalid_lines: int
    # Events of the year whose ``details`` lack a key documented for their type.
    incomplete_details: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    events_by_type: dict[str, int]


@dataclass(frozen=True)
class ScreeningFigures:
    decisions: int
    by_outcome: dict[str, int]
    by_month: dict[str, dict[str, int]]
    # Every rule that matched, most frequent first (ties by rule id).
    rule_hits: dict[str, int]
    # "us" and "foreign" (and "unknown" if an event did not say), each by outcome and total.
    by_ior_classification: dict[str, dict[str, int]]
    rescreenings: int
    rescreenings_by_outcome: dict[str, int]


@dataclass(frozen=True)
class HoldFigures:
    resolved: int
    cured_by_filer: int
    decided_by_officer: int
    by_resolution: dict[str, int]
    escalated: int
    escalation_median_age_hours: float | None
    by_month: dict[str, dict[str, int]]


@dataclass(frozen=True)
class SeizureReviewFigures:
    referred: int
    seizure_confirmed: int
    released_by_officer: int
    referred_by_month: dict[str, int]


@dataclass(frozen=True)
class PenaltyTotals:
    cases: int
    assessed_usd: float
    floor_usd: float
    max_penalty_usd: float


@dataclass(frozen=True)
class PenaltyFigures:
    cases: int
    assessed_usd: float
    floor_usd: float
    max_penalty_usd: float
    # Sum of floors over sum of assessed amounts; None without any assessed amount.
    floor_share_of_assessed: float | None
    by_culpability: dict[str, PenaltyTotals]
    # Which rule of the order set each case's floor.
    floors_applied: dict[str, int]


@dataclass(frozen=True)
class ConfidentialityFigures:
    expiring_notices: int
    expired: int
    by_month: dict[str, dict[str, int]]


@dataclass(frozen=True)
class RulePackActivation:
    version: str
    activated_at: datetime


@dataclass(frozen=True)
class RegistryFigures:
    iors_deactivated: int
    rule_packs_activated: tuple[RulePackActivation, ...]


@dataclass(frozen=True)
class TransparencyReport:
    year: int
    source: SourceFigures
    screening: ScreeningFigures
    holds: HoldFigures
    seizure_reviews: SeizureReviewFigures
    penalties: PenaltyFigures
    confidentiality: ConfidentialityFigures
    registry: RegistryFigures


# --- counting ------------------------------------------------------------------------------


def _number(value: DetailValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _cents(amount: float) -> float:
    return round(amount, 2)


class ReportBuilder:
    """Counts one year's audit events; feed it lines or events, then :meth:`build`.

    Memory holds the counts and one 8-byte digest per distinct event of the year (for
    skipping replayed events): about 70 bytes an event, some 2.5 GB for a national year of
    35 million decisions, which an annual batch job can afford.
    """

    def __init__(self, year: int, *, source: str) -> None:
        self.year = year
        self.source = source
        self.errors: list[DeadLetter] = []
        self._read = 0
        self._in_year = 0
        self._duplicates = 0
        self._incomplete = 0
        self._seen: set[bytes] = set()
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._by_type: Counter[str] = Counter()
        self._decisions = [Counter[str]() for _ in MONTH_NAMES]
        self._rule_hits: Counter[str] = Counter()
        self._by_class: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._rescreened: Counter[str] = Counter()
        self._holds = [Counter[str]() for _ in MONTH_NAMES]
        self._escalation_ages: list[float] = []
        self._penalties: dict[str, list[float]] = {}
        self._floor_rules: Counter[str] = Counter()
        self._confidentiality = [Counter[str]() for _ in MONTH_NAMES]
        self._deactivated = 0
        self._packs: list[RulePackActivation] = []

    # -- input --

    def add_line(
        self,
        data: bytes,
        *,
        line: int | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        """One JSON-encoded AuditEvent; a line that is not one is recorded in ``errors``."""
        try:
            event = _decode(data)
        except codec.InputRejected as rejected:
            self.errors.append(
                rejected.dead_letter(self.source, line=line, partition=partition, offset=offset)
            )
            return
        self.add(event)

    def add(self, event: AuditEvent) -> None:
        self._read += 1
        at = event.occurred_at.astimezone(UTC)
        if at.year != self.year:
            return
        digest = hashlib.blake2b(event.event_id.encode(), digest_size=8).digest()
        if digest in self._seen:
            self._duplicates += 1
            return
        self._seen.add(digest)
        self._in_year += 1
        self._first = at if self._first is None else min(self._first, at)
        self._last = at if self._last is None else max(self._last, at)
        self._by_type[event.event_type] += 1
        required = _REQUIRED_DETAILS.get(event.event_type, ())
        if any(key not in event.details for key in required):
            self._incomplete += 1
        month = at.month - 1
        kind = event.event_type
        if kind == "EntryScreened":
            self._count_decision(event, month)
        elif kind == "EntryRescreened":
            self._rescreened[event.outcome or "unknown"] += 1
        elif kind == "HoldResolved":
            resolution = event.details.get("resolution")
            key = (
                resolution if isinstance(resolution, str) and resolution in RESOLUTIONS else "other"
            )
            self._holds[month][key] += 1
        elif kind == "HoldEscalated":
            self._holds[month]["escalated"] += 1
            age = _number(event.details.get("age_hours"))
            if age is not None:
                self._escalation_ages.append(age)
        elif kind == "PenaltyAssessed":
            self._count_penalty(event.details)
        elif kind == "ConfidentialityExpiring":
            self._confidentiality[month]["expiring"] += 1
        elif kind == "ConfidentialityExpired":
            self._confidentiality[month]["expired"] += 1
        elif kind == "IorDeactivated":
            self._deactivated += 1
        elif kind == "RulePackActivated" and event.rule_pack_version:
            self._packs.append(RulePackActivation(event.rule_pack_version, at))

    def _count_decision(self, event: AuditEvent, month: int) -> None:
        outcome = event.outcome or "unknown"
        self._decisions[month][outcome] += 1
        self._rule_hits.update(set(event.rule_ids))
        category = event.details.get("ior_classification")
        key = category if category in {"us", "foreign"} else "unknown"
        assert isinstance(key, str)
        self._by_class[key][outcome] += 1

    def _count_penalty(self, details: Mapping[str, DetailValue]) -> None:
        culpability = details.get("culpability")
        key = (
            culpability
            if isinstance(culpability, str) and culpability in CULPABILITIES
            else "unknown"
        )
        totals = self._penalties.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        totals[0] += 1
        for index, name in enumerate(("assessed_usd", "floor_usd", "max_penalty_usd"), start=1):
            totals[index] += _number(details.get(name)) or 0.0
        # The same precedence as screening.penalties: the national-security exception first.
        if details.get("national_security") is True:
            self._floor_rules["national_security"] += 1
        elif details.get("repeat_offender") is True:
            self._floor_rules["repeat_offender"] += 1
        else:
            self._floor_rules["order_floor"] += 1

    # -- output --

    def _month_key(self, index: int) -> str:
        return f"{self.year}-{index + 1:02d}"

    def build(self) -> TransparencyReport:
        by_outcome: Counter[str] = sum(self._decisions, Counter())
        # An event without an outcome is counted as "unknown" rather than dropped.
        outcome_keys = [
            *OUTCOMES,
            *sorted((set(by_outcome) | set(self._rescreened)) - set(OUTCOMES)),
        ]
        screening = ScreeningFigures(
            decisions=sum(by_outcome.values()),
            by_outcome={o: by_outcome[o] for o in outcome_keys},
            by_month={
                self._month_key(i): {o: month[o] for o in outcome_keys}
                for i, month in enumerate(self._decisions)
            },
            rule_hits=dict(sorted(self._rule_hits.items(), key=lambda kv: (-kv[1], kv[0]))),
            by_ior_classification={
                category: {
                    **{o: self._by_class[category][o] for o in outcome_keys},
                    "total": sum(self._by_class[category].values()),
                }
                for category in (
                    "us",
                    "foreign",
                    *(["unknown"] if "unknown" in self._by_class else []),
                )
            },
            rescreenings=sum(self._rescreened.values()),
            rescreenings_by_outcome={o: self._rescreened[o] for o in outcome_keys},
        )
        holds_total: Counter[str] = sum(self._holds, Counter())
        resolution_keys = [*RESOLUTIONS, *(["other"] if holds_total["other"] else [])]
        holds = HoldFigures(
            resolved=sum(holds_total[k] for k in resolution_keys),
            cured_by_filer=sum(holds_total[k] for k in CURED_BY_FILER),
            decided_by_officer=holds_total["released_by_officer"]
            + holds_total["seizure_confirmed"],
            by_resolution={k: holds_total[k] for k in resolution_keys},
            escalated=holds_total["escalated"],
            escalation_median_age_hours=(
                statistics.median(self._escalation_ages) if self._escalation_ages else None
            ),
            by_month={
                self._month_key(i): {k: month[k] for k in (*resolution_keys, "escalated")}
                for i, month in enumerate(self._holds)
            },
        )
        seizure_reviews = SeizureReviewFigures(
            referred=by_outcome["seizure_review"],
            seizure_confirmed=holds_total["seizure_confirmed"],
            released_by_officer=holds_total["released_by_officer"],
            referred_by_month={
                self._month_key(i): month["seizure_review"]
                for i, month in enumerate(self._decisions)
            },
        )
        culpability_keys = [
            *CULPABILITIES,
            *(["unknown"] if "unknown" in self._penalties else []),
        ]
        by_culpability = {
            key: PenaltyTotals(
                cases=int(t[0]),
                assessed_usd=_cents(t[1]),
                floor_usd=_cents(t[2]),
                max_penalty_usd=_cents(t[3]),
            )
            for key in culpability_keys
            for t in [self._penalties.get(key, [0.0, 0.0, 0.0, 0.0])]
        }
        assessed = math.fsum(t.assessed_usd for t in by_culpability.values())
        floor = math.fsum(t.floor_usd for t in by_culpability.values())
        penalties = PenaltyFigures(
            cases=sum(t.cases for t in by_culpability.values()),
            assessed_usd=_cents(assessed),
            floor_usd=_cents(floor),
            max_penalty_usd=_cents(math.fsum(t.max_penalty_usd for t in by_culpability.values())),
            floor_share_of_assessed=round(floor / assessed, 4) if assessed else None,
            by_culpability=by_culpability,
            floors_applied={rule: self._floor_rules[rule] for rule in FLOOR_RULES},
        )
        confidentiality_total: Counter[str] = sum(self._confidentiality, Counter())
        confidentiality = ConfidentialityFigures(
            expiring_notices=confidentiality_total["expiring"],
            expired=confidentiality_total["expired"],
            by_month={
                self._month_key(i): {"expiring": month["expiring"], "expired": month["expired"]}
                for i, month in enumerate(self._confidentiality)
            },
        )
        return TransparencyReport(
            year=self.year,
            source=SourceFigures(
                events_read=self._read,
                events_in_year=self._in_year,
                duplicates_skipped=self._duplicates,
                invalid_lines=len(self.errors),
                incomplete_details=self._incomplete,
                first_event_at=self._first,
                last_event_at=self._last,
                events_by_type=dict(sorted(self._by_type.items())),
            ),
            screening=screening,
            holds=holds,
            seizure_reviews=seizure_reviews,
            penalties=penalties,
            confidentiality=confidentiality,
            registry=RegistryFigures(
                iors_deactivated=self._deactivated,
                rule_packs_activated=tuple(sorted(self._packs, key=lambda p: p.activated_at)),
            ),
        )


def _decode(data: bytes) -> AuditEvent:
    if len(data) > codec.MAX_MESSAGE_BYTES:
        reason = f"is {len(data)} bytes, over the limit of {codec.MAX_MESSAGE_BYTES}"
        raise codec.InputRejected("oversized", (FieldError("(message)", reason),))
    try:
        event = _EVENTS.validate_json(data)
    except ValidationError as error:
        raise codec.describe_validation_error(error) from None
    if event.occurred_at.tzinfo is None:
        # A time without a zone cannot be placed in a month without guessing.
        raise codec.InputRejected(
            "invalid", (FieldError("occurred_at", "needs a time zone, e.g. Z"),)
        )
    return event


def build_report(
    lines: Iterable[tuple[int, bytes]], *, year: int, source: str
) -> tuple[TransparencyReport, list[DeadLetter]]:
    """The report of ``year`` from numbered JSON Lines, and the lines that were refused."""
    builder = ReportBuilder(year, source=source)
    for number, line in lines:
        builder.add_line(line, line=number)
    return builder.build(), builder.errors


def write_report(report: TransparencyReport, directory: Path) -> tuple[Path, Path]:
    """``report.json`` (every figure) and ``index.html`` (the page) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = directory / "report.json"
    page = directory / "index.html"
    figures.write_bytes(codec.encode(report) + b"\n")
    page.write_text(render_html(report), encoding="utf-8")
    return figures, page


# --- charts --------------------------------------------------------------------------------

# Paul Tol's colour-blind-safe palettes: the outcome colours differ in lightness as well as
# hue, so they stay apart in greyscale print.
OUTCOME_COLOURS: Final = {"release": "#004488", "hold": "#DDAA33", "seizure_review": "#BB5566"}
OUTCOME_LABELS: Final = {
    "release": "Released",
    "hold": "Held",
    "seizure_review": "Referred to seizure review",
    "unknown": "Outcome not recorded",
}
RESOLUTION_LABELS: Final = {
    "cured": "Cured by the filer",
    "refiled_formal": "Refiled as a formal entry",
    "released_by_officer": "Released by an officer",
    "seizure_confirmed": "Seizure confirmed",
    "other": "Other resolution",
    "escalated": "Escalated (not cured in time)",
}
CULPABILITY_LABELS: Final = {
    "fraud": "Fraud",
    "gross_negligence": "Gross negligence",
    "negligence": "Negligence",
    "unknown": "Not recorded",
}
FLOOR_RULE_LABELS: Final = {
    "order_floor": "Order's 50% floor",
    "repeat_offender": "Repeat offender: no mitigation",
    "national_security": "National-security case: no floor",
}
_INK: Final = "#1a1a1a"
_MUTED: Final = "#555555"
_GRID: Final = "#d9d9d9"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    # Text colour readable on ``colour`` (labels drawn inside bars).
    ink: str = "#000000"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _usd(value: float) -> str:
    return f"${value:,.0f}"


def _compact(value: float, prefix: str = "") -> str:
    """Axis labels: 12,500 -> 12.5k; the tables carry the exact figures."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{prefix}{value / limit:,.3g}{suffix}"
    return f"{prefix}{value:,.0f}"


def _compact_usd(value: float) -> str:
    return _compact(value, "$")


def _axis(value: float) -> tuple[float, int]:
    """The axis top and its number of intervals: ticks at 1, 2, 2.5 or 5 times a power of
    ten, about five of them, the top the first tick at or above ``value``."""
    if value <= 0:
        return 1.0, 1
    rough = value / 5
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if rough <= m * power + 1e-9)
    intervals = max(math.ceil(value / step - 1e-9), 1)
    return step * intervals, intervals


def _svg_open(chart_id: str, title: str, description: str, width: int, height: int) -> str:
    # No xmlns: inline SVG in HTML needs none, and the page must name no external address.
    return (
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_esc(title)}</title>'
        f'<desc id="{chart_id}-desc">{_esc(description)}</desc>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{_esc(text)}</text>'


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    values: Sequence[Mapping[str, float]],
    series: Sequence[Series],
    *,
    axis_label: str,
    stacked: bool = True,
    fmt: Callable[[float], str] = _count,
    tick_fmt: Callable[[float], str] = _compact,
) -> str:
    """Vertical columns per category (months), stacked or side by side per series."""
    width, height = 760, 320
    left, right, top, bottom = 70, 12, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    heights = [
        sum(v.get(s.key, 0) for s in series) if stacked else max(v.get(s.key, 0) for s in series)
        for v in values
    ]
    ceiling, intervals = _axis(max(heights, default=0))
    parts = [_svg_open(chart_id, title, description, width, height)]
    for tick in range(intervals + 1):
        value = ceiling * tick / intervals
        y = top + plot_h - plot_h * tick / intervals
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, tick_fmt(value), anchor="end", extra='class="tick"'))
    parts.append(
        _text(
            0,
            0,
            axis_label,
            anchor="middle",
            extra=f'class="axis" transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)"',
        )
    )
    band = plot_w / max(len(categories), 1)
    for index, (category, row) in enumerate(zip(categories, values, strict=True)):
        x0 = left + index * band
        if stacked:
            bar_w = band * 0.64
            y = top + plot_h
            for s in series:
                amount = row.get(s.key, 0)
                if amount <= 0:
                    continue
                h = plot_h * amount / ceiling
                y -= h
                parts.append(
                    f'<rect x="{x0 + (band - bar_w) / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                    f'height="{h:.1f}" fill="{s.colour}" stroke="#ffffff" stroke-width="0.5">'
                    f"<title>{_esc(f'{category}: {s.label}, {fmt(amount)}')}</title></rect>"
                )
        else:
            group_w = band * 0.8
            bar_w = group_w / len(series)
            for position, s in enumerate(series):
                amount = row.get(s.key, 0)
                if amount <= 0:
                    continue
                h = plot_h * amount / ceiling
                x = x0 + (band - group_w) / 2 + position * bar_w
                parts.append(
                    f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                    f'height="{h:.1f}" fill="{s.colour}">'
                    f"<title>{_esc(f'{category}: {s.label}, {fmt(amount)}')}</title></rect>"
                )
        parts.append(
            _text(x0 + band / 2, top + plot_h + 18, category, anchor="middle", extra='class="tick"')
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Mapping[str, float]]],
    series: Sequence[Series],
    *,
    axis_label: str,
    fmt: Callable[[float], str] = _count,
    tick_fmt: Callable[[float], str] = _compact,
    label_width: int = 210,
) -> str:
    """Horizontal bars, one group per row and one bar per series, values at the bar ends."""
    width = 760
    top, bottom, right = 12, 44, 70
    bar_h, gap = 16, 10
    row_h = bar_h * len(series) + gap
    plot_w = width - label_width - right
    height = top + row_h * len(rows) + bottom
    ceiling, intervals = _axis(max((r.get(s.key, 0) for _, r in rows for s in series), default=0))
    plot_bottom = top + row_h * len(rows)
    parts = [_svg_open(chart_id, title, description, width, height)]
    for tick in range(intervals + 1):
        x = label_width + plot_w * tick / intervals
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{plot_bottom}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(
            _text(
                x,
                plot_bottom + 16,
                tick_fmt(ceiling * tick / intervals),
                anchor="middle",
                extra='class="tick"',
            )
        )
    parts.append(
        _text(
            label_width + plot_w / 2,
            plot_bottom + 36,
            axis_label,
            anchor="middle",
            extra='class="axis"',
        )
    )
    for index, (label, row) in enumerate(rows):
        y0 = top + index * row_h + gap / 2
        parts.append(
            _text(
                label_width - 8,
                y0 + bar_h * len(series) / 2 + 4,
                label,
                anchor="end",
                extra='class="label"',
            )
        )
        for position, s in enumerate(series):
            amount = row.get(s.key, 0)
            y = y0 + position * bar_h
            w = plot_w * amount / ceiling
            parts.append(
                f'<rect x="{label_width}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{s.colour}"><title>{_esc(f"{label}: {s.label}, {fmt(amount)}")}'
                "</title></rect>"
            )
            parts.append(
                _text(label_width + w + 4, y + bar_h - 5, fmt(amount), extra='class="value"')
            )
    parts.append(
        f'<line x1="{label_width}" x2="{label_width}" y1="{top}" y2="{plot_bottom}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def share_chart(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Mapping[str, float]]],
    series: Sequence[Series],
    *,
    label_width: int = 210,
) -> str:
    """One 100% bar per row, split by series: shares that compare groups of any size."""
    width = 760
    top, bar_h, gap, bottom = 12, 30, 16, 30
    plot_w = width - label_width - 24
    height = top + (bar_h + gap) * len(rows) + bottom
    parts = [_svg_open(chart_id, title, description, width, height)]
    for index, (label, row) in enumerate(rows):
        y = top + index * (bar_h + gap)
        total = sum(row.get(s.key, 0) for s in series)
        parts.append(
            _text(label_width - 8, y + bar_h / 2 + 4, label, anchor="end", extra='class="label"')
        )
        if total <= 0:
            parts.append(
                _text(label_width, y + bar_h / 2 + 4, "no decisions", extra='class="value"')
            )
            continue
        x = float(label_width)
        for s in series:
            amount = row.get(s.key, 0)
            if amount <= 0:
                continue
            w = plot_w * amount / total
            share = amount / total
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{s.colour}" '
                f'stroke="#ffffff" stroke-width="1">'
                f"<title>{_esc(f'{label}: {s.label}, {share:.1%} ({_count(amount)})')}"
                "</title></rect>"
            )
            if w >= 44:
                parts.append(
                    _text(
                        x + w / 2,
                        y + bar_h / 2 + 4,
                        f"{share:.0%}",
                        anchor="middle",
                        extra=f'class="value" style="fill:{s.ink}"',
                    )
                )
            x += w
    for tick in range(0, 101, 25):
        x = label_width + plot_w * tick / 100
        parts.append(_text(x, height - 10, f"{tick}%", anchor="middle", extra='class="tick"'))
    parts.append("</svg>")
    return "".join(parts)


def legend(series: Sequence[Series]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{s.colour}" aria-hidden="true"></span>'
        f"{_esc(s.label)}</li>"
        for s in series
    )
    return f'<ul class="legend">{items}</ul>'


# --- the page ------------------------------------------------------------------------------


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    footer: Sequence[str] | None = None,
) -> str:
    head = "".join(f'<th scope="col">{_esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{_esc(row[0])}</th>'
        + "".join(f"<td>{_esc(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    foot = ""
    if footer is not None:
        foot = (
            "<tfoot><tr>"
            + f'<th scope="row">{_esc(footer[0])}</th>'
            + "".join(f"<td>{_esc(cell)}</td>" for cell in footer[1:])
            + "</tr></tfoot>"
        )
    return (
        f'<div class="table-wrap"><table><caption>{_esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></div>"
    )


def _figure(chart: str, series: Sequence[Series] | None, note: str) -> str:
    key = legend(series) if series else ""
    return f"<figure>{key}{chart}<figcaption>{_esc(note)}</figcaption></figure>"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _month_short(key: str) -> str:
    return MONTH_NAMES[int(key[5:7]) - 1][:3]


def _month_long(key: str) -> str:
    return f"{MONTH_NAMES[int(key[5:7]) - 1]} {key[:4]}"


def _empty(text: str) -> str:
    return f'<p class="empty">{_esc(text)}</p>'


def _outcomes_section(report: TransparencyReport) -> str:
    s = report.screening
    series = [
        Series(o, OUTCOME_LABELS[o], OUTCOME_COLOURS[o], "#ffffff" if o == "release" else "#000000")
        for o in OUTCOMES
    ]
    months = list(s.by_month)
    parts = [
        '<section aria-labelledby="outcomes"><h2 id="outcomes">Screening outcomes by month</h2>',
        f"<p>Every entry filed is screened against the rules of the order in force on its "
        f"filing date. In {report.year}, {_count(s.decisions)} entries were decided at "
        f"filing: {_count(s.by_outcome['release'])} released, {_count(s.by_outcome['hold'])} "
        f"held until cured and {_count(s.by_outcome['seizure_review'])} referred to an officer "
        "for seizure review.</p>",
    ]
    if s.decisions:
        parts.append(
            _figure(
                column_chart(
                    "chart-outcomes",
                    f"Screening outcomes by month, {report.year}",
                    "Stacked columns, one per month, showing how many entries were released, "
                    "held and referred to seizure review. The table below gives the figures.",
                    [_month_short(m) for m in months],
                    [s.by_month[m] for m in months],
                    series,
                    axis_label="Entries decided",
                ),
                series,
                "Unit: entries decided at filing, by calendar month (UTC).",
            )
        )
    else:
        parts.append(_empty(f"No entry was screened in {report.year}."))
    parts.append(
        _table(
            f"Screening outcomes by month, {report.year} (entries)",
            ["Month", "Released", "Held", "Seizure review", "Total", "Held or referred"],
            (
                [
                    _month_long(m),
                    _count(row["release"]),
                    _count(row["hold"]),
                    _count(row["seizure_review"]),
                    _count(sum(row.values())),
                    _share(row["hold"] + row["seizure_review"], sum(row.values())),
                ]
                for m, row in s.by_month.items()
            ),
            [
                "Year",
                _count(s.by_outcome["release"]),
                _count(s.by_outcome["hold"]),
                _count(s.by_outcome["seizure_review"]),
                _count(s.decisions),
                _share(s.by_outcome["hold"] + s.by_outcome["seizure_review"], s.decisions),
            ],
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _rules_section(report: TransparencyReport) -> str:
    s = report.screening
    top = list(s.rule_hits.items())[:TOP_RULES_SHOWN]
    series = [Series("hits", "Entries matched", "#4477AA")]
    parts = [
        '<section aria-labelledby="rules"><h2 id="rules">Rules that matched most often</h2>',
        "<p>Each decision names every rule that matched, so an entry can count under several "
        f"rules. The {len(top)} rules that matched most often in {report.year}:</p>",
    ]
    if top:
        parts.append(
            _figure(
                bar_chart(
                    "chart-rules",
                    f"Rules that matched most often, {report.year}",
                    "Horizontal bars, one per rule, longest first, showing how many entries "
                    "each rule matched. The table below gives the figures.",
                    [(rule_id, {"hits": hits}) for rule_id, hits in top],
                    series,
                    axis_label="Entries matched",
                ),
                None,
                "Unit: entries decided at filing on which the rule matched.",
            )
        )
    else:
        parts.append(_empty(f"No rule matched in {report.year}."))
    parts.append(
        _table(
            f"Rule matches, {report.year}",
            ["Rule", "Entries matched", "Share of entries decided"],
            (
                [rule_id, _count(hits), _share(hits, s.decisions)]
                for rule_id, hits in s.rule_hits.items()
            ),
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _importers_section(report: TransparencyReport) -> str:
    s = report.screening
    series = [
        Series(o, OUTCOME_LABELS[o], OUTCOME_COLOURS[o], "#ffffff" if o == "release" else "#000000")
        for o in OUTCOMES
    ]
    labels = {
        "us": "US importers of record",
        "foreign": "Foreign importers of record",
        "unknown": "Not recorded",
    }
    rows = [(labels[c], counts) for c, counts in s.by_ior_classification.items()]
    parts = [
        '<section aria-labelledby="iors"><h2 id="iors">US and foreign importers of record</h2>',
        "<p>The order treats an importer of record as foreign unless it is organized under US "
        "law, located in the US and controlled by a US person (or owns significant US real "
        "property), and sets further conditions for foreign importers. Each bar shows the "
        "share of each group's entries released, held and referred.</p>",
    ]
    if s.decisions:
        parts.append(
            _figure(
                share_chart(
                    "chart-iors",
                    f"Outcomes for US and foreign importers of record, {report.year}",
                    "One bar per group of importers, divided into the shares of its entries "
                    "released, held and referred to seizure review. The table below gives "
                    "the counts and shares.",
                    rows,
                    series,
                ),
                series,
                "Unit: share of each group's entries decided at filing.",
            )
        )
    else:
        parts.append(_empty(f"No entry was screened in {report.year}."))
    parts.append(
        _table(
            f"Outcomes by importer of record, {report.year} (entries)",
            [
                "Importers of record",
                "Entries",
                "Released",
                "Held",
                "Seizure review",
                "Held or referred",
            ],
            (
                [
                    label,
                    _count(c["total"]),
                    _count(c["release"]),
                    _count(c["hold"]),
                    _count(c["seizure_review"]),
                    _share(c["hold"] + c["seizure_review"], c["total"]),
                ]
                for label, c in rows
            ),
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _holds_section(report: TransparencyReport) -> str:
    h = report.holds
    palette = {
        "cured": "#228833",
        "refiled_formal": "#66CCEE",
        "released_by_officer": "#4477AA",
        "seizure_confirmed": "#AA3377",
        "other": "#BBBBBB",
        "escalated": "#EE6677",
    }
    keys = [*h.by_resolution, "escalated"]
    year_totals = {**h.by_resolution, "escalated": h.escalated}
    series = [Series(k, RESOLUTION_LABELS[k], palette[k]) for k in keys]
    months = list(h.by_month)
    median = (
        f" Escalated holds had waited a median of {h.escalation_median_age_hours:,.0f} hours."
        if h.escalation_median_age_hours is not None
        else ""
    )
    parts = [
        '<section aria-labelledby="holds"><h2 id="holds">Holds: cured or escalated</h2>',
        f"<p>A held entry is released once the filer cures it (a document, a bond, a formal "
        f"refiling) or an officer decides it. In {report.year}, {_count(h.resolved)} holds "
        f"were resolved, {_count(h.cured_by_filer)} of them cured by the filer, and "
        f"{_count(h.escalated)} were escalated because they were not cured in time.{median}</p>",
    ]
    if h.resolved or h.escalated:
        parts.append(
            _figure(
                column_chart(
                    "chart-holds",
                    f"Holds resolved and escalated by month, {report.year}",
                    "Stacked columns, one per month, showing holds cured by the filer, "
                    "refiled as formal entries, released or seized after an officer's review, "
                    "and holds escalated. The table below gives the figures.",
                    [_month_short(m) for m in months],
                    [h.by_month[m] for m in months],
                    series,
                    axis_label="Holds",
                ),
                series,
                "Unit: holds resolved or escalated, by the month of the resolution or "
                "escalation (UTC).",
            )
        )
    else:
        parts.append(_empty(f"No hold was resolved or escalated in {report.year}."))
    parts.append(
        _table(
            f"Holds resolved and escalated by month, {report.year}",
            ["Month", *(RESOLUTION_LABELS[k] for k in keys)],
            ([_month_long(m), *(_count(row[k]) for k in keys)] for m, row in h.by_month.items()),
            [
                "Year",
                *(_count(year_totals[k]) for k in keys),
            ],
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _seizures_section(report: TransparencyReport) -> str:
    r = report.seizure_reviews
    series = [Series("referred", "Referred to seizure review", OUTCOME_COLOURS["seizure_review"])]
    months = list(r.referred_by_month)
    parts = [
        '<section aria-labelledby="seizures"><h2 id="seizures">Seizure reviews</h2>',
        f"<p>Entries matching an entity list, filed by a voided, suspended or debarred importer, "
        f"or showing signs of a straw importer go to an officer for seizure review. In "
        f"{report.year}, {_count(r.referred)} entries were referred; officers confirmed "
        f"{_count(r.seizure_confirmed)} seizures and released {_count(r.released_by_officer)} "
        "entries after review.</p>",
    ]
    if r.referred:
        parts.append(
            _figure(
                column_chart(
                    "chart-seizures",
                    f"Entries referred to seizure review by month, {report.year}",
                    "Columns, one per month, showing how many entries were referred to an "
                    "officer for seizure review. The table below gives the figures.",
                    [_month_short(m) for m in months],
                    [{"referred": r.referred_by_month[m]} for m in months],
                    series,
                    axis_label="Entries referred",
                ),
                None,
                "Unit: entries referred at filing, by calendar month (UTC).",
            )
        )
    else:
        parts.append(_empty(f"No entry was referred to seizure review in {report.year}."))
    parts.append(
        _table(
            f"Seizure reviews, {report.year}",
            ["Measure", "Entries"],
            [
                ["Referred to seizure review", _count(r.referred)],
                ["Seizure confirmed by an officer", _count(r.seizure_confirmed)],
                ["Released by an officer", _count(r.released_by_officer)],
            ],
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _penalties_section(report: TransparencyReport) -> str:
    p = report.penalties
    series = [
        Series("assessed", "Assessed", "#4477AA"),
        Series("floor", "Mitigation floor", "#EE6677"),
    ]
    rows = [
        (CULPABILITY_LABELS[k], {"assessed": t.assessed_usd, "floor": t.floor_usd})
        for k, t in p.by_culpability.items()
    ]
    share = (
        f" Together the floors keep {p.floor_share_of_assessed:.0%} of the amount assessed."
        if p.floor_share_of_assessed is not None
        else ""
    )
    parts = [
        '<section aria-labelledby="penalties">'
        '<h2 id="penalties">Penalties and mitigation floors</h2>',
        "<p>Under 19 USC 1592 the maximum penalty depends on culpability: the domestic value "
        "for fraud, and for gross negligence and negligence a multiple of the duty lost. The "
        "order does not let mitigation reduce a penalty below 50% of the amount assessed, "
        "allows repeat offenders no mitigation, and excepts national-security cases. In "
        f"{report.year}, {_count(p.cases)} penalties totalling {_usd(p.assessed_usd)} were "
        f"assessed, with mitigation floors totalling {_usd(p.floor_usd)}.{share}</p>",
    ]
    if p.cases:
        parts.append(
            _figure(
                bar_chart(
                    "chart-penalties",
                    f"Penalties assessed and their mitigation floors by culpability, {report.year}",
                    "Pairs of horizontal bars, one pair per culpability, comparing the total "
                    "amount assessed with the total mitigation floor. The table below gives "
                    "the figures.",
                    rows,
                    series,
                    axis_label="US dollars",
                    fmt=_usd,
                    tick_fmt=_compact_usd,
                ),
                series,
                "Unit: US dollars, totals of the cases assessed in the year.",
            )
        )
    else:
        parts.append(_empty(f"No penalty was assessed in {report.year}."))
    parts.append(
        _table(
            f"Penalties by culpability, {report.year} (US dollars)",
            ["Culpability", "Cases", "Assessed", "Mitigation floor", "Statutory maximum"],
            (
                [
                    CULPABILITY_LABELS[k],
                    _count(t.cases),
                    _usd(t.assessed_usd),
                    _usd(t.floor_usd),
                    _usd(t.max_penalty_usd),
                ]
                for k, t in p.by_culpability.items()
            ),
            [
                "All",
                _count(p.cases),
                _usd(p.assessed_usd),
                _usd(p.floor_usd),
                _usd(p.max_penalty_usd),
            ],
        )
    )
    parts.append(
        _table(
            f"Which rule of the order set the floor, {report.year}",
            ["Floor rule", "Cases"],
            ([FLOOR_RULE_LABELS[k], _count(n)] for k, n in p.floors_applied.items()),
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _confidentiality_section(report: TransparencyReport) -> str:
    c = report.confidentiality
    series = [
        Series("expiring", "Renewal notices (expiring within 60 days)", "#CCBB44"),
        Series("expired", "Expired", "#AA3377"),
    ]
    months = list(c.by_month)
    parts = [
        '<section aria-labelledby="confidentiality"><h2 id="confidentiality">Confidentiality '
        "of manifest data</h2>",
        "<p>Importers may ask that their names be withheld from published vessel manifests "
        "(19 CFR 103.31(d)). A certification lasts two years; the order requires periodic "
        "review and expiry. Importers are reminded at least 60 days before expiry, and an "
        f"unrenewed certification expires. In {report.year}, {_count(c.expiring_notices)} "
        f"certifications were reviewed for renewal and {_count(c.expired)} expired.</p>",
    ]
    if c.expiring_notices or c.expired:
        parts.append(
            _figure(
                column_chart(
                    "chart-confidentiality",
                    f"Confidentiality certifications reviewed and expired by month, {report.year}",
                    "Pairs of columns, one pair per month, showing renewal notices sent and "
                    "certifications that expired. The table below gives the figures.",
                    [_month_short(m) for m in months],
                    [c.by_month[m] for m in months],
                    series,
                    axis_label="Certifications",
                    stacked=False,
                ),
                series,
                "Unit: confidentiality certifications, by calendar month (UTC).",
            )
        )
    else:
        parts.append(
            _empty(f"No confidentiality certification was reviewed or expired in {report.year}.")
        )
    parts.append(
        _table(
            f"Confidentiality certifications by month, {report.year}",
            ["Month", "Renewal notices", "Expired"],
            (
                [_month_long(m), _count(row["expiring"]), _count(row["expired"])]
                for m, row in c.by_month.items()
            ),
            ["Year", _count(c.expiring_notices), _count(c.expired)],
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _registry_section(report: TransparencyReport) -> str:
    r = report.registry
    parts = [
        '<section aria-labelledby="registry"><h2 id="registry">Registry and rule packs</h2>',
        f"<p>Importer-of-record numbers unused for a year are deactivated: "
        f"{_count(r.iors_deactivated)} in {report.year}. The rules applied are published as "
        "versioned rule packs; these versions were activated during the year.</p>",
    ]
    if r.rule_packs_activated:
        parts.append(
            _table(
                f"Rule packs activated, {report.year}",
                ["Rule-pack version", "Activated (UTC)"],
                (
                    [p.version, p.activated_at.strftime("%Y-%m-%d %H:%M")]
                    for p in r.rule_packs_activated
                ),
            )
        )
    else:
        parts.append(_empty("No rule pack was activated during the year."))
    parts.append("</section>")
    return "".join(parts)


def _method_section(report: TransparencyReport) -> str:
    src = report.source
    period = (
        f"from {src.first_event_at:%Y-%m-%d %H:%M} to {src.last_event_at:%Y-%m-%d %H:%M} UTC"
        if src.first_event_at and src.last_event_at
        else "none"
    )
    return (
        '<section aria-labelledby="method"><h2 id="method">How these figures are made</h2><ul>'
        "<li>Every figure is counted from the screening system's audit events, which record "
        "each decision, hold resolution, penalty and confidentiality review.</li>"
        f"<li>The year is the calendar year {report.year} in UTC, and so is each month. Events "
        f"of the year: {_count(src.events_in_year)}, {period}.</li>"
        "<li>An event recorded twice (a replay) counts once: "
        f"{_count(src.duplicates_skipped)} repeated events were skipped.</li>"
        "<li>Screening figures count each entry's decision at filing. Re-screenings after a "
        f"registry change or a resolution ({_count(report.screening.rescreenings)}) are not "
        "added to them.</li>"
        f"<li>Input records that could not be read: {_count(src.invalid_lines)}; events "
        f"missing a documented detail: {_count(src.incomplete_details)}.</li>"
        "<li>No figure identifies an importer, an entry or a person; only totals are "
        "published.</li></ul></section>"
    )


_STYLE: Final = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #1a1a1a;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header, main, footer { max-width: 820px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 32px; border-bottom: 4px solid #004488; padding-bottom: 16px; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 8px; }
h2 { font-size: 1.4rem; margin: 40px 0 8px; border-bottom: 1px solid #d9d9d9; padding-bottom: 4px; }
.lede { color: #333333; margin: 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
  margin: 24px 0 0; padding: 0; }
.kpis div { border: 1px solid #d9d9d9; border-left: 4px solid #004488; padding: 8px 12px; }
.kpis dt { font-size: 0.85rem; color: #555555; }
.kpis dd { margin: 0; font-size: 1.5rem; font-weight: 700; }
figure { margin: 16px 0; }
figcaption { font-size: 0.9rem; color: #555555; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
svg .tick { fill: #555555; }
svg .axis { fill: #1a1a1a; font-weight: 600; }
svg .label, svg .value { fill: #1a1a1a; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0;
  margin: 0 0 8px; font-size: 0.9rem; }
.swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: -2px;
  border: 1px solid #1a1a1a; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 12px 0; font-size: 0.92rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #d9d9d9; }
thead th { text-align: right; border-bottom: 2px solid #1a1a1a; }
thead th:first-child, tbody th, tfoot th { text-align: left; font-weight: normal; }
tbody th { white-space: nowrap; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tfoot th, tfoot td { font-weight: 700; border-top: 2px solid #1a1a1a; }
.empty { font-style: italic; color: #555555; }
footer { margin-top: 48px; padding-bottom: 32px; font-size: 0.9rem; color: #555555; }
@media print { h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
"""


def render_html(report: TransparencyReport) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script)."""
    s = report.screening
    p = report.penalties
    key_figures = [
        ("Entries screened", _count(s.decisions)),
        ("Held until cured", _count(s.by_outcome["hold"])),
        ("Referred to seizure review", _count(s.by_outcome["seizure_review"])),
        ("Holds cured by the filer", _count(report.holds.cured_by_filer)),
        ("Holds escalated", _count(report.holds.escalated)),
        ("Penalties assessed", f"{_count(p.cases)} · {_compact_usd(p.assessed_usd)}"),
        ("Mitigation floors", _compact_usd(p.floor_usd)),
        ("Confidentiality certifications expired", _count(report.confidentiality.expired)),
    ]
    kpis = "".join(f"<div><dt>{_esc(k)}</dt><dd>{_esc(v)}</dd></div>" for k, v in key_figures)
    title = f"Enforcement transparency report {report.year}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_esc(title)}</h1>"
        '<p class="lede">Screening of US import entries under the executive order '
        "“Strengthening Customs Enforcement” of 3 June 2026: what was decided, cured, "
        f"escalated and penalised in {report.year}.</p>"
        f'<dl class="kpis" aria-label="Key figures">{kpis}</dl></header><main>'
        + _outcomes_section(report)
        + _rules_section(report)
        + _importers_section(report)
        + _holds_section(report)
        + _seizures_section(report)
        + _penalties_section(report)
        + _confidentiality_section(report)
        + _registry_section(report)
        + _method_section(report)
        + "</main><footer><p>The figures on this page are published in machine-readable form "
        "in report.json beside it.</p></footer></body></html>\n"
    )

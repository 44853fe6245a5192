"""A deterministic year of audit events, for trying the transparency report without real data.

A synthetic feed spanning one calendar year is screened by the batch form (the same
functions as ``entry-screening screen --audit-out``), then the events the rest of the
system would add are made up around those decisions, with the ``details`` keys documented
in :mod:`schemas.audit`: holds cured, refiled or escalated, seizure reviews decided,
penalties assessed under :mod:`screening.penalties`, confidentiality certifications
reviewed and expired, inactive IORs deactivated. Everything is drawn from seeded
generators, so a spec always gives the same file. Synthetic: never publish its report.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from entry_screening import batch
from entry_screening.synthetic import Dataset, FeedSpec, write_dataset
from schemas import codec
from schemas.audit import AuditEvent, AuditEventType
from schemas.formats import mask_ior_number
from screening.engine import Screener
from screening.penalties import (
    Culpability,
    PenaltyCase,
    assess_penalty,
    penalty_assessed_event,
    statutory_maximum,
)
from screening.rulepack import load_rule_pack

# Holds the filer cures by refiling as a formal entry rather than with a document or bond.
_REFILE_RULES: Final = frozenset({"FOREIGN-INFORMAL", "INFORMAL-VALUE", "DE-MINIMIS-SUSPENDED"})
_CULPABILITY_WEIGHTS: Final[tuple[tuple[Culpability, int], ...]] = (
    ("fraud", 15),
    ("gross_negligence", 35),
    ("negligence", 50),
)
# Manifest confidentiality: renewal is due at least 60 days before expiry (19 CFR 103.31(d)).
_RENEWAL_NOTICE: Final = timedelta(days=60)


@dataclass(frozen=True)
class YearSpec:
    year: int = 2027
    entries: int = 6_000
    iors: int = 600
    seed: int = 11
    # Shares of the follow-up events drawn around the decisions.
    escalated_share: float = 0.12
    seizure_confirmed_share: float = 0.35
    penalty_share: float = 0.6
    escalated_penalty_share: float = 0.1
    repeat_offender_share: float = 0.15
    national_security_share: float = 0.05
    confidential_ior_share: float = 0.1
    renewed_share: float = 0.6


@dataclass(frozen=True)
class YearOfTraffic:
    audit: Path
    dataset: Dataset
    decisions: int
    events: int


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _screen(dataset: Dataset, screener: Screener) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Decisions and audit lines from the batch form, each screened an instant after filing."""
    reports = [batch.LoadReport(str(dataset.registry))]
    registry = batch.load_registry(dataset.registry, reports[0])
    screener.reference = batch.load_reference(dataset.brokers, dataset.watchlist, reports)
    with dataset.entries.open("rb") as entries:
        filed = [_time(orjson.loads(line)["filed_at"]) for _, line in batch.read_lines(entries)]
    # screen_stream asks its clock once per screened entry, in order, when as_of is unset:
    # this clock answers each entry's filing time plus a realistic second of latency.
    screened_at = iter([at + timedelta(seconds=1) for at in filed])
    decisions, audit = io.BytesIO(), io.BytesIO()
    with dataset.entries.open("rb") as entries:
        batch.screen_stream(
            entries,
            decisions,
            screener=screener,
            registry=registry,
            source=str(dataset.entries),
            audit_out=audit,
            clock=screened_at.__next__,
        )
    rows = [orjson.loads(line) for line in decisions.getvalue().splitlines()]
    return rows, audit.getvalue().splitlines()


class _FollowUps:
    """The events that follow decisions: resolutions, escalations, penalties."""

    def __init__(self, spec: YearSpec, screener: Screener) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed * 104_729 + 3)
        self.cures = {rule_id: rule.cure for rule_id, rule in screener.pack.rules.by_id().items()}
        self.events: list[AuditEvent] = []
        self.penalties = 0

    def after(self, decision: dict[str, Any]) -> None:
        if decision["outcome"] == "hold":
            self._hold(decision)
        elif decision["outcome"] == "seizure_review":
            self._seizure_review(decision)

    def _event(
        self, decision: dict[str, Any], kind: AuditEventType, at: datetime, **details: Any
    ) -> AuditEvent:
        event = AuditEvent(
            event_id=f"{decision['decision_id']}-{kind}",
            event_type=kind,
            subject=decision["entry_number"],
            occurred_at=at,
            ior_number=decision["ior_number"],
            decision_id=decision["decision_id"],
            details=details,
        )
        self.events.append(event)
        return event

    def _hold(self, decision: dict[str, Any]) -> None:
        rng = self.rng
        filed = _time(decision["filed_at"])
        rules = [hit["rule_id"] for hit in decision["hits"]]
        if rng.random() < self.spec.escalated_share:
            hours = rng.randint(72, 240)
            escalated = filed + timedelta(hours=hours)
            self._event(decision, "HoldEscalated", escalated, age_hours=hours)
            if rng.random() < self.spec.escalated_penalty_share:
                self._penalty(decision, escalated + timedelta(days=rng.randint(10, 60)))
            return
        if _REFILE_RULES.intersection(rules):
            resolution = "refiled_formal"
        elif rules == ["RISK-TIER-EXAM"]:
            resolution = "released_by_officer"  # the exam was done and found nothing
        else:
            resolution = "cured"
        self._event(
            decision,
            "HoldResolved",
            filed + timedelta(hours=rng.randint(2, 96)),
            resolution=resolution,
            cure=self.cures.get(rules[0], "") if rules else "",
        )

    def _seizure_review(self, decision: dict[str, Any]) -> None:
        rng = self.rng
        decided = _time(decision["filed_at"]) + timedelta(hours=rng.randint(24, 240))
        if rng.random() >= self.spec.seizure_confirmed_share:
            self._event(
                decision, "HoldResolved", decided, resolution="released_by_officer", cure=""
            )
            return
        self._event(decision, "HoldResolved", decided, resolution="seizure_confirmed", cure="")
        if rng.random() < self.spec.penalty_share:
            self._penalty(decision, decided + timedelta(days=rng.randint(10, 60)))

    def _penalty(self, decision: dict[str, Any], at: datetime) -> None:
        rng = self.rng
        culpability = rng.choices(
            [c for c, _ in _CULPABILITY_WEIGHTS], weights=[w for _, w in _CULPABILITY_WEIGHTS]
        )[0]
        value = max(float(decision["entered_value_usd"]), 100.0)
        loss = round(value * rng.uniform(0.05, 0.3)) if rng.random() < 0.85 else 0.0
        domestic = round(value * rng.uniform(1.2, 1.6))
        maximum = statutory_maximum(
            culpability,
            loss_of_duty_usd=loss,
            domestic_value_usd=domestic,
            dutiable_value_usd=value,
        )
        # Penalties are assessed in whole dollars, at or below the statutory maximum.
        assessed = float(int(maximum.amount_usd * rng.uniform(0.4, 1.0)))
        assessment = assess_penalty(
            PenaltyCase(
                culpability=culpability,
                loss_of_duty_usd=loss,
                domestic_value_usd=domestic,
                dutiable_value_usd=value,
                assessed_usd=assessed,
                repeat_offender=rng.random() < self.spec.repeat_offender_share,
                national_security=rng.random() < self.spec.national_security_share,
            )
        )
        self.penalties += 1
        self.events.append(
            penalty_assessed_event(
                assessment,
                case_id=f"PEN-{self.spec.year}-{self.penalties:05d}",
                occurred_at=at,
                ior_number=decision["ior_number"],
            )
        )


def _registry_events(spec: YearSpec, dataset: Dataset, start: datetime) -> list[AuditEvent]:
    """Confidentiality reviews and expiries, and deactivations of inactive IORs."""
    rng = random.Random(spec.seed * 7_919 + 5)
    year_seconds = int((start.replace(year=start.year + 1) - start).total_seconds())
    events = []
    with dataset.registry.open("rb") as registry:
        records = [orjson.loads(line) for _, line in batch.read_lines(registry)]
    for record in records:
        shown = mask_ior_number(record["ior_number"])
        if (
            record.get("company_type") != "individual"
            and rng.random() < spec.confidential_ior_share
        ):
            # Expiries spread over the year and the two months after it, so that renewal
            # notices fall in every month.
            expires = start + timedelta(seconds=rng.randrange(year_seconds + 60 * 86_400))
            expires = expires.replace(microsecond=0)
            notices: tuple[tuple[AuditEventType, datetime], ...] = (
                ("ConfidentialityExpiring", expires - _RENEWAL_NOTICE),
                ("ConfidentialityExpired", expires),
            )
            for kind, at in notices:
                if kind == "ConfidentialityExpired" and rng.random() < spec.renewed_share:
                    continue
                events.append(
                    AuditEvent(
                        event_id=f"{shown}-{kind}-{expires:%Y%m%d}",
                        event_type=kind,
                        subject=shown,
                        occurred_at=at,
                        ior_number=shown,
                        details={"expires_at": _iso(expires)},
                    )
                )
        if record["status"] == "inactive":
            at = start + timedelta(seconds=rng.randrange(year_seconds))
            events.append(
                AuditEvent(
                    event_id=f"{shown}-IorDeactivated-{at:%Y%m%d}",
                    event_type="IorDeactivated",
                    subject=shown,
                    occurred_at=at.replace(microsecond=0),
                    ior_number=shown,
                    details={"last_entry_at": record.get("last_entry_at")},
                )
            )
    return events


def build_year_of_traffic(directory: Path, spec: YearSpec | None = None) -> YearOfTraffic:
    """Write the feed and ``audit.jsonl`` (every event, in time order) into ``directory``."""
    spec = spec or YearSpec()
    start = datetime(spec.year, 1, 1, tzinfo=UTC)
    span = start.replace(year=spec.year + 1) - start
    dataset = write_dataset(
        FeedSpec(iors=spec.iors, entries=spec.entries, seed=spec.seed, start=start, span=span),
        directory / "feed",
    )
    pack = load_rule_pack()
    screener = Screener(pack)
    decisions, screened_lines = _screen(dataset, screener)
    follow_ups = _FollowUps(spec, screener)
    for decision in decisions:
        follow_ups.after(decision)
    activation = AuditEvent(
        event_id=f"{pack.version}-activated-{spec.year}",
        event_type="RulePackActivated",
        subject=pack.version,
        occurred_at=start,
        rule_pack_version=pack.version,
    )
    made = [activation, *follow_ups.events, *_registry_events(spec, dataset, start)]
    lines = [(_time(orjson.loads(line)["occurred_at"]), line) for line in screened_lines]
    lines += [(event.occurred_at, codec.encode(event)) for event in made]
    lines.sort(key=lambda pair: pair[0])
    audit = directory / "audit.jsonl"
    with audit.open("wb") as out:
        for _, line in lines:
            out.write(line + b"\n")
    return YearOfTraffic(audit, dataset, len(decisions), len(lines))

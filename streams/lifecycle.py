"""The registry's lifecycle as Faust agents and timers: continuous vetting, entity-list
loads, the inactivity sweep and confidentiality expiry; and penalty cases (E7).

These are low-volume streams (registry changes, list loads, timers), where Faust's agents,
tables and leader election fit: each registry change is vetted once, by whichever worker
Faust gives its partition, against the IOR's previous snapshot kept in a Faust table
(changelogged and co-partitioned with ``ior.registry``); timers run on the group leader only.
The screening loop, not these agents, re-screens the holds a change may cure.

Every change is written to the audit stream keyed by IOR number, so with the entry events
(keyed to the IOR's partition) an IOR's whole history is in one partition, in order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust
import orjson

from schemas import codec
from schemas.audit import AuditEvent, AuditEventType, FieldError
from schemas.formats import mask_ior_number
from schemas.lifecycle import AlertFinding, VettingAlert
from schemas.penalty import PenaltyAssessed, PenaltyCaseOpened
from schemas.reference import WatchlistRecord
from schemas.registry import IorRecord
from screening.penalties import PenaltyCase, PenaltyError, assess_penalty, penalty_assessed_event
from screening.rulepack import RulePack
from screening.vetting import (
    VettingSnapshot,
    confidentiality_state,
    inactive_since,
    snapshot,
    worsened,
)
from screening.watchlist import WatchlistIndex
from streams.emitter import dead_letter_headers
from streams.settings import Settings

if TYPE_CHECKING:
    from streams.app import WorkerRuntime

log = logging.getLogger(__name__)


def _digest(*parts: object) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()


def registry_event(
    ior_number: str,
    before: VettingSnapshot | None,
    after: VettingSnapshot | None,
    findings: list[AlertFinding],
    at: datetime,
    source: str,
) -> AuditEvent:
    shown = mask_ior_number(ior_number)
    kind: AuditEventType = (
        "IorRemoved" if after is None else "IorRegistered" if before is None else "IorUpdated"
    )
    return AuditEvent(
        event_id=f"{kind}-{_digest(ior_number, source)}",
        event_type=kind,
        subject=shown,
        occurred_at=at,
        ior_number=shown,
        details={
            "ior_classification": after.category if after else None,
            "failed_prongs": ",".join(after.failed_prongs) if after else None,
            "risk_tier": after.risk_tier if after else None,
            "risk_tier_before": before.risk_tier if before else None,
            "alerts": ",".join(f.kind for f in findings) or None,
            "source": source,
        },
    )


def vetting_alert(
    ior_number: str,
    before: VettingSnapshot | None,
    after: VettingSnapshot | None,
    findings: list[AlertFinding],
    at: datetime,
    source: str,
) -> VettingAlert:
    return VettingAlert(
        alert_id=_digest("alert", ior_number, source, *(f.kind for f in findings)),
        ior_number=mask_ior_number(ior_number),
        raised_at=at,
        findings=tuple(findings),
        risk_tier_before=before.risk_tier if before else None,
        risk_tier_after=after.risk_tier if after else None,
        classification_after=after.category if after else None,
        source=source,
    )


def install_lifecycle(
    app: faust.App,
    settings: Settings,
    runtime: WorkerRuntime,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Register the lifecycle agents and timers on ``app``."""
    topics = settings.topics
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    registry_topic = app.topic(topics.ior_registry, partitions=settings.partitions, **raw)
    watchlist_topic = app.topic(topics.reference_watchlist, partitions=1, **raw)
    alerts_topic = app.topic(topics.ior_vetting_alerts, **raw)
    audit_topic = app.topic(topics.screening_audit, **raw)
    snapshots = app.Table(
        "ior-vetting-snapshots",
        default=None,
        partitions=settings.partitions,
    )

    async def state() -> tuple[RulePack, WatchlistIndex]:
        await runtime.ready.wait()
        assert runtime.loop is not None
        return runtime.loop.packs.pack, runtime.loop.screener.reference.watchlist

    async def publish(ior_number: str, event: AuditEvent, alert: VettingAlert | None) -> None:
        key = mask_ior_number(ior_number).encode()
        await audit_topic.send(key=key, value=codec.encode(event))
        if alert is not None:
            await alerts_topic.send(key=key, value=codec.encode(alert))
            runtime.metrics.vetting_alerts.inc()
            for finding in alert.findings:
                runtime.metrics.vetting_findings.labels(finding.kind).inc()

    @app.agent(registry_topic, name="vet-registry-changes")
    async def vet_registry_changes(stream: faust.StreamT[bytes]) -> None:
        """Each registry change re-classifies and re-tiers the IOR (E5)."""
        async for event in stream.events():
            pack, watchlist = await state()
            ior_number = event.key.decode()
            source = f"{topics.ior_registry}:{event.message.partition}:{event.message.offset}"
            stored = snapshots.get(ior_number)
            before = VettingSnapshot.from_dict(stored) if stored else None
            if event.value is None:
                after = None
                findings = [AlertFinding("removed_from_registry", "removed from the registry")]
                snapshots.pop(ior_number, None)
            else:
                try:
                    record = codec.decode(IorRecord, event.value)
                except codec.InputRejected as error:
                    log.error("unreadable registry record", extra={"reason": error.message})
                    continue
                after = snapshot(record, pack, watchlist)
                findings = worsened(before, after)
                if before == after:
                    continue  # a bookkeeping change (last_entry_at): nothing to vet
                snapshots[ior_number] = after.to_dict()
            at = clock()
            alert = (
                vetting_alert(ior_number, before, after, findings, at, source) if findings else None
            )
            await publish(
                ior_number, registry_event(ior_number, before, after, findings, at, source), alert
            )

    @app.agent(watchlist_topic, name="vet-owners-on-list-loads")
    async def vet_owners_on_list_loads(stream: faust.StreamT[bytes]) -> None:
        """A new or changed entity-list entry is checked against every IOR's owners."""
        async for values in stream.take(1_000, within=1.0):
            await runtime.ready.wait()
            records = []
            for value in values:
                if value is None:
                    continue
                try:
                    records.append(codec.decode(WatchlistRecord, value))
                except codec.InputRejected:
                    continue
            if records:
                await _owners_against(records)

    async def _owners_against(records: list[WatchlistRecord]) -> None:
        pack, _ = await state()
        params = pack.rules.watchlist_match.params
        index = WatchlistIndex(records)
        at = clock()
        for key, value in runtime.registry_mirror.store.items():
            owners = orjson.loads(value).get("beneficial_owners") or ()
            found = sorted(
                {
                    f"{match.record.list} {match.record.id} ('{match.matched_name}')"
                    for owner in owners
                    for match in index.match(
                        owner["name"],
                        owner.get("country"),
                        params.lists,
                        params.require_same_country,
                    )
                }
            )
            if not found:
                continue
            ior_number = key.decode()
            findings = [
                AlertFinding(
                    "watchlist_owner_match", "beneficial owner matches " + ", ".join(found)
                )
            ]
            source = f"{settings.topics.reference_watchlist}:" + ",".join(r.id for r in records)
            alert = vetting_alert(ior_number, None, None, findings, at, source)
            event = AuditEvent(
                event_id=f"IorVetted-{_digest(ior_number, source)}",
                event_type="IorVetted",
                subject=mask_ior_number(ior_number),
                occurred_at=at,
                ior_number=mask_ior_number(ior_number),
                details={"alerts": "watchlist_owner_match", "source": source},
            )
            await publish(ior_number, event, alert)

    cases_topic = app.topic(topics.penalty_cases, **raw)
    assessments_topic = app.topic(topics.penalty_assessments, **raw)
    dlq_topic = app.topic(topics.entries_filed_dlq, **raw)

    @app.agent(cases_topic, name="assess-penalty-cases")
    async def assess_penalty_cases(stream: faust.StreamT[bytes]) -> None:
        """E7: each penalty case is answered with its maximum and the order's floor."""
        async for event in stream.events():
            message = event.message
            try:
                assessed, audit = assess_case(event.value, clock())
            except codec.InputRejected as rejected:
                headers = dead_letter_headers(
                    rejected, message.topic, message.partition, message.offset, clock()
                )
                await dlq_topic.send(key=event.key, value=event.value, headers=headers)
                continue
            await assessments_topic.send(
                key=assessed.case_id.encode(), value=codec.encode(assessed)
            )
            await audit_topic.send(key=assessed.case_id.encode(), value=codec.encode(audit))

    alerted: set[str] = set()

    @app.timer(settings.inactivity_sweep_seconds, on_leader=True, name="inactivity-sweep")
    async def inactivity_sweep() -> None:
        """E4: an active IOR with no entry for a year becomes inactive in the registry; the
        vetting agent then raises the alert for the status change."""
        await runtime.ready.wait()
        now = clock()
        swept = 0
        for key, value in list(runtime.registry_mirror.store.items()):
            data = orjson.loads(value)
            if data.get("status") != "active":
                continue
            last = _time(data.get("last_entry_at"))
            registered = _time(data.get("registered_at"))
            if registered is None or not inactive_since(
                last, registered, now, settings.inactivity_days
            ):
                continue
            record = codec.decode(IorRecord, value)
            updated = record.model_copy(update={"status": "inactive", "updated_at": now})
            await registry_topic.send(key=key, value=codec.encode(updated))
            shown = mask_ior_number(record.ior_number)
            await audit_topic.send(
                key=shown.encode(),
                value=codec.encode(
                    AuditEvent(
                        event_id="IorDeactivated-"
                        + _digest(record.ior_number, data.get("last_entry_at")),
                        event_type="IorDeactivated",
                        subject=shown,
                        occurred_at=now,
                        ior_number=shown,
                        details={
                            "last_entry_at": data.get("last_entry_at"),
                            "inactivity_days": settings.inactivity_days,
                        },
                    )
                ),
            )
            swept += 1
        if swept:
            log.info("inactivity sweep", extra={"deactivated": swept})

    @app.timer(settings.confidentiality_check_seconds, on_leader=True, name="confidentiality-check")
    async def confidentiality_check() -> None:
        """E9: certifications that expire soon or have expired are flagged once each."""
        await runtime.ready.wait()
        now = clock()
        for key, value in list(runtime.registry_mirror.store.items()):
            data = orjson.loads(value)
            expires = _time(data.get("confidentiality_expires_at"))
            kind = confidentiality_state(expires, now, settings.confidentiality_warning_days)
            if kind is None:
                continue
            ior_number = key.decode()
            source = f"confidentiality:{data['confidentiality_expires_at']}"
            alert = vetting_alert(
                ior_number,
                None,
                None,
                [
                    AlertFinding(
                        kind, f"manifest confidentiality certification expires {expires:%Y-%m-%d}"
                    )
                ],
                now,
                source,
            )
            if alert.alert_id in alerted:
                continue
            alerted.add(alert.alert_id)
            shown = mask_ior_number(ior_number)
            event_type: AuditEventType = (
                "ConfidentialityExpired"
                if kind == "confidentiality_expired"
                else "ConfidentialityExpiring"
            )
            await publish(
                ior_number,
                AuditEvent(
                    event_id=f"{event_type}-{_digest(ior_number, source)}",
                    event_type=event_type,
                    subject=shown,
                    occurred_at=now,
                    ior_number=shown,
                    details={"expires_at": data["confidentiality_expires_at"]},
                ),
                alert,
            )


def assess_case(raw: bytes | None, now: datetime) -> tuple[PenaltyAssessed, AuditEvent]:
    """A penalty case message in, its assessment and audit event out (InputRejected for a
    case that is malformed or cannot be assessed, e.g. assessed above the maximum)."""
    if raw is None:
        raise codec.InputRejected("malformed", (FieldError("(message)", "no value"),))
    case = codec.decode(PenaltyCaseOpened, raw)
    try:
        assessment = assess_penalty(
            PenaltyCase(
                culpability=case.culpability,
                loss_of_duty_usd=case.loss_of_duty_usd,
                domestic_value_usd=case.domestic_value_usd,
                assessed_usd=case.assessed_usd,
                dutiable_value_usd=case.dutiable_value_usd,
                repeat_offender=case.repeat_offender,
                national_security=case.national_security,
            )
        )
    except PenaltyError as error:
        raise codec.InputRejected("invalid", (FieldError("assessed_usd", str(error)),)) from None
    shown = None if case.ior_number is None else mask_ior_number(case.ior_number)
    assessed = PenaltyAssessed(
        case_id=case.case_id,
        ior_number=shown,
        culpability=case.culpability,
        assessed_usd=assessment.assessed_usd,
        max_penalty_usd=assessment.max_penalty_usd,
        max_penalty_basis=assessment.max_penalty_basis,
        floor_usd=assessment.floor_usd,
        floor_share=assessment.floor_share,
        floor_rule=assessment.floor_rule,
        mitigation_room_usd=assessment.mitigation_room_usd,
        repeat_offender=assessment.repeat_offender,
        national_security=assessment.national_security,
        reasoning=assessment.reasoning,
        assessed_at=now,
    )
    event = penalty_assessed_event(
        assessment, case_id=case.case_id, occurred_at=now, ior_number=case.ior_number
    )
    return assessed, event


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

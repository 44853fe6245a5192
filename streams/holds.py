"""Open holds: kept per owned partition, acted on when something can cure or escalate them.

A non-release decision opens (or updates) a hold; a release closes it. A hold changes when
* the IOR's registry record changes (continuous vetting, E5): the entry is screened again
  and, if its reasons changed, a new decision follows, naming the registry version;
* a resolution arrives on ``holds.resolutions``: a cure or a formal refiling re-screens the
  amended entry; an officer's release or confirmed seizure closes it;
* it has waited past ``hold_max_age_hours``: it is escalated to seizure review (E8).
Every such decision has its own deterministic ``decision_id`` (the basis names what
triggered it), so a replay after a crash repeats ids instead of inventing decisions.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from schemas import codec
from schemas.audit import AuditEvent, FieldError
from schemas.decision import RuleHit, ScreeningDecision
from schemas.entry import EntryFiling
from schemas.formats import mask_ior_number
from schemas.lifecycle import HoldResolution
from screening.activity import ActivityView
from screening.engine import Screener, screened_event
from screening.holds import amended_entry, deadline_hit, hold_age_hours
from streams.changelog import ChangelogTable
from streams.emitter import Emitter
from streams.output import OutputBatch
from streams.settings import Settings
from streams.state import RegistryView

log = logging.getLogger(__name__)

_OFFICER_CITATION = "EO 2026-06-03 E8 (streamlined seizure and disposal of noncompliant entries)"


@dataclass(slots=True)
class OpenHold:
    """An open hold in memory; on the changelog it is a ``HoldRecord`` (schemas.lifecycle)."""

    entry_number: str
    ior_number: str
    entry_raw: bytes
    decision_id: str
    outcome: str
    rule_ids: tuple[str, ...]
    held_at: datetime
    updated_at: datetime
    escalated: bool = False
    resolutions: tuple[str, ...] = ()
    registry_digest: str = ""

    def to_wire(self) -> bytes:
        # Written piece by piece (the same bytes as orjson.dumps of the dict, which the
        # tests hold it to): three holds in four entries are written on the hot path, and
        # a hold opened at filing has one time stamp for both times.
        dumps = orjson.dumps
        held_at = dumps(self.held_at, option=orjson.OPT_UTC_Z)
        updated_at = (
            held_at
            if self.updated_at is self.held_at
            else dumps(self.updated_at, option=orjson.OPT_UTC_Z)
        )
        return b"".join(
            (
                b'{"entry_number":',
                dumps(self.entry_number),
                b',"ior_number":',
                dumps(self.ior_number),
                # The entry exactly as filed (or as amended): embedded, not re-encoded.
                b',"entry":',
                self.entry_raw,
                b',"decision_id":',
                dumps(self.decision_id),
                b',"outcome":',
                dumps(self.outcome),
                b',"rule_ids":',
                dumps(self.rule_ids),
                b',"held_at":',
                held_at,
                b',"updated_at":',
                updated_at,
                b',"escalated":',
                b"true" if self.escalated else b"false",
                b',"resolutions":',
                dumps(self.resolutions),
                b',"registry_digest":',
                dumps(self.registry_digest),
                b"}",
            )
        )

    @classmethod
    def from_wire(cls, raw: bytes) -> OpenHold:
        data = orjson.loads(raw)
        return cls(
            entry_number=data["entry_number"],
            ior_number=data["ior_number"],
            entry_raw=orjson.dumps(data["entry"]),
            decision_id=data["decision_id"],
            outcome=data["outcome"],
            rule_ids=tuple(data["rule_ids"]),
            held_at=datetime.fromisoformat(data["held_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            escalated=data.get("escalated", False),
            resolutions=tuple(data.get("resolutions", ())),
            registry_digest=data.get("registry_digest", ""),
        )

    def entry(self) -> EntryFiling:
        return EntryFiling.model_validate_json(self.entry_raw)


class ResolutionRefused(ValueError):
    """A resolution that cannot be applied; it goes to the dead-letter topic with the reason."""

    def rejected(self) -> codec.InputRejected:
        return codec.InputRejected("invalid", (FieldError("entry_number", str(self)),))


class HoldBook:
    def __init__(self, settings: Settings, registry: RegistryView) -> None:
        self.settings = settings
        self.registry = registry
        self.table: ChangelogTable[OpenHold] = ChangelogTable(
            settings, settings.topics.holds_state, OpenHold.from_wire, OpenHold.to_wire
        )
        self.by_ior: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.table)

    def __bool__(self) -> bool:
        return len(self.table) > 0

    # --- ownership ----------------------------------------------------------------------

    async def restore(self, partitions: list[int]) -> list[str]:
        """Read back these partitions' holds; returns the IORs that have any (to re-check
        against the registry as it is now)."""
        await self.table.restore(partitions)
        iors = []
        for partition in partitions:
            for hold in self.table.partitions.get(partition, {}).values():
                self.by_ior.setdefault(hold.ior_number, set()).add(hold.entry_number)
                iors.append(hold.ior_number)
        return iors

    def drop(self, partitions: list[int]) -> None:
        for partition in partitions:
            for hold in self.table.partitions.get(partition, {}).values():
                self._unindex(hold)
        self.table.drop(partitions)

    def holds_of(self, ior_number: str) -> list[OpenHold]:
        found = (self.table.get(n) for n in self.by_ior.get(ior_number, ()))
        return [hold for hold in found if hold is not None]

    def __iter__(self) -> Iterator[OpenHold]:
        return (hold for _, _, hold in self.table.items())

    def _unindex(self, hold: OpenHold) -> None:
        numbers = self.by_ior.get(hold.ior_number)
        if numbers is not None:
            numbers.discard(hold.entry_number)
            if not numbers:
                del self.by_ior[hold.ior_number]

    # --- after every decision -----------------------------------------------------------

    def open_at_filing(
        self,
        out: OutputBatch,
        partition: int,
        decision: ScreeningDecision,
        ior_number: str,
        entry_raw: bytes,
    ) -> None:
        """A hold for a decision at filing on an entry that has none: what :meth:`record`
        does in that case, without its other cases (three entries in four take this path;
        with the native core, its screening run opens them itself, as this does)."""
        entry_number = decision.entry_number
        screened_at = decision.screened_at
        hold = OpenHold(
            entry_number,
            ior_number,
            entry_raw,
            decision.decision_id,
            decision.outcome,
            decision.rule_ids,
            screened_at,
            screened_at,
            False,
            (),
            self.registry.digest(ior_number),
        )
        self.table.put(out, partition, entry_number, hold)
        numbers = self.by_ior.get(ior_number)
        if numbers is None:
            self.by_ior[ior_number] = {entry_number}
        else:
            numbers.add(entry_number)

    def containers(
        self,
    ) -> tuple[dict[int, dict[str, OpenHold]], dict[str, int], dict[str, set[str]]]:
        """Where an open hold is kept: partition -> entry number -> hold, entry number ->
        partition, IOR number -> its held entries. The native screening run opens holds
        at filing straight into them (and writes their changelog records), as
        :meth:`open_at_filing` does."""
        partitions, where = self.table.containers()
        return partitions, where, self.by_ior

    def record(
        self,
        emitter: Emitter,
        partition: int,
        decision: ScreeningDecision,
        ior_number: str,
        entry_raw: bytes,
        **changes: object,
    ) -> None:
        """Open, update or close the hold of the decision's entry. ``ior_number`` is the
        real number (decisions carry SSN-form numbers masked)."""
        existing = self.table.get(decision.entry_number)
        if decision.outcome == "release":
            if existing is not None:
                self.table.delete(emitter.out, decision.entry_number)
                self._unindex(existing)
            return
        if existing is not None and existing.decision_id == decision.decision_id and not changes:
            return  # a replay of the decision that opened it
        hold = OpenHold(
            entry_number=decision.entry_number,
            ior_number=ior_number,
            entry_raw=entry_raw,
            decision_id=decision.decision_id,
            outcome=decision.outcome,
            rule_ids=decision.rule_ids,
            held_at=existing.held_at if existing is not None else decision.screened_at,
            updated_at=decision.screened_at,
            escalated=existing.escalated if existing is not None else False,
            resolutions=existing.resolutions if existing is not None else (),
            # The registry version this decision saw: a restart or a bookkeeping change
            # of the record is then no reason to screen it again.
            registry_digest=self.registry.digest(ior_number),
        )
        for name, value in changes.items():
            setattr(hold, name, value)
        if existing is not None and existing.ior_number != ior_number:
            self._unindex(existing)  # a refiling under another IOR
        self.table.put(emitter.out, partition, hold.entry_number, hold)
        self.by_ior.setdefault(hold.ior_number, set()).add(hold.entry_number)

    # --- re-screening -------------------------------------------------------------------

    def _rescreen(
        self,
        emitter: Emitter,
        hold: OpenHold,
        screener: Screener,
        activity: ActivityView | None,
        *,
        trigger: str,
        basis: str,
        entry: EntryFiling | None = None,
    ) -> ScreeningDecision:
        return screener.screen(
            entry or hold.entry(),
            self.registry.get(hold.ior_number),
            screened_at=emitter.now,
            activity=activity,
            trigger=trigger,  # type: ignore[arg-type]
            basis=basis,
        )

    def registry_changed(
        self,
        emitter: Emitter,
        ior_number: str,
        screener: Screener,
        activity: ActivityView | None,
    ) -> int:
        """Re-screen this IOR's holds against its registry record as it is now; produce a
        new decision for each whose reasons changed. Returns how many changed."""
        digest = self.registry.digest(ior_number)
        changed = 0
        for hold in self.holds_of(ior_number):
            if hold.registry_digest == digest:
                continue
            partition = self.table.partition_of(hold.entry_number)
            assert partition is not None
            decision = self._rescreen(
                emitter,
                hold,
                screener,
                activity,
                trigger="registry_change",
                basis=f"registry:{digest}",
            )
            if decision.rule_ids == hold.rule_ids and decision.outcome == hold.outcome:
                # Nothing cured or added: remember the version so it is not re-checked.
                self.record(
                    emitter,
                    partition,
                    dataclasses.replace(decision, decision_id=hold.decision_id),
                    hold.ior_number,
                    hold.entry_raw,
                    registry_digest=digest,
                )
                continue
            event = dataclasses.replace(
                screened_event(decision),
                details={
                    "trigger": "registry_change",
                    "registry_digest": digest,
                    "previous_decision_id": hold.decision_id,
                    "ior_classification": decision.ior_classification,
                    "risk_tier": decision.risk_tier,
                },
            )
            emitter.decision(decision, partition, event)
            self.record(
                emitter,
                partition,
                decision,
                hold.ior_number,
                hold.entry_raw,
                registry_digest=digest,
            )
            changed += 1
        return changed

    def resolve(
        self,
        emitter: Emitter,
        partition: int,
        resolution: HoldResolution,
        screener: Screener,
        activity: ActivityView | None,
    ) -> ScreeningDecision | None:
        """Apply a resolution. Returns the decision it produced, None for a replay; raises
        :class:`ResolutionRefused` when it cannot apply."""
        hold = self.table.get(resolution.entry_number)
        if hold is None:
            raise ResolutionRefused(f"no open hold for entry {resolution.entry_number}")
        if hold.ior_number != resolution.ior_number:
            raise ResolutionRefused("the resolution's IOR is not the held entry's IOR")
        if resolution.resolution_id in hold.resolutions:
            return None  # already applied: a replay
        basis = f"resolution:{resolution.resolution_id}"
        applied = (*hold.resolutions, resolution.resolution_id)
        if resolution.action in {"cure", "refile_formal"}:
            try:
                entry = amended_entry(hold.entry(), resolution)
            except ValueError as error:
                raise ResolutionRefused(f"the amended entry is invalid: {error}") from None
            decision = self._rescreen(
                emitter, hold, screener, activity, trigger="resolution", basis=basis, entry=entry
            )
            entry_raw = codec.encode(entry)
            resolution_kind = "cured" if resolution.action == "cure" else "refiled_formal"
        else:
            screened = self._rescreen(
                emitter, hold, screener, activity, trigger="resolution", basis=basis
            )
            entry_raw = hold.entry_raw
            if resolution.action == "officer_release":
                decision = dataclasses.replace(screened, outcome="release", hits=())
                resolution_kind = "released_by_officer"
            else:
                note = f" ({resolution.note})" if resolution.note else ""
                decision = dataclasses.replace(
                    screened,
                    outcome="seizure_review",
                    hits=(
                        RuleHit(
                            "SEIZURE-CONFIRMED",
                            "seizure_review",
                            f"Officer {resolution.officer_id} confirmed the seizure{note}.",
                            _OFFICER_CITATION,
                        ),
                    ),
                )
                resolution_kind = "seizure_confirmed"
        emitter.decision(decision, partition)
        emitter.resolutions[resolution.action] += 1
        emitter.audit(
            AuditEvent(
                event_id=f"{decision.decision_id}-resolved",
                event_type="HoldResolved",
                subject=decision.entry_number,
                occurred_at=emitter.now,
                ior_number=decision.ior_number,
                decision_id=decision.decision_id,
                outcome=decision.outcome,
                rule_ids=decision.rule_ids,
                rule_pack_version=decision.rule_pack_version,
                details={
                    "resolution": resolution_kind,
                    "resolution_id": resolution.resolution_id,
                    "officer_id": resolution.officer_id,
                    "cure": ",".join(
                        name
                        for name in ("export_declaration_ref", "supply_chain_cert_ref")
                        if getattr(resolution, name) is not None
                    )
                    or None,
                },
            ),
            partition,
            decision.entry_number.encode(),
        )
        if resolution.action == "confirm_seizure":
            closed = self.table.delete(emitter.out, hold.entry_number)
            if closed is not None:
                self._unindex(closed)
        else:
            self.record(
                emitter, partition, decision, hold.ior_number, entry_raw, resolutions=applied
            )
        return decision

    def escalate_due(
        self,
        emitter: Emitter,
        screener: Screener,
        activity: ActivityView | None,
        limit_hours: float,
    ) -> int:
        """Escalate every hold older than the limit to seizure review (once)."""
        escalated = 0
        for partition, _, hold in list(self.table.items()):
            if hold.outcome != "hold" or hold.escalated:
                continue
            age = hold_age_hours(hold.held_at, emitter.now)
            if age < limit_hours:
                continue
            screened = self._rescreen(
                emitter,
                hold,
                screener,
                activity,
                trigger="deadline",
                basis=f"deadline:{hold.decision_id}",
            )
            if screened.outcome == "release":
                emitter.decision(screened, partition)
                self.record(emitter, partition, screened, hold.ior_number, hold.entry_raw)
                continue
            decision = dataclasses.replace(
                screened,
                outcome="seizure_review",
                hits=(*screened.hits, deadline_hit(age, limit_hours)),
            )
            emitter.decision(decision, partition)
            emitter.audit(
                AuditEvent(
                    event_id=f"{decision.decision_id}-escalated",
                    event_type="HoldEscalated",
                    subject=decision.entry_number,
                    occurred_at=emitter.now,
                    ior_number=mask_ior_number(hold.ior_number),
                    decision_id=decision.decision_id,
                    outcome="seizure_review",
                    rule_ids=decision.rule_ids,
                    rule_pack_version=decision.rule_pack_version,
                    details={"age_hours": round(age, 1), "previous_decision_id": hold.decision_id},
                ),
                partition,
                decision.entry_number.encode(),
            )
            self.record(
                emitter, partition, decision, hold.ior_number, hold.entry_raw, escalated=True
            )
            escalated += 1
        return escalated

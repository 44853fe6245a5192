"""The screener: runs the rules in force on an entry and returns the decision.

Worst outcome wins (release < hold < seizure_review) and every matched rule is reported.
Work that does not depend on the entry is done once, not per entry:

* the rules in force are precomputed for each interval between the pack's effective dates,
  and narrowed by the rules' gates for each (registered, foreign, entry type) combination;
* an IOR's classification, risk tier, IOR-rule facts and owner matches form its profile,
  cached for as long as its registry record is the same object.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from schemas import codec
from schemas.audit import AuditEvent
from schemas.decision import (
    OUTCOME_SEVERITY,
    OUTCOMES,
    Outcome,
    RuleHit,
    ScreeningDecision,
    Trigger,
)
from schemas.entry import EntryFiling
from schemas.formats import is_ssn_form, mask_ior_number
from schemas.native_decoder import ENTRY_DECODER
from schemas.reference import BrokerRecord
from schemas.registry import IorRecord
from screening.activity import ActivityCounter, ActivityView
from screening.bonds import continuous_bond_required
from screening.classification import classify
from screening.native import NATIVE
from screening.risk import risk_tier
from screening.rulepack import RulePack, WatchlistParams
from screening.rules import CATALOGUE, Case, Gate, IorProfile, owner_matches
from screening.watchlist import WatchlistIndex

_PROFILE_CACHE_LIMIT: Final = 100_000


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Brokers by filer code and the loaded entity lists."""

    brokers: Mapping[str, BrokerRecord] = field(default_factory=dict)
    watchlist: WatchlistIndex = field(default_factory=WatchlistIndex)


@dataclass(frozen=True, slots=True)
class ActiveRule:
    """A catalogue rule bound to its settings in the pack."""

    rule_id: str
    check: Any
    params: Any
    severity: int
    outcome: Outcome
    citation: str
    cure: str
    needs_registry: bool
    gate: Gate | None

    def hit(self, fact: str) -> RuleHit:
        return RuleHit(self.rule_id, self.outcome, f"{fact} {self.cure}", self.citation)


@dataclass(frozen=True, slots=True)
class Segment:
    """The rules in force between two consecutive effective dates of the pack."""

    entry_rules: tuple[ActiveRule, ...]
    ior_rules: Mapping[str, ActiveRule]


def decision_id(entry_number: str, revision: int, pack_version: str, basis: str = "") -> str:
    """Deterministic: the same entry revision under the same pack always gets the same id.

    ``basis`` distinguishes a re-screening (after a registry change or a resolution) from
    the decision at filing, so that it is a new decision rather than a duplicate.
    """
    text = f"{entry_number}|{revision}|{pack_version}|{basis}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


PlanKey = tuple[int, bool, bool, str]

# What the hot path needs of one screened filing message: the decision, its JSON and its
# audit event's JSON, and the entry's IOR number, registry record (None when unknown),
# filing time and bond type ("0", "8", "9" or None), for the worker's state and metrics.
Screened = tuple[ScreeningDecision, bytes, bytes, str, IorRecord | None, datetime, str | None]


class RecordSink(Protocol):
    """Where :meth:`Screener.screen_message` can add its outputs (``OutputBatch``)."""

    def add(self, topic: str, partition: int, key: bytes | None, value: bytes | None) -> None: ...


class Screener:
    """Screens entries under one rule pack. A new pack means a new screener: swapping the
    object is the atomic switch, and its caches can never mix two packs.

    The per-entry rules run in the compiled core (:mod:`screening.native`) when it is
    installed and ``native`` is left on; it asks this object for IOR profiles and rule plans,
    so both cores share everything decided once per IOR or per entry category.
    """

    def __init__(
        self,
        pack: RulePack,
        reference: ReferenceData | None = None,
        *,
        ior_hash_key: bytes | None = None,
        native: bool = True,
    ) -> None:
        self.pack = pack
        self._reference = reference or ReferenceData()
        self._ior_hash_key = ior_hash_key
        self._profiles: dict[str, tuple[IorRecord | None, IorProfile]] = {}
        self._plans: dict[PlanKey, tuple[ActiveRule, ...]] = {}
        settings = pack.rules.by_id()
        self._rules = {
            entry.rule_id: ActiveRule(
                entry.rule_id,
                entry.entry_check or entry.ior_check,
                settings[entry.rule_id].params,
                OUTCOME_SEVERITY[settings[entry.rule_id].outcome],
                settings[entry.rule_id].outcome,
                settings[entry.rule_id].citation,
                settings[entry.rule_id].cure,
                entry.needs_registry,
                entry.gate,
            )
            for entry in CATALOGUE
        }
        self._ior_checks = tuple(
            (entry.rule_id, entry.ior_check, settings[entry.rule_id].params)
            for entry in CATALOGUE
            if entry.ior_check is not None
        )
        self._watchlist_params: WatchlistParams = pack.rules.watchlist_match.params
        self._bounds, self._segments = self._compile()
        self._use_native = native and NATIVE is not None
        self._native: Any = None
        if self._use_native:
            assert NATIVE is not None
            self._native = NATIVE.NativeScreener(self)

    def _compile(self) -> tuple[list[float], list[Segment]]:
        settings = self.pack.rules.by_id()
        times = sorted(
            {
                t.timestamp()
                for rule in settings.values()
                for t in (rule.effective_from, rule.effective_until)
                if t is not None
            }
        )
        segments = []
        for index in range(len(times) + 1):
            probe = times[index - 1] if index else (times[0] - 1 if times else 0.0)
            at = datetime.fromtimestamp(probe, UTC)
            in_force = [e for e in CATALOGUE if settings[e.rule_id].in_force(at)]
            segments.append(
                Segment(
                    entry_rules=tuple(
                        self._rules[e.rule_id] for e in in_force if e.entry_check is not None
                    ),
                    ior_rules={e.rule_id: self._rules[e.rule_id] for e in in_force if e.ior_check},
                )
            )
        return times, segments

    @property
    def reference(self) -> ReferenceData:
        return self._reference

    @reference.setter
    def reference(self, reference: ReferenceData) -> None:
        # Owner matches cached in the IOR profiles depend on the entity lists.
        self._reference = reference
        self._profiles.clear()
        if self._use_native:
            assert NATIVE is not None
            self._native = NATIVE.NativeScreener(self)

    @property
    def core(self) -> str:
        """Which core screens the entries: "native" or "python"."""
        return "native" if self._native is not None else "python"

    def rules_in_force(self, at: datetime) -> tuple[str, ...]:
        segment = self._segments[bisect.bisect_right(self._bounds, at.timestamp())]
        return tuple(
            rule_id
            for rule_id in self._rules
            if rule_id in segment.ior_rules
            or any(r.rule_id == rule_id for r in segment.entry_rules)
        )

    def _plan(self, key: PlanKey) -> tuple[ActiveRule, ...]:
        """The entry rules that can fire for this segment, registry state, IOR category and
        entry type; built once per combination."""
        segment_index, registered, foreign, entry_type = key
        plan = tuple(
            rule
            for rule in self._segments[segment_index].entry_rules
            if (registered or not rule.needs_registry)
            and (rule.gate is None or rule.gate(rule.params, entry_type, foreign))
        )
        self._plans[key] = plan
        return plan

    def ior_hash(self, ior_number: str) -> str | None:
        """A keyed hash of an SSN-form IOR number, so masked outputs can still be joined."""
        if self._ior_hash_key is None or not is_ssn_form(ior_number):
            return None
        return hmac.new(self._ior_hash_key, ior_number.encode(), hashlib.sha256).hexdigest()[:32]

    def profile(self, ior_number: str, ior: IorRecord | None) -> IorProfile:
        """What is decided once per IOR record, cached per IOR number (for this record)."""
        cached = self._profiles.get(ior_number)
        if cached is not None and cached[0] is ior:
            return cached[1]
        profile = self.new_profile(ior_number, ior)
        if len(self._profiles) >= _PROFILE_CACHE_LIMIT:
            self._profiles.clear()
        self._profiles[ior_number] = (ior, profile)
        return profile

    def new_profile(self, ior_number: str, ior: IorRecord | None) -> IorProfile:
        """:meth:`profile` without its cache: the native core asks for this, and keeps its
        own conversion of the result (a second cached copy cost 0.7 KB per IOR)."""
        classification = classify(ior, self.pack.classification)
        profile = IorProfile(classification, None, mask_ior_number(ior_number))
        profile.foreign_description = (
            f"IOR {profile.shown_ior_number} is a foreign IOR ({classification.description})"
        )
        if ior is not None:
            profile.registered_ts = ior.registered_at.timestamp()
            profile.risk = risk_tier(ior, classification, self.pack.risk_tiers)
            bond_params = self.pack.rules.bond_sufficiency.params
            profile.required_continuous_bond = continuous_bond_required(
                ior.duties_paid_12m_usd or 0.0,
                bond_params.continuous_floor_usd,
                bond_params.continuous_rate,
            )
            if ior.continuous_bond is not None:
                profile.continuous_bond_usd = ior.continuous_bond.amount_usd
            facts = []
            for rule_id, check, params in self._ior_checks:
                fact = check(ior, profile, params)
                if fact is not None:
                    facts.append((rule_id, fact))
            profile.ior_facts = tuple(facts)
            if self._reference.watchlist:
                profile.owner_matches = owner_matches(
                    ior, self._reference.watchlist, self._watchlist_params
                )
        return profile

    def screen(
        self,
        entry: EntryFiling,
        ior: IorRecord | None,
        *,
        screened_at: datetime,
        as_of: datetime | None = None,
        activity: ActivityView | None = None,
        trigger: Trigger = "filed",
        basis: str = "",
    ) -> ScreeningDecision:
        """Screen one entry. ``as_of`` (default: the entry's ``filed_at``) decides which
        rules are in force and how old the IOR is; ``screened_at`` is only stamped."""
        native = self._native
        if native is not None:
            # the native core writes the outputs' JSON as it goes; here only the decision counts
            decision: ScreeningDecision = native.screen_encoded(
                entry, ior, screened_at, as_of, activity, trigger, basis
            )[0]
            return decision
        return self.screen_in_python(
            entry,
            ior,
            screened_at=screened_at,
            as_of=as_of,
            activity=activity,
            trigger=trigger,
            basis=basis,
        )

    def screen_message(
        self,
        data: bytes,
        lookup: Callable[[str], IorRecord | None],
        *,
        screened_at: datetime,
        activity: ActivityCounter | None = None,
        max_bytes: int = codec.MAX_MESSAGE_BYTES,
        into: RecordSink | None = None,
        partition: int = 0,
        topics: tuple[str, str, str, str] | None = None,
    ) -> Screened:
        """One filing message, from its bytes to its decision at filing: decode and validate
        it, look its IOR up, count it in ``activity``, screen it, encode the outputs.

        The native core does all of it for a message its decoder is sure of; anything else
        takes the models' path (``codec.decode``, then :meth:`screen_encoded`), which gives
        the same decision or raises :class:`~schemas.codec.InputRejected` with the reasons.

        With ``into``, the two outputs are added to it instead of being returned (their
        slots in the result are empty bytes): the decision to ``partition`` of the topic of its
        outcome (``topics``: release, hold and seizure-review topics, then the audit
        topic), then its audit event, both keyed by entry number. The native core writes
        them straight into the batches of a native ``OutputBatches``, with no Python
        object in between.
        """
        native = self._native
        if native is not None and ENTRY_DECODER is not None and len(data) <= max_bytes:
            screened: Screened | None = native.screen_message(
                data, ENTRY_DECODER, lookup, screened_at, activity, into, partition, topics
            )
            if screened is not None:
                return screened
        entry = codec.decode(EntryFiling, data, max_bytes=max_bytes, compiled=self._use_native)
        ior = lookup(entry.ior_number)
        if activity is not None:
            activity.record(entry.ior_number, entry.filed_at)
        decision, encoded, audit = self.screen_encoded(
            entry, ior, screened_at=screened_at, activity=activity
        )
        bond_type = entry.bond.type if entry.bond is not None else None
        if into is not None:
            if topics is None:
                raise ValueError("screen_message: `into` needs `topics`")
            key = decision.entry_number.encode()
            into.add(topics[OUTCOMES.index(decision.outcome)], partition, key, encoded)
            into.add(topics[3], partition, key, audit)
            encoded = audit = b""
        return decision, encoded, audit, entry.ior_number, ior, entry.filed_at, bond_type

    def batch_run(self, **state: Any) -> Any:
        """A consumer batch's state for :meth:`screen_run` (``screening_native.BatchRun``;
        ``state`` are its keyword arguments, less the decoder), or None without the native
        core: then the loop screens every message with :meth:`screen_message`."""
        if self._native is None or ENTRY_DECODER is None or NATIVE is None:
            return None
        return NATIVE.BatchRun(decoder=ENTRY_DECODER, **state)

    def decode_ahead(self, run: Any, lists: list[list[Any]]) -> None:
        """Start decoding a consumer batch's entry messages (each partition's, in the order
        they will be screened) on a second thread, for :meth:`screen_run` to take from
        (native/src/ahead.rs)."""
        self._native.decode_ahead(run, lists)

    def screen_run(
        self, run: Any, messages: list[Any], start: int, stop: int, partition: int
    ) -> int:
        """Screen consumer messages ``start..stop`` of ``partition`` in the native core, with
        the loop's per-entry bookkeeping (native/src/run.rs), until one needs the Python
        loop; returns that one's index (``stop`` when none did)."""
        done: int = self._native.screen_run(run, messages, start, stop, partition)
        return done

    def screen_encoded(
        self,
        entry: EntryFiling,
        ior: IorRecord | None,
        *,
        screened_at: datetime,
        as_of: datetime | None = None,
        activity: ActivityView | None = None,
        trigger: Trigger = "filed",
        basis: str = "",
    ) -> tuple[ScreeningDecision, bytes, bytes]:
        """:meth:`screen`, with the decision's encoding and its audit event's
        (``codec.encode(decision)`` and ``screened_event_bytes(decision)``): the native core
        writes them while it builds the decision, which the hot paths use."""
        native = self._native
        if native is not None:
            encoded: tuple[ScreeningDecision, bytes, bytes] = native.screen_encoded(
                entry, ior, screened_at, as_of, activity, trigger, basis
            )
            return encoded
        decision = self.screen_in_python(
            entry,
            ior,
            screened_at=screened_at,
            as_of=as_of,
            activity=activity,
            trigger=trigger,
            basis=basis,
        )
        return decision, codec.encode(decision), screened_event_bytes(decision)

    def screen_in_python(
        self,
        entry: EntryFiling,
        ior: IorRecord | None,
        *,
        screened_at: datetime,
        as_of: datetime | None = None,
        activity: ActivityView | None = None,
        trigger: Trigger = "filed",
        basis: str = "",
    ) -> ScreeningDecision:
        """The Python core: the definition the native core is tested against."""
        at = as_of or entry.filed_at
        at_ts = at.timestamp()
        segment_index = bisect.bisect_right(self._bounds, at_ts)
        cached = self._profiles.get(entry.ior_number)  # self.profile()'s hit, inlined
        if cached is not None and cached[0] is ior:
            profile = cached[1]
        else:
            profile = self.profile(entry.ior_number, ior)
        classification = profile.classification
        key: PlanKey = (
            segment_index,
            ior is not None,
            classification.category == "foreign",
            entry.entry_type,
        )
        plan = self._plans.get(key) or self._plan(key)
        hits = []
        worst = 0
        if profile.ior_facts:
            in_force = self._segments[segment_index].ior_rules
            for rule_id, ior_fact in profile.ior_facts:
                ior_rule = in_force.get(rule_id)
                if ior_rule is not None:
                    hits.append(ior_rule.hit(ior_fact))
                    worst = max(worst, ior_rule.severity)
        reference = self._reference
        case = Case(
            entry, ior, profile, reference.brokers, reference.watchlist, activity, at, at_ts
        )
        for rule in plan:
            fact = rule.check(case, rule.params)
            if fact is not None:
                hits.append(rule.hit(fact))
                if rule.severity > worst:
                    worst = rule.severity
        risk = profile.risk
        return ScreeningDecision(
            decision_id(entry.entry_number, entry.revision, self.pack.version, basis),
            entry.entry_number,
            entry.revision,
            entry.entry_type,
            entry.port_code,
            profile.shown_ior_number,
            self.ior_hash(entry.ior_number) if self._ior_hash_key else None,
            entry.broker_filer_code,
            entry.entered_value_usd,
            OUTCOMES[worst],
            tuple(hits),
            self.pack.version,
            classification.category,
            classification.failed_prongs,
            classification.reading,
            risk.tier if risk is not None else None,
            entry.filed_at,
            screened_at,
            trigger,
        )


def screened_event(decision: ScreeningDecision) -> AuditEvent:
    """The audit record of a decision: cheap, and replayable to the same ``event_id``."""
    return AuditEvent(
        event_id=f"{decision.decision_id}-screened",
        event_type="EntryScreened" if decision.trigger == "filed" else "EntryRescreened",
        subject=decision.entry_number,
        occurred_at=decision.screened_at,
        ior_number=decision.ior_number,
        decision_id=decision.decision_id,
        outcome=decision.outcome,
        rule_ids=tuple(hit.rule_id for hit in decision.hits),
        rule_pack_version=decision.rule_pack_version,
        details={
            "ior_classification": decision.ior_classification,
            "risk_tier": decision.risk_tier,
            "trigger": decision.trigger,
        },
    )


def screened_event_bytes(decision: ScreeningDecision) -> bytes:
    """``codec.encode(screened_event(decision))`` without building the dataclass: the hot
    path writes one per entry, and a dict encodes in half the time (a test holds the two
    byte for byte equal)."""
    return codec.encode(
        {
            "event_id": f"{decision.decision_id}-screened",
            "event_type": "EntryScreened" if decision.trigger == "filed" else "EntryRescreened",
            "subject": decision.entry_number,
            "occurred_at": decision.screened_at,
            "ior_number": decision.ior_number,
            "decision_id": decision.decision_id,
            "outcome": decision.outcome,
            "rule_ids": [hit.rule_id for hit in decision.hits],
            "rule_pack_version": decision.rule_pack_version,
            "details": {
                "ior_classification": decision.ior_classification,
                "risk_tier": decision.risk_tier,
                "trigger": decision.trigger,
            },
        }
    )

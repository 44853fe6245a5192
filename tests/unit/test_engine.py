"""Engine invariants: worst outcome wins, curing never worsens, deterministic ids, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decision import OUTCOME_SEVERITY
from schemas.entry import EntryFiling
from schemas.registry import Disclosures, IorRecord
from screening.engine import ReferenceData, Screener, decision_id, screened_event
from screening.rulepack import RULE_IDS, RulePack
from screening.watchlist import WatchlistIndex
from tests import strategies as s
from tests.factories import FILED_AT, SSN_IOR, make_broker, make_entry, make_ior, make_watch

REFERENCE = ReferenceData({"B01": make_broker(ctpat_tier=1)}, WatchlistIndex([make_watch()]))


@settings(max_examples=150)
@given(entry=s.entries, ior=st.one_of(st.none(), s.iors))
def test_the_worst_outcome_of_the_hits_wins(
    baseline_pack: RulePack, entry: EntryFiling, ior: IorRecord | None
) -> None:
    decision = Screener(baseline_pack, REFERENCE).screen(entry, ior, screened_at=FILED_AT)
    worst = max((OUTCOME_SEVERITY[h.outcome] for h in decision.hits), default=0)
    assert OUTCOME_SEVERITY[decision.outcome] == worst
    assert (decision.outcome == "release") == (not decision.hits)
    assert len(set(decision.rule_ids)) == len(decision.hits)


def _cures(entry: EntryFiling, ior: IorRecord) -> list[tuple[EntryFiling, IorRecord]]:
    """Each way of meeting one requirement the entry or IOR may be failing."""
    return [
        (entry.model_copy(update={"export_declaration_ref": "EXP-1"}), ior),
        (entry.model_copy(update={"supply_chain_cert_ref": "SCC-1"}), ior),
        (entry, ior.model_copy(update={"good_standing": True, "standing_issues": ()})),
        (
            entry,
            ior.model_copy(
                update={
                    "disclosures": Disclosures(
                        import_volume=True, ownership=True, beneficial_ownership=True
                    )
                }
            ),
        ),
        (entry, ior.model_copy(update={"tangible_domestic_assets_usd": 1e9})),
        (entry, ior.model_copy(update={"ctpat_tier": 3})),
        (
            entry,
            ior.model_copy(
                update={
                    "organized_in_us": True,
                    "located_in_us": True,
                    "controlling_owner_us_person": True,
                }
            ),
        ),
        (entry, ior.model_copy(update={"status": "active"})),
        (entry, ior.model_copy(update={"holds_12m": 0, "seizures_12m": 0, "prior_suspensions": 0})),
    ]


@settings(max_examples=150)
@given(entry=s.entries, ior=s.iors)
def test_curing_one_failed_requirement_never_worsens_the_outcome(
    baseline_pack: RulePack, entry: EntryFiling, ior: IorRecord
) -> None:
    ior = ior.model_copy(update={"ior_number": entry.ior_number})
    screener = Screener(baseline_pack, REFERENCE)
    before = screener.screen(entry, ior, screened_at=FILED_AT)
    for cured_entry, cured_ior in _cures(entry, ior):
        after = screener.screen(cured_entry, cured_ior, screened_at=FILED_AT)
        assert OUTCOME_SEVERITY[after.outcome] <= OUTCOME_SEVERITY[before.outcome]
        assert set(after.rule_ids) <= set(before.rule_ids)


@settings(max_examples=100)
@given(
    at=st.datetimes(
        min_value=datetime(1999, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
    )
)
def test_precomputed_rules_in_force_match_the_pack(baseline_pack: RulePack, at: datetime) -> None:
    expected = tuple(r for r, rule in baseline_pack.rules.by_id().items() if rule.in_force(at))
    assert Screener(baseline_pack).rules_in_force(at) == expected


def test_every_rule_is_in_force_after_the_180_day_deadline(baseline_pack: RulePack) -> None:
    assert Screener(baseline_pack).rules_in_force(FILED_AT) == RULE_IDS


def test_decision_ids_are_deterministic_and_distinguish_revision_pack_and_basis() -> None:
    base = decision_id("ABC-1234567-6", 0, "p1")
    assert base == decision_id("ABC-1234567-6", 0, "p1")
    assert (
        len(
            {
                base,
                decision_id("ABC-1234567-6", 1, "p1"),
                decision_id("ABC-1234567-6", 0, "p2"),
                decision_id("ABC-1234567-6", 0, "p1", "registry:42"),
            }
        )
        == 4
    )


def test_a_replayed_entry_gets_the_same_decision_id(screener: Screener) -> None:
    first = screener.screen(make_entry(), make_ior(), screened_at=FILED_AT)
    again = screener.screen(make_entry(), make_ior(), screened_at=FILED_AT + timedelta(hours=1))
    assert first.decision_id == again.decision_id
    assert screened_event(first).event_id == screened_event(again).event_id


def test_ssn_form_iors_are_masked_with_a_keyed_hash(baseline_pack: RulePack) -> None:
    entry = make_entry(ior_number=SSN_IOR)
    ior = make_ior(ior_number=SSN_IOR)
    keyed = Screener(baseline_pack, ior_hash_key=b"k1").screen(entry, ior, screened_at=FILED_AT)
    assert keyed.ior_number == "***-**-6789"
    assert keyed.ior_number_hash is not None and SSN_IOR not in keyed.ior_number_hash
    other = Screener(baseline_pack, ior_hash_key=b"k2").screen(entry, ior, screened_at=FILED_AT)
    assert other.ior_number_hash != keyed.ior_number_hash
    assert screened_event(keyed).ior_number == "***-**-6789"


def test_reasons_mask_ssn_form_iors(baseline_pack: RulePack) -> None:
    entry = make_entry(ior_number=SSN_IOR)
    decision = Screener(baseline_pack).screen(
        entry, make_ior(ior_number=SSN_IOR, good_standing=False), screened_at=FILED_AT
    )
    assert "IOR ***-**-6789 is not in good standing" in decision.hits[0].reason
    assert all(SSN_IOR not in hit.reason for hit in decision.hits)


def test_a_changed_registry_record_is_re_profiled(screener: Screener) -> None:
    entry = make_entry()
    assert screener.screen(entry, make_ior(), screened_at=FILED_AT).outcome == "release"
    inactive = make_ior(status="inactive")
    assert screener.screen(entry, inactive, screened_at=FILED_AT).outcome == "hold"


def test_new_reference_data_reaches_cached_iors(baseline_pack: RulePack) -> None:
    screener = Screener(baseline_pack)
    ior = make_ior(beneficial_owners=[{"name": "Tarim Cotton", "country": "CN"}])
    assert screener.screen(make_entry(), ior, screened_at=FILED_AT).outcome == "release"
    screener.reference = ReferenceData(watchlist=WatchlistIndex([make_watch()]))
    assert screener.screen(make_entry(), ior, screened_at=FILED_AT).outcome == "seizure_review"


def test_the_audit_event_records_the_decision(screener: Screener) -> None:
    decision = screener.screen(
        make_entry(export_declaration_ref=None), make_ior(), screened_at=FILED_AT
    )
    event = screened_event(decision)
    assert (event.event_type, event.subject, event.decision_id) == (
        "EntryScreened",
        "ABC-1234567-6",
        decision.decision_id,
    )
    assert event.rule_ids == ("EXPORT-DOCS",)

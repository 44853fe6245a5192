"""The rule pack: which rules apply, from when, with what outcome and parameters.

A pack is data (TOML or JSON), validated on load, so policy changes without code: an
asset minimum, the informal limit, the reading of the US-IOR definition, a rule switched
off. The baseline pack for the 2026-06-03 order ships with the package
(``screening/packs/baseline.toml``). Every decision carries the pack's ``version``.
"""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from schemas.decision import Outcome
from schemas.fields import EntryType, PgaCode

BASELINE_PACK = "baseline.toml"


def _as_aware_datetime(value: Any) -> Any:
    # TOML has bare dates; a bare date means the start of that day in UTC.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


EffectiveTime = Annotated[datetime, BeforeValidator(_as_aware_datetime)]
Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
EntryTypes = Annotated[frozenset[EntryType], Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- parameters of each rule ---------------------------------------------------------------


class NoParams(Strict):
    pass


DisclosureName = Literal["import_volume", "ownership", "beneficial_ownership"]


class DisclosureParams(Strict):
    required: Annotated[frozenset[DisclosureName], Field(min_length=1)]


class AssetsParams(Strict):
    """E1: an IOR passes with enough US tangible assets *or* a bond at the raised minimum."""

    min_tangible_assets_usd: Usd
    raised_min_bond_usd: Usd


class BondParams(Strict):
    continuous_floor_usd: Usd = 50_000
    continuous_rate: Share = 0.10
    # A single-transaction bond for goods under other agencies' requirements covers this
    # multiple of the entered value.
    pga_value_multiple: Annotated[float, Field(ge=1, le=10)] = 3
    bond_exempt_entry_types: frozenset[EntryType]


class EntryTypeParams(Strict):
    entry_types: EntryTypes


class CtpatParams(Strict):
    min_tier: Annotated[int, Field(ge=1, le=3)] = 1


class AdcvdParams(Strict):
    adcvd_entry_types: EntryTypes
    # Share of the AD/CVD lines' value the bond must cover beyond value + duties, because
    # the final duty is set years later and may exceed the cash deposit.
    deposit_risk_rate: Annotated[float, Field(ge=0, le=10)]


class DocumentParams(Strict):
    exempt_entry_types: frozenset[EntryType] = frozenset()


class InformalValueParams(Strict):
    entry_types: EntryTypes
    informal_limit_usd: Usd
    formal_only_hts_prefixes: frozenset[Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]]


class WatchlistParams(Strict):
    # Empty means every loaded list.
    lists: frozenset[str] = frozenset()
    require_same_country: bool = True


class StrawIorParams(Strict):
    recent_registration_days: Annotated[int, Field(ge=1, le=3650)]
    volume_multiple: Annotated[float, Field(gt=0)]
    min_entries_30d: Annotated[int, Field(ge=1)]
    fda_pga_codes: Annotated[frozenset[PgaCode], Field(min_length=1)]


class ExamParams(Strict):
    exam_rate: Share


P = TypeVar("P", bound=Strict)


class RuleSettings(Strict, Generic[P]):
    enabled: bool
    effective_from: EffectiveTime
    effective_until: EffectiveTime | None = None
    outcome: Outcome
    citation: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    cure: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    params: P

    def in_force(self, at: datetime) -> bool:
        if not self.enabled or at < self.effective_from:
            return False
        return self.effective_until is None or at < self.effective_until


def _rule(alias: str) -> Any:
    return Field(alias=alias)


class Rules(Strict):
    """One entry per rule of the catalogue; a pack must state every rule explicitly."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    ior_unregistered: RuleSettings[NoParams] = _rule("IOR-UNREGISTERED")
    ior_inactive: RuleSettings[NoParams] = _rule("IOR-INACTIVE")
    ior_voided: RuleSettings[NoParams] = _rule("IOR-VOIDED")
    ior_standing: RuleSettings[NoParams] = _rule("IOR-STANDING")
    ior_disclosure: RuleSettings[DisclosureParams] = _rule("IOR-DISCLOSURE")
    ior_assets: RuleSettings[AssetsParams] = _rule("IOR-ASSETS")
    bond_sufficiency: RuleSettings[BondParams] = _rule("BOND-SUFFICIENCY")
    foreign_informal: RuleSettings[EntryTypeParams] = _rule("FOREIGN-INFORMAL")
    foreign_continuous_bond: RuleSettings[NoParams] = _rule("FOREIGN-CONTINUOUS-BOND")
    foreign_ctpat: RuleSettings[CtpatParams] = _rule("FOREIGN-CTPAT")
    foreign_inbond: RuleSettings[EntryTypeParams] = _rule("FOREIGN-INBOND")
    foreign_adcvd: RuleSettings[AdcvdParams] = _rule("FOREIGN-ADCVD")
    export_docs: RuleSettings[DocumentParams] = _rule("EXPORT-DOCS")
    supply_chain_cert: RuleSettings[DocumentParams] = _rule("SUPPLY-CHAIN-CERT")
    informal_value: RuleSettings[InformalValueParams] = _rule("INFORMAL-VALUE")
    de_minimis_suspended: RuleSettings[EntryTypeParams] = _rule("DE-MINIMIS-SUSPENDED")
    watchlist_match: RuleSettings[WatchlistParams] = _rule("WATCHLIST-MATCH")
    straw_ior: RuleSettings[StrawIorParams] = _rule("STRAW-IOR")
    risk_tier_exam: RuleSettings[ExamParams] = _rule("RISK-TIER-EXAM")

    def by_id(self) -> dict[str, RuleSettings[Any]]:
        return {
            str(info.alias): getattr(self, name) for name, info in type(self).model_fields.items()
        }


RULE_IDS: tuple[str, ...] = tuple(str(info.alias) for info in Rules.model_fields.values())

ClassificationReading = Literal["any_prong_fails", "not_organized_in_us"]


class ClassificationPolicy(Strict):
    """D1. ``any_prong_fails``: the article's reading of the order (failing any prong makes
    an IOR foreign). ``not_organized_in_us``: 19 USC 1641(i)(4)'s "nonresident"."""

    reading: ClassificationReading = "any_prong_fails"
    significant_real_property_usd: Usd


class RiskTierPolicy(Strict):
    """What counts as adverse history (tier 4) and what earns the low tier (tier 1)."""

    adverse_holds_12m: Annotated[int, Field(ge=1)]
    adverse_seizures_12m: Annotated[int, Field(ge=1)]
    low_tier_min_ctpat: Annotated[int, Field(ge=1, le=3)] = 2


class RulePack(Strict):
    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    classification: ClassificationPolicy
    risk_tiers: RiskTierPolicy
    rules: Rules


class RulePackError(ValueError):
    """A pack that cannot be used; the message names the setting and the reason."""


def parse_rule_pack(data: dict[str, Any], source: str = "rule pack") -> RulePack:
    try:
        return RulePack.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        raise RulePackError(f"{source} is not a valid rule pack: {problems}") from None


def read_rule_pack_data(path: Path | None = None) -> dict[str, Any]:
    """The raw pack data: a TOML or JSON file, or the shipped baseline when ``path`` is None."""
    if path is None:
        text = resources.files("screening.packs").joinpath(BASELINE_PACK).read_text("utf-8")
        return tomllib.loads(text)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise RulePackError(f"cannot read rule pack {path}: {error.strerror}") from None
    try:
        if path.suffix == ".json":
            loaded: dict[str, Any] = json.loads(text)
            return loaded
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise RulePackError(f"rule pack {path} is not valid {path.suffix[1:]}: {error}") from None


def load_rule_pack(path: Path | None = None) -> RulePack:
    return parse_rule_pack(read_rule_pack_data(path), str(path or BASELINE_PACK))


def with_overrides(
    data: dict[str, Any],
    *,
    disable: tuple[str, ...] = (),
    settings: tuple[str, ...] = (),
    version_suffix: str = "candidate",
) -> RulePack:
    """A candidate pack: ``data`` with rules switched off and ``RULE.PARAM=VALUE`` changes.

    Values are read as JSON where they parse (numbers, booleans, lists), else as strings.
    The version gains a suffix so decisions under the candidate never pass for the original.
    """
    changed = copy.deepcopy(data)
    rules = changed.setdefault("rules", {})
    for rule_id in disable:
        if rule_id not in RULE_IDS:
            raise RulePackError(f"--disable {rule_id}: no such rule (known: {', '.join(RULE_IDS)})")
        rules.setdefault(rule_id, {})["enabled"] = False
    for setting in settings:
        target, sep, raw = setting.partition("=")
        rule_id, dot, param = target.rpartition(".")
        if not sep or not dot or rule_id not in RULE_IDS:
            raise RulePackError(f"--set {setting}: expected RULE.PARAM=VALUE with a known rule id")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        rule = rules.setdefault(rule_id, {})
        if param in {"enabled", "outcome", "effective_from", "effective_until"}:
            rule[param] = value
        else:
            rule.setdefault("params", {})[param] = value
    if disable or settings:
        changed["version"] = f"{changed.get('version', 'pack')}+{version_suffix}"
    return parse_rule_pack(changed, "candidate rule pack")

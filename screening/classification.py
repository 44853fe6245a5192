"""D1: is an IOR a US IOR or a foreign IOR under the order's definition?

A US IOR is (1) organized under US law, (2) located in the US, and (3) has a controlling
beneficial owner who is a US citizen or permanent resident, or owns significant US real
property. Which prongs failed is always recorded, whichever reading decides the category.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.decision import IorCategory
from schemas.registry import IorRecord
from screening.rulepack import ClassificationPolicy

PRONG_ORGANIZED = "organized_in_us"
PRONG_LOCATED = "located_in_us"
PRONG_CONTROLLING_OWNER = "us_controlling_owner_or_property"
ALL_PRONGS = (PRONG_ORGANIZED, PRONG_LOCATED, PRONG_CONTROLLING_OWNER)
_PRONG_FAILURES = {
    PRONG_ORGANIZED: "not shown to be organized under US law",
    PRONG_LOCATED: "not shown to be located in the US",
    PRONG_CONTROLLING_OWNER: "no US-person controlling owner or significant US real property shown",
}


@dataclass(frozen=True, slots=True)
class Classification:
    category: IorCategory
    failed_prongs: tuple[str, ...]
    reading: str

    @property
    def is_foreign(self) -> bool:
        return self.category == "foreign"

    @property
    def description(self) -> str:
        if not self.failed_prongs:
            return "meets every prong of the US-IOR test"
        return "; ".join(_PRONG_FAILURES[p] for p in self.failed_prongs)


def failed_prongs(ior: IorRecord, policy: ClassificationPolicy) -> tuple[str, ...]:
    """The prongs the registry does not show as met (unknown counts as not shown)."""
    failed = []
    if ior.organized_in_us is not True:
        failed.append(PRONG_ORGANIZED)
    if ior.located_in_us is not True:
        failed.append(PRONG_LOCATED)
    owns_property = (ior.us_real_property_usd or 0) >= policy.significant_real_property_usd
    if ior.controlling_owner_us_person is not True and not owns_property:
        failed.append(PRONG_CONTROLLING_OWNER)
    return tuple(failed)


def classify(ior: IorRecord | None, policy: ClassificationPolicy) -> Classification:
    if ior is None:
        # Nothing is shown for an IOR the registry does not know.
        return Classification("foreign", ALL_PRONGS, policy.reading)
    failed = failed_prongs(ior, policy)
    # The narrow reading counts only organization under US law.
    foreign = bool(failed) if policy.reading == "any_prong_fails" else PRONG_ORGANIZED in failed
    return Classification("foreign" if foreign else "us", failed, policy.reading)

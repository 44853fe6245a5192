"""Entity-list matching: manufacturers, shippers and beneficial owners against loaded lists.

Names are compared in a normal form: accents folded, case and punctuation dropped, legal-form
words (Co., Ltd., GmbH, ...) removed and the remaining words sorted, so that
"Shenzhen Widget Co., Ltd." and "WIDGET SHENZHEN LIMITED" meet. A match also needs the same
country when both sides state one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from schemas.reference import WatchlistRecord

LEGAL_FORM_WORDS: Final = frozenset(
    [
        "AB",
        "AG",
        "AS",
        "BV",
        "CO",
        "COMPANY",
        "CORP",
        "CORPORATION",
        "CJSC",
        "GMBH",
        "INC",
        "INCORPORATED",
        "JSC",
        "KG",
        "KK",
        "LIMITED",
        "LLC",
        "LLP",
        "LP",
        "LTD",
        "NV",
        "OJSC",
        "OOO",
        "OY",
        "PJSC",
        "PLC",
        "PRIVATE",
        "PTE",
        "PTY",
        "PUBLIC",
        "PVT",
        "SA",
        "SARL",
        "SAS",
        "SDN",
        "BHD",
        "SPA",
        "SRL",
        "THE",
        "ZAO",
    ]
)
_NON_WORD = re.compile(r"[^A-Z0-9]+")
_CACHE_LIMIT: Final = 200_000


def normalize_name(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    words = _NON_WORD.sub(" ", ascii_only.replace("&", " AND ")).split()
    kept = sorted({w for w in words if w not in LEGAL_FORM_WORDS})
    return " ".join(kept)


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    record: WatchlistRecord
    matched_name: str


class WatchlistIndex:
    """Loaded list entries by normalised name and alias.

    A lookup is a dictionary hit, and its result is remembered per name and country,
    because feeds repeat the same manufacturers endlessly; the memory is bounded.
    """

    def __init__(self, records: Iterable[WatchlistRecord] = ()) -> None:
        self._by_key: dict[str, list[WatchlistMatch]] = {}
        self._memo: dict[
            tuple[str, str | None, frozenset[str], bool], tuple[WatchlistMatch, ...]
        ] = {}
        self.records: tuple[WatchlistRecord, ...] = tuple(records)
        for record in self.records:
            for name in (record.name, *record.aliases):
                key = normalize_name(name)
                if key:
                    self._by_key.setdefault(key, []).append(WatchlistMatch(record, name))

    @property
    def size(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:
        return bool(self.records)

    def match(
        self,
        name: str,
        country: str | None,
        lists: frozenset[str] = frozenset(),
        require_same_country: bool = True,
    ) -> tuple[WatchlistMatch, ...]:
        memo_key = (name, country, lists, require_same_country)
        found = self._memo.get(memo_key)
        if found is None:
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            found = self._memo[memo_key] = self._lookup(name, country, lists, require_same_country)
        return found

    def _lookup(
        self, name: str, country: str | None, lists: frozenset[str], require_same_country: bool
    ) -> tuple[WatchlistMatch, ...]:
        candidates = self._by_key.get(normalize_name(name), ())
        return tuple(
            c
            for c in candidates
            if (not lists or c.record.list in lists)
            and (
                not require_same_country
                or country is None
                or c.record.country is None
                or c.record.country == country
            )
        )

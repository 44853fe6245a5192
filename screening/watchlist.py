"""Entity-list matching: manufacturers, shippers and beneficial owners against loaded lists.

Names are compared in normal forms: accents folded, case and punctuation dropped, legal-form
words (Co., Ltd., GmbH, ...) removed, older romanisations of Chinese place names replaced
by pinyin (Sinkiang -> Xinjiang), and then either the words sorted (so word order does not
matter: "Daqo New Energy Xinjiang") or the words run together (so spacing does not:
"Shen Zhen" and "Shenzhen"). A listed name is also indexed without its parenthesised part
("Hoshine Silicon Industry (Shanshan)"). A match also needs the same country when both
sides state one. Precision and recall on a labelled set of near misses are measured by
``bench/watchlist_precision.py``.
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
# Postal and Wade-Giles spellings still found on shipping documents, and their pinyin.
ROMANISATIONS: Final = {
    "PEKING": "BEIJING",
    "CANTON": "GUANGZHOU",
    "SINKIANG": "XINJIANG",
    "TIENTSIN": "TIANJIN",
    "NANKING": "NANJING",
    "AMOY": "XIAMEN",
    "SOOCHOW": "SUZHOU",
    "HANGCHOW": "HANGZHOU",
    "TSINGTAO": "QINGDAO",
    "CHUNGKING": "CHONGQING",
    "SIAN": "XIAN",
    "SHENCHEN": "SHENZHEN",
}
_NON_WORD = re.compile(r"[^A-Z0-9]+")
_PARENTHESISED = re.compile(r"\([^)]*\)")
_CACHE_LIMIT: Final = 200_000


def _words(name: str) -> list[str]:
    if name.isascii():  # nearly always: skip the accent folding
        ascii_only = name.upper()
    else:
        folded = unicodedata.normalize("NFKD", name)
        ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    words = _NON_WORD.sub(" ", ascii_only.replace("&", " AND ")).split()
    return [ROMANISATIONS.get(w, w) for w in words if w not in LEGAL_FORM_WORDS]


def _sorted_key(words: list[str]) -> str:
    return " ".join(sorted(set(words)))


def _compact_key(words: list[str]) -> str:
    return "#" + "".join(words)


def normalize_name(name: str) -> str:
    """The words of the name, sorted: word order does not matter."""
    return _sorted_key(_words(name))


def compact_name(name: str) -> str:
    """The words of the name run together: spacing does not matter."""
    return _compact_key(_words(name))


def name_keys(name: str) -> set[str]:
    """Every normal form a listed name is indexed under."""
    variants = {name, _PARENTHESISED.sub(" ", name)}
    return {key for v in variants for key in (normalize_name(v), compact_name(v)) if key.strip("#")}


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
                for key in name_keys(name):
                    matches = self._by_key.setdefault(key, [])
                    if all(m.record is not record for m in matches):
                        matches.append(WatchlistMatch(record, name))

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
        words = _words(name)
        by_key = self._by_key
        candidates: list[WatchlistMatch] = (
            by_key.get(_sorted_key(words)) or by_key.get(_compact_key(words)) or []
        )
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

"""Entity lists in their public formats, turned into watchlist records.

* The UFLPA Entity List is published by DHS's Forced Labor Enforcement Task Force as web
  pages and Federal Register notices, not as a data file; operators keep it as a CSV with
  the columns ``name,aliases,country,date_added,notice`` (aliases separated by ``;``).
  ``tests/data/uflpa_entity_list_sample.csv`` holds ten entities of the first list.
* The Consolidated Screening List (Commerce, State and Treasury export-control and sanctions
  lists) is a free bulk JSON download from trade.gov's data services (``results``: one
  object per listed party with ``id``, ``name``, ``alt_names``, ``addresses``, ``source``);
  ``tests/data/csl_sample.json`` holds a few parties in that shape.

Each listed party becomes a :class:`~schemas.reference.WatchlistRecord` with the list's
short name (UFLPA, EL, SDN, MEU, ...) and, where the list gives one, the party's country.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from schemas.formats import ISO_COUNTRIES
from schemas.reference import WatchlistRecord

_SOURCE_CODE = re.compile(r"\(([A-Z0-9-]{2,12})\)")


def _stable_id(prefix: str, name: str) -> str:
    return f"{prefix}-{hashlib.blake2b(name.upper().encode(), digest_size=5).hexdigest()}"


def _country(value: Any) -> str | None:
    text = str(value or "").strip().upper()
    return text if text in ISO_COUNTRIES else None


def read_uflpa_csv(path: Path) -> list[WatchlistRecord]:
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["name"].strip()
            if not name:
                continue
            aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
            records.append(
                WatchlistRecord(
                    id=_stable_id("UFLPA", name),
                    list="UFLPA",
                    name=name,
                    country=_country(row.get("country")),
                    aliases=aliases,
                )
            )
    return records


def read_csl_json(path: Path) -> list[WatchlistRecord]:
    data = json.loads(path.read_text(encoding="utf-8"))
    records = []
    for party in data.get("results", data if isinstance(data, list) else []):
        name = (party.get("name") or "").strip()
        if not name:
            continue
        source = party.get("source") or ""
        code = _SOURCE_CODE.search(source)
        addresses = party.get("addresses") or []
        countries = {_country(a.get("country")) for a in addresses} - {None}
        address = addresses[0] if addresses else {}
        line = ", ".join(str(address[k]) for k in ("address", "city") if address.get(k))
        records.append(
            WatchlistRecord(
                id=str(party.get("id") or _stable_id("CSL", name))[:64],
                list=code.group(1) if code else "CSL",
                name=name[:200],
                # A party listed at addresses in several countries matches in any of them.
                country=countries.pop() if len(countries) == 1 else None,
                aliases=tuple(str(a)[:200] for a in (party.get("alt_names") or ())[:100]),
                address=line[:300] or None,
            )
        )
    return records


READERS = {"uflpa": read_uflpa_csv, "csl": read_csl_json}

"""Factories for valid messages: a compliant US entry and IOR, changed by keyword overrides.

The defaults describe an entry every rule of the baseline pack releases, so a test that
changes one thing sees exactly that thing's effect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord

FILED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
US_IOR = "12-3456789AB"
FOREIGN_IOR = "245301-00042"
SSN_IOR = "123-45-6789"


def entry_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "entry_number": "ABC-1234567-6",
        "entry_type": "01",
        "filed_at": FILED_AT.isoformat(),
        "port_code": "2704",
        "ior_number": US_IOR,
        "broker_filer_code": "B01",
        "bond": {"type": "8", "amount_usd": 100_000, "surety_code": "457"},
        "entered_value_usd": 10_000.0,
        "duties_taxes_fees_usd": 1_500.0,
        "export_declaration_ref": "CN-EXP-2026-000123",
        "supply_chain_cert_ref": "SCC-000456",
        "lines": [
            {
                "line_number": 1,
                "hts": "6109.10.0012",
                "country_of_origin": "VN",
                "entered_value_usd": 10_000.0,
                "manufacturer_id": "VNGOLTEX12HAN",
                "manufacturer_name": "Golden Textile Co., Ltd.",
            }
        ],
    }
    data.update(overrides)
    return data


def make_entry(**overrides: Any) -> EntryFiling:
    return EntryFiling.model_validate(entry_data(**overrides))


def make_line(**overrides: Any) -> dict[str, Any]:
    line = dict(entry_data()["lines"][0])
    line.update(overrides)
    return line


def ior_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ior_number": US_IOR,
        "name": "Harbor Goods Inc.",
        "status": "active",
        "registered_at": "2015-03-02T00:00:00Z",
        "organized_in_us": True,
        "located_in_us": True,
        "controlling_owner_us_person": True,
        "us_real_property_usd": 0,
        "tangible_domestic_assets_usd": 750_000,
        "good_standing": True,
        "disclosures": {"import_volume": True, "ownership": True, "beneficial_ownership": True},
        "ctpat_tier": 2,
        "continuous_bond": {"amount_usd": 100_000, "foreign_exception_granted": False},
        "duties_paid_12m_usd": 400_000,
        "expected_entries_per_year": 500,
        "last_entry_at": "2026-11-20T00:00:00Z",
        "beneficial_owners": [{"name": "Dana Smith", "country": "US"}],
    }
    data.update(overrides)
    return data


def make_ior(**overrides: Any) -> IorRecord:
    return IorRecord.model_validate(ior_data(**overrides))


def make_foreign_ior(**overrides: Any) -> IorRecord:
    base = {
        "ior_number": FOREIGN_IOR,
        "name": "Shenzhen Harbor Trading Co., Ltd.",
        "organized_in_us": False,
        "located_in_us": False,
        "controlling_owner_us_person": False,
        "ctpat_tier": 0,
        "beneficial_owners": [{"name": "Li Wei", "country": "CN"}],
        "continuous_bond": {"amount_usd": 100_000, "foreign_exception_granted": True},
    }
    base.update(overrides)
    return make_ior(**base)


def make_broker(**overrides: Any) -> BrokerRecord:
    data: dict[str, Any] = {"filer_code": "B01", "name": "Pier Brokerage LLC", "ctpat_tier": 0}
    data.update(overrides)
    return BrokerRecord.model_validate(data)


def make_watch(**overrides: Any) -> WatchlistRecord:
    data: dict[str, Any] = {
        "id": "UFLPA-0001",
        "list": "UFLPA",
        "name": "Tarim Basin Cotton Processing Co., Ltd.",
        "country": "CN",
        "aliases": ["Tarim Cotton"],
    }
    data.update(overrides)
    return WatchlistRecord.model_validate(data)

"""EntryFiling: one entry as the filer transmitted it (topic ``entries.filed``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from schemas.base import Message
from schemas.fields import (
    AdcvdCase,
    Address,
    Country,
    EntryNumber,
    EntryType,
    FilerCode,
    HtsNumber,
    IorNumber,
    ManufacturerId,
    Money,
    Name,
    PgaCode,
    PortCode,
    Reference,
    SuretyCode,
    Time,
)

MAX_LINES = 999

# FD1-FD4 flag goods that FDA regulates.
FDA_PGA_CODES = frozenset({"FD1", "FD2", "FD3", "FD4"})


class Bond(Message):
    """The bond the entry is filed under: 8 continuous, 9 single transaction, 0 none."""

    type: Literal["0", "8", "9"]
    amount_usd: Money
    surety_code: SuretyCode | None = None


class EntryLine(Message):
    line_number: Annotated[int, Field(ge=1, le=MAX_LINES)]
    hts: HtsNumber
    country_of_origin: Country
    entered_value_usd: Money
    manufacturer_id: ManufacturerId | None = None
    manufacturer_name: Name | None = None
    manufacturer_address: Address | None = None
    adcvd_case: AdcvdCase | None = None
    pga_codes: Annotated[tuple[PgaCode, ...], Field(max_length=20)] = ()


class EntryFiling(Message):
    """An entry summary as filed. ``revision`` counts amendments of the same entry."""

    entry_number: EntryNumber
    entry_type: EntryType
    filed_at: Time
    port_code: PortCode
    ior_number: IorNumber
    broker_filer_code: FilerCode | None = None
    bond: Bond | None = None
    entered_value_usd: Money
    duties_taxes_fees_usd: Money | None = None
    export_declaration_ref: Reference | None = None
    supply_chain_cert_ref: Reference | None = None
    lines: Annotated[tuple[EntryLine, ...], Field(min_length=1, max_length=MAX_LINES)]
    # Optional additions to contract version 1.
    revision: Annotated[int, Field(ge=0, le=999)] = 0
    shipper_name: Name | None = None
    shipper_country: Country | None = None

    @field_validator("lines")
    @classmethod
    def _line_numbers_are_unique(cls, lines: tuple[EntryLine, ...]) -> tuple[EntryLine, ...]:
        if len(lines) > 1 and len({line.line_number for line in lines}) != len(lines):
            raise ValueError("line_number values must be unique within the entry")
        return lines

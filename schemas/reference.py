"""Reference data: customs brokers (``reference.brokers``) and entity lists
(``reference.watchlist``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from schemas.base import Message
from schemas.fields import Address, Country, FilerCode, Name
from schemas.registry import CtpatTier

WatchlistId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ListName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.-]{1,40}$")]


class BrokerRecord(Message):
    """A licensed customs broker; CTPAT status is attested reference data (no public list)."""

    filer_code: FilerCode
    name: Name
    ctpat_tier: CtpatTier = 0


class WatchlistRecord(Message):
    """One entity of a loaded list (UFLPA Entity List, Consolidated Screening List, ...)."""

    id: WatchlistId
    list: ListName
    name: Name
    country: Country | None = None
    aliases: Annotated[tuple[Name, ...], Field(max_length=100)] = ()
    address: Address | None = None

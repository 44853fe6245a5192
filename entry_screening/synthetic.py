"""Synthetic but realistic data: an IOR registry, brokers, an entity list and an entry feed.

The mix follows the post-de-minimis parcel flow: many foreign platform IORs filing informal
type 11 entries, US importers filing formal entries under continuous bonds, AD/CVD and
in-bond entries, a few straw IORs filing FDA-regulated goods far above their declared pace,
missing documents and entity-list hits. Everything is drawn from one seeded ``Random``, so
a seed always gives the same files. Records are plain dicts written with orjson: a million
IORs must be quick to make.
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from schemas.formats import build_mid, entry_number_from_parts
from screening.bonds import continuous_bond_required, single_transaction_required

DEFAULT_START: Final = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

# HTS numbers with what they are; FDA-regulated goods carry FD codes, AD/CVD goods a case.
_GOODS: Final[tuple[tuple[str, str, tuple[str, ...], str | None], ...]] = (
    ("6109.10.0012", "cotton T-shirts", (), None),
    ("6110.20.2079", "cotton sweaters", (), None),
    ("8517.13.0000", "smartphones", (), None),
    ("8471.30.0100", "laptops", (), None),
    ("9503.00.0073", "toys", (), None),
    ("6404.11.9020", "sports footwear", (), None),
    ("4202.92.3131", "travel bags", (), None),
    ("9403.60.8081", "wooden furniture", (), None),
    ("8516.31.0000", "hair dryers", (), None),
    ("8507.60.0020", "lithium-ion batteries", (), None),
    ("3926.90.9985", "plastic articles", (), None),
    ("9004.10.0000", "sunglasses", (), None),
    ("3304.99.5000", "cosmetics", ("FD1",), None),
    ("2106.90.9998", "food preparations", ("FD2",), None),
    ("0901.21.0000", "roasted coffee", ("FD2",), None),
    ("3004.90.9290", "medicaments", ("FD3",), None),
    ("9018.90.8000", "medical instruments", ("FD4",), None),
    ("7306.30.5028", "steel pipe", (), "A570935001"),
    ("4412.33.0620", "hardwood plywood", (), "A570051002"),
    ("8541.42.0010", "solar cells", (), "C570980003"),
)
_FDA_GOODS: Final = tuple(g for g in _GOODS if g[2])
_PLAIN_GOODS: Final = tuple(g for g in _GOODS if not g[2] and g[3] is None)
_ADCVD_GOODS: Final = tuple(g for g in _GOODS if g[3] is not None)
_SECTION_301_HTS: Final = "9903.88.0300"

_ORIGINS: Final = (
    ("CN", 45),
    ("VN", 12),
    ("MX", 8),
    ("IN", 6),
    ("DE", 5),
    ("KR", 4),
    ("TW", 4),
    ("JP", 3),
    ("TH", 3),
    ("BD", 3),
    ("IT", 3),
    ("TR", 2),
    ("MY", 2),
)
_CITIES: Final = {
    "CN": ("Shenzhen", "Guangzhou", "Ningbo", "Yiwu", "Dongguan", "Xiamen"),
    "VN": ("Ho Chi Minh City", "Hanoi", "Haiphong"),
    "MX": ("Monterrey", "Tijuana", "Guadalajara"),
    "IN": ("Mumbai", "Chennai", "Tiruppur"),
    "DE": ("Hamburg", "Stuttgart", "Munich"),
    "KR": ("Busan", "Incheon"),
    "TW": ("Taichung", "Taoyuan"),
    "JP": ("Osaka", "Nagoya"),
    "TH": ("Bangkok", "Chonburi"),
    "BD": ("Dhaka", "Chittagong"),
    "IT": ("Milan", "Prato"),
    "TR": ("Istanbul", "Bursa"),
    "MY": ("Penang", "Johor Bahru"),
}
_NAME_WORDS: Final = (
    "Golden",
    "Bright",
    "Ocean",
    "Harbor",
    "Summit",
    "Pioneer",
    "Lotus",
    "Crystal",
    "Evergreen",
    "Silver",
    "Eastern",
    "Northern",
    "Jade",
    "Phoenix",
    "Horizon",
    "Maple",
    "Rapid",
    "Unity",
    "Prime",
    "Star",
    "River",
    "Sunrise",
    "Orchid",
    "Falcon",
    "Harmony",
    "Vertex",
    "Coral",
)
_TRADES: Final = (
    "Textile",
    "Electronics",
    "Garment",
    "Industrial",
    "Trading",
    "Technology",
    "Manufacturing",
    "Household",
    "Footwear",
    "Plastics",
    "Furniture",
    "Cosmetics",
    "Foods",
    "Metal",
)
_FORMS: Final = ("Co., Ltd.", "Limited", "Co. Ltd", "Manufacturing Co.", "Industries Ltd.")

# Fictional entity-list entries (names invented for tests; real lists load through `load`).
_WATCHLIST: Final[tuple[tuple[str, str, str, tuple[str, ...]], ...]] = (
    ("UFLPA", "Tarim Basin Cotton Processing Co., Ltd.", "CN", ("Tarim Cotton",)),
    ("UFLPA", "Kashgar Northwest Polysilicon Co., Ltd.", "CN", ("NW Polysilicon",)),
    ("UFLPA", "Aksu Harvest Textile Group", "CN", ()),
    ("UFLPA", "Hotan Silkroad Apparel Co., Ltd.", "CN", ("Silkroad Apparel",)),
    ("UFLPA", "Turpan Redstone Tomato Products Co.", "CN", ()),
    ("UFLPA", "Karamay Deepsand Aluminium Co., Ltd.", "CN", ()),
    ("UFLPA", "Korla Bluewater Fiber Co., Ltd.", "CN", ()),
    ("UFLPA", "Yining Whitepeak Garment Co., Ltd.", "CN", ()),
    ("SDN", "Volga Delta Machinery LLC", "RU", ("Volga Delta Mash",)),
    ("SDN", "Caspian Shoreline Trading Company", "IR", ()),
    ("EL", "Pearl River Microelectronics Research Institute", "CN", ("PRMRI",)),
    ("EL", "Eastern Lattice Semiconductor Co., Ltd.", "CN", ()),
    ("EL", "Novaya Orbita Avionics JSC", "RU", ()),
    ("MEU", "Northgate Aerospace Components Co.", "CN", ()),
)
_OWNER_FIRST: Final = ("James", "Maria", "Wei", "Anna", "Rahul", "Sofia", "Kenji", "Laura")
_OWNER_LAST: Final = ("Smith", "Garcia", "Chen", "Novak", "Patel", "Rossi", "Tanaka", "Weber")


@dataclass(frozen=True)
class FeedSpec:
    iors: int = 2_000
    entries: int = 10_000
    seed: int = 7
    start: datetime = DEFAULT_START
    span: timedelta = timedelta(hours=24)
    malformed: int = 0
    brokers: int = 40


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _company_name(rng: random.Random, country: str) -> str:
    city = rng.choice(_CITIES.get(country, ("Metro",)))
    word = rng.choice(_NAME_WORDS)
    return f"{city.split()[0]} {word} {rng.choice(_TRADES)} {rng.choice(_FORMS)}"


class _Names:
    """Manufacturers per origin country, each with a stable MID."""

    def __init__(self, rng: random.Random, per_country: int = 60) -> None:
        self.by_country: dict[str, list[tuple[str, str, str]]] = {}
        for country, _ in _ORIGINS:
            pool = []
            for _ in range(per_country):
                name = _company_name(rng, country)
                street = f"{rng.randint(1, 9999)} {rng.choice(_NAME_WORDS)} Road"
                city = rng.choice(_CITIES[country])
                pool.append((name, f"{street}, {city}", build_mid(country, name, street, city)))
            self.by_country[country] = pool


# --- reference data ------------------------------------------------------------------------


def brokers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.digits, k=2)))
    return [
        {
            "filer_code": code,
            "name": f"{rng.choice(_NAME_WORDS)} Customs Brokerage {rng.choice(['Inc.', 'LLC'])}",
            "ctpat_tier": rng.choice([0, 0, 0, 1, 2, 3]),
        }
        for code in sorted(codes)
    ]


def watchlist() -> list[dict[str, Any]]:
    return [
        {
            "id": f"{list_name}-{number:04d}",
            "list": list_name,
            "name": name,
            "country": country,
            "aliases": list(aliases),
        }
        for number, (list_name, name, country, aliases) in enumerate(_WATCHLIST, start=1)
    ]


def watchlist_variant(rng: random.Random, name: str) -> str:
    """How a listed name shows up on an entry: other case, suffix or punctuation."""
    base = name.replace(", Ltd.", "").replace(" Co.", "").replace(" LLC", "")
    return rng.choice([name, name.upper(), f"{base} Limited", f"{base}, Co. Ltd", base.lower()])


# --- the registry --------------------------------------------------------------------------

# (profile, weight, how many entries it files relative to others)
_PROFILES: Final = (
    ("us_compliant", 45, 1.0),
    ("us_gaps", 10, 0.6),
    ("us_individual", 5, 0.2),
    # Platforms and marketplace sellers file the former de minimis parcel flow: millions a
    # day against about 100k entry summaries, so they dominate any e-commerce feed.
    ("foreign_platform", 25, 6.0),
    ("foreign_compliant", 8, 1.2),
    ("adverse", 3, 0.6),
    ("inactive", 2, 0.05),
    ("sanctioned", 1, 0.05),
    ("straw", 1, 3.0),
)


def _ein(rng: random.Random) -> str:
    suffix_chars = "0123456789ABCDEFGHJKLMNPQRSTUVWXY"
    suffix = "00" if rng.random() < 0.8 else "".join(rng.choices(suffix_chars, k=2))
    return f"{rng.randint(10, 99)}-{rng.randint(0, 9_999_999):07d}{suffix}"


def _ssn(rng: random.Random) -> str:
    area = rng.randint(1, 899)
    if area == 666:
        area = 667
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _cbp_assigned(rng: random.Random, start: datetime) -> str:
    year = rng.randint(15, start.year % 100)
    return (
        f"{year:02d}{rng.randint(10, 59):02d}{rng.randint(1, 99):02d}-{rng.randint(0, 99999):05d}"
    )


@dataclass(frozen=True)
class RegisteredIor:
    record: dict[str, Any]
    profile: str
    volume: float


def _ior_record(
    rng: random.Random, profile: str, start: datetime, number: str, owner_hits: list[str]
) -> dict[str, Any]:
    us = profile.startswith("us") or profile in {"adverse", "inactive", "sanctioned"}
    individual = profile == "us_individual"
    registered = start - timedelta(days=rng.randint(400, 6000))
    if profile == "straw":
        registered = start - timedelta(days=rng.randint(10, 90))
    duties = round(rng.uniform(5_000, 2_500_000), 2)
    if individual:
        name = f"{rng.choice(_OWNER_FIRST)} {rng.choice(_OWNER_LAST)}"
    elif us:
        name = f"{rng.choice(_NAME_WORDS)} {rng.choice(_TRADES)} {rng.choice(['Inc.', 'LLC'])}"
    else:
        name = _company_name(rng, "CN")
    record: dict[str, Any] = {
        "ior_number": number,
        "name": name,
        "status": "active",
        "registered_at": _iso(registered),
        "organized_in_us": us,
        "located_in_us": us,
        "controlling_owner_us_person": us,
        "us_real_property_usd": round(rng.uniform(0, 3_000_000), 2) if us else 0.0,
        "tangible_domestic_assets_usd": round(rng.uniform(150_000, 8_000_000), 2) if us else 0.0,
        "good_standing": True,
        "standing_issues": [],
        "disclosures": {"import_volume": True, "ownership": True, "beneficial_ownership": True},
        "ctpat_tier": rng.choice([0, 0, 1, 2, 3]) if us else 0,
        "continuous_bond": None,
        "duties_paid_12m_usd": duties,
        "expected_entries_per_year": rng.choice([50, 200, 1_000, 5_000, 20_000]),
        "last_entry_at": _iso(start - timedelta(days=rng.randint(1, 60))),
        "beneficial_owners": [
            {
                "name": f"{rng.choice(_OWNER_FIRST)} {rng.choice(_OWNER_LAST)}",
                "country": "US" if us else "CN",
            }
        ],
        "confidentiality_expires_at": None,
        "company_type": "individual" if individual else rng.choice(["corporation", "llc"]),
        "country": "US" if us else "CN",
    }
    if not individual and profile != "straw":
        record["continuous_bond"] = {
            "amount_usd": continuous_bond_required(duties),
            "foreign_exception_granted": profile == "foreign_compliant",
        }
    if individual:
        record["tangible_domestic_assets_usd"] = round(rng.uniform(0, 150_000), 2)
        record["expected_entries_per_year"] = rng.choice([2, 6, 12])
    if profile == "us_gaps":
        gap = rng.choice(["disclosure", "standing_unknown", "assets", "bond_low"])
        if gap == "disclosure":
            record["disclosures"]["beneficial_ownership"] = False
        elif gap == "standing_unknown":
            del record["good_standing"]
        elif gap == "assets":
            record["tangible_domestic_assets_usd"] = round(rng.uniform(0, 90_000), 2)
            record["continuous_bond"]["amount_usd"] = 50_000.0
            record["duties_paid_12m_usd"] = round(rng.uniform(1_000, 400_000), 2)
        else:
            record["continuous_bond"]["amount_usd"] = max(
                50_000.0, continuous_bond_required(duties) - 100_000
            )
            record["duties_paid_12m_usd"] = round(rng.uniform(1_500_000, 3_000_000), 2)
    elif profile == "foreign_platform":
        record["located_in_us"] = rng.random() < 0.1
        record["disclosures"]["beneficial_ownership"] = rng.random() < 0.7
        record["expected_entries_per_year"] = rng.choice([10_000, 100_000, 500_000])
    elif profile == "foreign_compliant":
        record["ctpat_tier"] = rng.choice([1, 2])
        record["tangible_domestic_assets_usd"] = round(rng.uniform(150_000, 2_000_000), 2)
    elif profile == "adverse":
        record["good_standing"] = rng.random() < 0.5
        record["standing_issues"] = (
            ["unpaid liquidated damages"] if not record["good_standing"] else []
        )
        record["prior_suspensions"] = rng.choice([0, 1])
        record["holds_12m"] = rng.choice([1, 3, 5])
        record["seizures_12m"] = rng.choice([0, 1, 2])
        if not (
            record["standing_issues"]
            or record["prior_suspensions"]
            or record["holds_12m"] >= 3
            or record["seizures_12m"]
        ):
            record["seizures_12m"] = 1
    elif profile == "inactive":
        record["status"] = "inactive"
        record["last_entry_at"] = _iso(start - timedelta(days=rng.randint(400, 900)))
    elif profile == "sanctioned":
        record["status"] = rng.choice(["voided", "suspended", "debarred"])
    elif profile == "straw":
        record["expected_entries_per_year"] = rng.choice([4, 12, 24])
        record["tangible_domestic_assets_usd"] = 0.0
        record["organized_in_us"] = rng.random() < 0.5
        record["located_in_us"] = record["organized_in_us"]
        record["last_entry_at"] = None
    if owner_hits and rng.random() < 0.01:
        hit = rng.choice(owner_hits)
        record["beneficial_owners"].append({"name": hit, "country": "CN"})
    return record


def registry(rng: random.Random, count: int, start: datetime) -> list[RegisteredIor]:
    owner_hits = [name for list_name, name, country, _ in _WATCHLIST if country == "CN"]
    weights = [w for _, w, _ in _PROFILES]
    used: set[str] = set()
    iors = []
    for _ in range(count):
        profile, _, volume = rng.choices(_PROFILES, weights=weights)[0]
        while True:
            if profile == "us_individual":
                number = _ssn(rng)
            elif profile in {"foreign_platform", "foreign_compliant", "straw"}:
                number = _cbp_assigned(rng, start)
            else:
                number = _ein(rng)
            if number not in used:
                used.add(number)
                break
        record = _ior_record(rng, profile, start, number, owner_hits)
        iors.append(RegisteredIor(record, profile, volume * rng.uniform(0.2, 1.8)))
    return iors


# --- the feed ------------------------------------------------------------------------------

_US_TYPES: Final = (("01", 62), ("11", 20), ("03", 7), ("62", 6), ("86", 3), ("21", 2))
# After the order, foreign sellers shift parcels from informal type 11 to formal type 01.
_FOREIGN_TYPES: Final = (("01", 52), ("11", 36), ("86", 5), ("62", 4), ("03", 3))


class _Feed:
    def __init__(
        self, spec: FeedSpec, iors: list[RegisteredIor], broker_list: list[dict[str, Any]]
    ):
        self.spec = spec
        self.rng = random.Random(spec.seed * 7919 + 1)
        self.iors = iors
        self.cumulative = list(itertools.accumulate(i.volume for i in iors))
        self.brokers = [b["filer_code"] for b in broker_list]
        self.ctpat_brokers = [
            b["filer_code"] for b in broker_list if b["ctpat_tier"]
        ] or self.brokers
        self.names = _Names(self.rng)
        self.serials: dict[str, int] = {}
        self.watch_names = [w[1] for w in _WATCHLIST if w[2] == "CN"]

    def _pick_ior(self) -> RegisteredIor | None:
        if self.rng.random() < 0.01:
            return None  # an IOR the registry does not know
        point = self.rng.random() * self.cumulative[-1]
        return self.iors[bisect.bisect_left(self.cumulative, point)]

    def _entry_number(self, filer: str) -> str:
        serial = self.serials.get(filer, self.rng.randint(0, 500_000)) + 1
        self.serials[filer] = serial
        return entry_number_from_parts(filer, serial % 10_000_000)

    def _line(
        self,
        number: int,
        goods: tuple[str, str, tuple[str, ...], str | None],
        value: float,
        origin: str,
    ) -> dict[str, Any]:
        rng = self.rng
        hts, _, pga, case = goods
        name, address, mid = rng.choice(
            self.names.by_country.get(origin) or self.names.by_country["CN"]
        )
        if origin == "CN" and rng.random() < 0.004:
            name = watchlist_variant(rng, rng.choice(self.watch_names))
        line: dict[str, Any] = {
            "line_number": number,
            "hts": hts,
            "country_of_origin": "CN" if case else origin,
            "entered_value_usd": value,
            "manufacturer_id": mid,
            "manufacturer_name": name,
            "manufacturer_address": address,
        }
        if case:
            line["adcvd_case"] = case
        if pga:
            line["pga_codes"] = list(pga)
        return line

    def entry(self, index: int) -> dict[str, Any]:
        rng = self.rng
        spec = self.spec
        ior = self._pick_ior()
        profile = ior.profile if ior else "unregistered"
        if ior is None:
            ior_number = _cbp_assigned(rng, spec.start)
            foreign = True
        else:
            ior_number = ior.record["ior_number"]
            foreign = not ior.record["organized_in_us"]
        entry_type = _weighted(rng, _FOREIGN_TYPES if foreign else _US_TYPES)
        if profile == "straw":
            entry_type = "01"
        informal = entry_type in {"11", "86"}
        # A parcel (the former de minimis flow) is low-value and has one or two lines
        # whether it is now filed informally or as a formal type 01 entry.
        parcel = informal or profile in {"foreign_platform", "us_individual"}
        line_count = 1 if parcel and rng.random() < 0.85 else rng.randint(1, 2 if parcel else 6)
        lines = []
        for number in range(1, line_count + 1):
            if profile == "straw" or (not parcel and rng.random() < 0.06):
                goods = rng.choice(_FDA_GOODS)
            elif entry_type == "03":
                goods = rng.choice(_ADCVD_GOODS)
            else:
                goods = rng.choice(_PLAIN_GOODS)
            if parcel:
                value = round(rng.uniform(15, 2_400) / line_count, 2)
                if rng.random() < 0.04:
                    value = round(rng.uniform(2_600, 6_000), 2)
            else:
                value = round(rng.uniform(2_000, 120_000), 2)
            lines.append(self._line(number, goods, value, _weighted(rng, _ORIGINS)))
        if informal and rng.random() < 0.01:
            lines[0]["hts"] = _SECTION_301_HTS
        total = round(sum(line["entered_value_usd"] for line in lines), 2)
        duties = round(total * rng.uniform(0.02, 0.35), 2)
        if foreign and rng.random() < 0.6:
            # Foreign sellers increasingly file through CTPAT brokers to meet F3.
            filer = rng.choice(self.ctpat_brokers)
        elif rng.random() < 0.75:
            filer = rng.choice(self.brokers)
        else:
            filer = "S" + ior_number[-2:].replace("-", "0")
        at = spec.start + spec.span * index / max(spec.entries, 1)
        entry: dict[str, Any] = {
            "entry_number": self._entry_number(filer),
            "entry_type": entry_type,
            "filed_at": _iso(at),
            "port_code": rng.choice(["2704", "2720", "4701", "1001", "5301", "3901", "2809"]),
            "ior_number": ior_number,
            "entered_value_usd": total,
            "duties_taxes_fees_usd": duties,
            "lines": lines,
        }
        if not filer.startswith("S"):
            entry["broker_filer_code"] = filer
        if rng.random() > 0.03:
            entry["export_declaration_ref"] = f"EXP-{rng.randint(10**9, 10**10 - 1)}"
        if rng.random() > 0.04:
            entry["supply_chain_cert_ref"] = f"SCC-{rng.randint(10**7, 10**8 - 1)}"
        if entry_type not in {"11", "12", "13", "86"}:
            entry["bond"] = self._bond(ior, total, duties, lines)
        if rng.random() < 0.2:
            origin = lines[0]["country_of_origin"]
            entry["shipper_name"] = _company_name(rng, origin)
            entry["shipper_country"] = origin
        return entry

    def _bond(
        self, ior: RegisteredIor | None, total: float, duties: float, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        rng = self.rng
        surety = f"{rng.randint(1, 999):03d}"
        continuous = ior.record["continuous_bond"] if ior else None
        if continuous is not None and rng.random() < 0.95:
            return {"type": "8", "amount_usd": continuous["amount_usd"], "surety_code": surety}
        pga = any(line.get("pga_codes") for line in lines)
        required = single_transaction_required(total, duties, other_agency_goods=pga)
        cover = 1.1 if rng.random() > 0.03 else 0.8
        return {"type": "9", "amount_usd": round(required * cover, 2), "surety_code": surety}


_MALFORMED_KINDS: Final = (
    "not_json",
    "wrong_type",
    "check_digit",
    "entry_type",
    "negative_money",
    "no_lines",
    "too_many_lines",
    "oversized_string",
    "missing_field",
    "unknown_field",
)


def malformed_line(kind: str, good: dict[str, Any]) -> bytes:
    """One broken line of a given kind, built from a good entry."""
    bad = dict(good)
    if kind == "not_json":
        return b'{"entry_number": "ABC-1234567-6", "entry_type": '
    if kind == "wrong_type":
        bad["entered_value_usd"] = "a lot"
    elif kind == "check_digit":
        number = bad["entry_number"]
        bad["entry_number"] = number[:-1] + str((int(number[-1]) + 1) % 10)
    elif kind == "entry_type":
        bad["entry_type"] = "99"
    elif kind == "negative_money":
        bad["entered_value_usd"] = -12.5
    elif kind == "no_lines":
        bad["lines"] = []
    elif kind == "too_many_lines":
        line = good["lines"][0]
        bad["lines"] = [{**line, "line_number": n} for n in range(1, 1001)]
    elif kind == "oversized_string":
        bad["export_declaration_ref"] = "X" * 5_000
    elif kind == "missing_field":
        del bad["filed_at"]
    elif kind == "unknown_field":
        bad["discount_code"] = "FREESHIP"
    return orjson.dumps(bad)


def feed(
    spec: FeedSpec, iors: list[RegisteredIor], broker_list: list[dict[str, Any]]
) -> Iterator[bytes]:
    """The entry lines, with ``spec.malformed`` broken ones spread evenly through them."""
    maker = _Feed(spec, iors, broker_list)
    broken_at = (
        {spec.entries * (k + 1) // (spec.malformed + 1) for k in range(spec.malformed)}
        if spec.malformed
        else set()
    )
    kinds = itertools.cycle(_MALFORMED_KINDS)
    for index in range(spec.entries):
        entry = maker.entry(index)
        if index in broken_at:
            yield malformed_line(next(kinds), entry)
        else:
            yield orjson.dumps(entry)


@dataclass(frozen=True)
class Dataset:
    registry: Path
    brokers: Path
    watchlist: Path
    entries: Path


def write_dataset(spec: FeedSpec, directory: Path) -> Dataset:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    broker_list = brokers(rng, spec.brokers)
    iors = registry(rng, spec.iors, spec.start)
    paths = Dataset(
        directory / "registry.jsonl",
        directory / "brokers.jsonl",
        directory / "watchlist.jsonl",
        directory / "entries.jsonl",
    )
    _write_jsonl(paths.registry, (orjson.dumps(i.record) for i in iors))
    _write_jsonl(paths.brokers, (orjson.dumps(b) for b in broker_list))
    _write_jsonl(paths.watchlist, (orjson.dumps(w) for w in watchlist()))
    _write_jsonl(paths.entries, feed(spec, iors, broker_list))
    return paths


def _write_jsonl(path: Path, lines: Iterator[bytes]) -> None:
    with path.open("wb") as out:
        for line in lines:
            out.write(line)
            out.write(b"\n")

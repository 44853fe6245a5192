"""The annual transparency report: exact figures from hand-made events, a self-contained page
that a real browser draws, and the generated year of traffic it is tried on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from entry_screening.cli import main
from entry_screening.report import ReportBuilder, render_html
from entry_screening.year_of_traffic import YearSpec, build_year_of_traffic

YEAR = 2027


def event(event_id: str, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "event_type": kind, "subject": "S", "occurred_at": at, **fields}


def screened(
    event_id: str, at: str, outcome: str, rules: list[str], category: str
) -> dict[str, Any]:
    return event(
        event_id,
        "EntryScreened",
        at,
        outcome=outcome,
        rule_ids=rules,
        details={"ior_classification": category, "risk_tier": 2, "trigger": "filed"},
    )


def penalty(
    event_id: str,
    at: str,
    culpability: str,
    amounts: tuple[float, float, float],
    *,
    repeat: bool = False,
    national_security: bool = False,
) -> dict[str, Any]:
    assessed, floor, maximum = amounts
    return event(
        event_id,
        "PenaltyAssessed",
        at,
        details={
            "culpability": culpability,
            "assessed_usd": assessed,
            "floor_usd": floor,
            "max_penalty_usd": maximum,
            "repeat_offender": repeat,
            "national_security": national_security,
        },
    )


HAND_MADE: list[dict[str, Any] | str] = [
    event(
        "pack",
        "RulePackActivated",
        "2027-01-01T00:00:00Z",
        rule_pack_version="eo-2026-06-03.1",
    ),
    screened("s1", "2027-01-05T10:00:00Z", "release", [], "us"),
    screened("s2", "2027-01-20T10:00:00Z", "hold", ["FOREIGN-INFORMAL", "EXPORT-DOCS"], "foreign"),
    screened("s3", "2027-01-31T23:59:59Z", "hold", ["FOREIGN-INFORMAL"], "foreign"),
    screened("s4", "2027-02-01T00:00:00Z", "seizure_review", ["WATCHLIST-MATCH"], "us"),
    # A replay repeats the event id: counted once.
    screened("s2", "2027-01-20T10:00:00Z", "hold", ["FOREIGN-INFORMAL", "EXPORT-DOCS"], "foreign"),
    # Outside the year in UTC (the third is 23:30 on 31 December in UTC).
    screened("s0", "2026-12-31T23:59:59Z", "hold", ["EXPORT-DOCS"], "us"),
    screened("s9", "2028-01-01T00:00:00Z", "hold", ["EXPORT-DOCS"], "us"),
    screened("s8", "2027-01-01T00:30:00+01:00", "hold", ["EXPORT-DOCS"], "us"),
    event("r1", "EntryRescreened", "2027-03-02T08:00:00Z", outcome="release"),
    event(
        "h1", "HoldResolved", "2027-01-21T09:00:00Z", details={"resolution": "cured", "cure": "x"}
    ),
    event("h2", "HoldResolved", "2027-02-02T09:00:00Z", details={"resolution": "refiled_formal"}),
    event(
        "h3", "HoldResolved", "2027-02-10T09:00:00Z", details={"resolution": "seizure_confirmed"}
    ),
    event(
        "h4", "HoldResolved", "2027-02-11T09:00:00Z", details={"resolution": "released_by_officer"}
    ),
    event("e1", "HoldEscalated", "2027-02-03T09:00:00Z", details={"age_hours": 80}),
    event("e2", "HoldEscalated", "2027-03-01T09:00:00Z", details={"age_hours": 100}),
    penalty("p1", "2027-04-01T12:00:00Z", "negligence", (200_000, 100_000, 200_000)),
    penalty("p2", "2027-04-02T12:00:00Z", "fraud", (50_000, 50_000, 80_000), repeat=True),
    penalty(
        "p3",
        "2027-05-03T12:00:00Z",
        "gross_negligence",
        (30_000, 0, 40_000),
        national_security=True,
    ),
    event(
        "c1",
        "ConfidentialityExpiring",
        "2027-05-01T00:00:00Z",
        details={"expires_at": "2027-06-30T00:00:00Z"},
    ),
    event(
        "c2",
        "ConfidentialityExpiring",
        "2027-06-15T00:00:00Z",
        details={"expires_at": "2027-08-14T00:00:00Z"},
    ),
    event(
        "c3",
        "ConfidentialityExpired",
        "2027-06-30T00:00:00Z",
        details={"expires_at": "2027-06-30T00:00:00Z"},
    ),
    event("d1", "IorDeactivated", "2027-07-01T00:00:00Z", details={"last_entry_at": None}),
    # Three lines that are not AuditEvents: not JSON, no event type, a time without a zone.
    "this is not json",
    {"event_id": "x", "subject": "S", "occurred_at": "2027-05-01T00:00:00Z"},
    event("n1", "IorDeactivated", "2027-05-01T00:00:00"),
]


def months(**filled: dict[str, int]) -> dict[str, dict[str, int]]:
    return {f"{YEAR}-{m:02d}": filled.get(f"m{m:02d}", {}) for m in range(1, 13)}


def with_zeros(
    by_month: dict[str, dict[str, int]], keys: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    return {m: {k: row.get(k, 0) for k in keys} for m, row in by_month.items()}


def write_jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def hand_made_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    audit = write_jsonl(tmp_path / "audit.jsonl", HAND_MADE)
    status = main(
        ["report", "--year", str(YEAR), "--out", str(tmp_path / "out"), "--audit", str(audit)]
    )
    err = capsys.readouterr().err
    assert status == 1  # the three refused lines
    assert "audit.jsonl:24: skipped" in err and "audit.jsonl:26: skipped: occurred_at" in err
    assert (tmp_path / "out" / "index.html").is_file()
    report: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text())
    return report


def test_the_source_figures_count_every_event_once_and_only_the_years(
    hand_made_report: dict[str, Any],
) -> None:
    assert hand_made_report["year"] == YEAR
    assert hand_made_report["source"] == {
        "events_read": 23,
        "events_in_year": 19,
        "duplicates_skipped": 1,
        "invalid_lines": 3,
        "incomplete_details": 0,
        "first_event_at": "2027-01-01T00:00:00Z",
        "last_event_at": "2027-07-01T00:00:00Z",
        "events_by_type": {
            "ConfidentialityExpired": 1,
            "ConfidentialityExpiring": 2,
            "EntryRescreened": 1,
            "EntryScreened": 4,
            "HoldEscalated": 2,
            "HoldResolved": 4,
            "IorDeactivated": 1,
            "PenaltyAssessed": 3,
            "RulePackActivated": 1,
        },
    }


def test_the_screening_figures_are_exact(hand_made_report: dict[str, Any]) -> None:
    outcomes = ("release", "hold", "seizure_review")
    assert hand_made_report["screening"] == {
        "decisions": 4,
        "by_outcome": {"release": 1, "hold": 2, "seizure_review": 1},
        "by_month": with_zeros(
            months(m01={"release": 1, "hold": 2}, m02={"seizure_review": 1}), outcomes
        ),
        "rule_hits": {"FOREIGN-INFORMAL": 2, "EXPORT-DOCS": 1, "WATCHLIST-MATCH": 1},
        "by_ior_classification": {
            "us": {"release": 1, "hold": 0, "seizure_review": 1, "total": 2},
            "foreign": {"release": 0, "hold": 2, "seizure_review": 0, "total": 2},
        },
        "rescreenings": 1,
        "rescreenings_by_outcome": {"release": 1, "hold": 0, "seizure_review": 0},
    }


def test_the_hold_and_seizure_review_figures_are_exact(hand_made_report: dict[str, Any]) -> None:
    keys = ("cured", "refiled_formal", "released_by_officer", "seizure_confirmed", "escalated")
    assert hand_made_report["holds"] == {
        "resolved": 4,
        "cured_by_filer": 2,
        "decided_by_officer": 2,
        "by_resolution": {
            "cured": 1,
            "refiled_formal": 1,
            "released_by_officer": 1,
            "seizure_confirmed": 1,
        },
        "escalated": 2,
        "escalation_median_age_hours": 90.0,
        "by_month": with_zeros(
            months(
                m01={"cured": 1},
                m02={
                    "refiled_formal": 1,
                    "seizure_confirmed": 1,
                    "released_by_officer": 1,
                    "escalated": 1,
                },
                m03={"escalated": 1},
            ),
            keys,
        ),
    }
    referred = {m: 0 for m in months()}
    referred[f"{YEAR}-02"] = 1
    assert hand_made_report["seizure_reviews"] == {
        "referred": 1,
        "seizure_confirmed": 1,
        "released_by_officer": 1,
        "referred_by_month": referred,
    }


def test_the_penalty_figures_are_exact(hand_made_report: dict[str, Any]) -> None:
    assert hand_made_report["penalties"] == {
        "cases": 3,
        "assessed_usd": 280_000,
        "floor_usd": 150_000,
        "max_penalty_usd": 320_000,
        "floor_share_of_assessed": 0.5357,
        "by_culpability": {
            "fraud": {
                "cases": 1,
                "assessed_usd": 50_000,
                "floor_usd": 50_000,
                "max_penalty_usd": 80_000,
            },
            "gross_negligence": {
                "cases": 1,
                "assessed_usd": 30_000,
                "floor_usd": 0,
                "max_penalty_usd": 40_000,
            },
            "negligence": {
                "cases": 1,
                "assessed_usd": 200_000,
                "floor_usd": 100_000,
                "max_penalty_usd": 200_000,
            },
        },
        "floors_applied": {"order_floor": 1, "repeat_offender": 1, "national_security": 1},
    }


def test_the_confidentiality_and_registry_figures_are_exact(
    hand_made_report: dict[str, Any],
) -> None:
    assert hand_made_report["confidentiality"] == {
        "expiring_notices": 2,
        "expired": 1,
        "by_month": with_zeros(
            months(m05={"expiring": 1}, m06={"expiring": 1, "expired": 1}),
            ("expiring", "expired"),
        ),
    }
    assert hand_made_report["registry"] == {
        "iors_deactivated": 1,
        "rule_packs_activated": [
            {"version": "eo-2026-06-03.1", "activated_at": "2027-01-01T00:00:00Z"}
        ],
    }


def test_a_clean_input_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = write_jsonl(
        tmp_path / "audit.jsonl", [r for r in HAND_MADE if isinstance(r, dict)][:-2]
    )
    status = main(["report", "--year", str(YEAR), "--out", str(tmp_path), "--audit", str(audit)])
    assert status == 0
    assert "report 2027: 19 events of the year from 23 read (1 repeated" in capsys.readouterr().err


def test_a_report_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--year", "2027", "--out", str(tmp_path)])
    assert exit_info.value.code == 2


def _page(events: list[dict[str, Any]]) -> str:
    builder = ReportBuilder(YEAR, source="test")
    for number, row in enumerate(events, start=1):
        builder.add_line(json.dumps(row).encode(), line=number)
    return render_html(builder.build())


def test_the_page_is_self_contained_and_accessible(tmp_path: Path) -> None:
    page = _page([r for r in HAND_MADE if isinstance(r, dict)])
    for external in ("http://", "https://", "<script", "<link", "<img", "url(", "@import", "//"):
        assert external not in page.lower()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    charts = re.findall(
        r'<svg id="([\w-]+)"[^>]*role="img" aria-labelledby="\1-title \1-desc">'
        r'<title id="\1-title">[^<]+</title><desc id="\1-desc">[^<]+</desc>',
        page,
    )
    assert charts == [
        "chart-outcomes",
        "chart-rules",
        "chart-iors",
        "chart-holds",
        "chart-seizures",
        "chart-penalties",
        "chart-confidentiality",
    ]
    assert page.count("<svg") == len(charts)
    # Every chart has a table of the same figures, with a caption and header cells.
    assert page.count("<caption>") >= len(charts)
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert "Unit: US dollars" in page and "Unit: entries decided at filing" in page


def test_an_empty_year_says_so_instead_of_drawing_empty_charts() -> None:
    page = _page([])
    assert "<svg" not in page
    assert "No entry was screened in 2027." in page
    assert "No penalty was assessed in 2027." in page


def test_text_from_the_events_is_escaped() -> None:
    page = _page([screened("x1", "2027-03-01T00:00:00Z", "hold", ["<b>RULE</b>"], "us")])
    assert "&lt;b&gt;RULE&lt;/b&gt;" in page and "<b>RULE" not in page


# --- the generated year --------------------------------------------------------------------

SMALL_YEAR = YearSpec(year=YEAR, entries=1_500, iors=200, seed=3)


def test_the_generated_year_is_deterministic_and_covers_every_month(tmp_path: Path) -> None:
    first = build_year_of_traffic(tmp_path / "a", SMALL_YEAR)
    second = build_year_of_traffic(tmp_path / "b", SMALL_YEAR)
    assert first.audit.read_bytes() == second.audit.read_bytes()
    assert first.decisions == 1_500
    events = [json.loads(line) for line in first.audit.read_text().splitlines()]
    assert len(events) == first.events
    assert len({e["event_id"] for e in events}) == len(events)
    kinds = Counter(e["event_type"] for e in events)
    for kind in (
        "EntryScreened",
        "HoldResolved",
        "HoldEscalated",
        "PenaltyAssessed",
        "ConfidentialityExpiring",
        "ConfidentialityExpired",
        "IorDeactivated",
        "RulePackActivated",
    ):
        assert kinds[kind] > 0, kind
    screened_months = {e["occurred_at"][:7] for e in events if e["event_type"] == "EntryScreened"}
    assert screened_months == {f"{YEAR}-{m:02d}" for m in range(1, 13)}
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)


def test_the_generated_events_carry_the_documented_details(tmp_path: Path) -> None:
    year = build_year_of_traffic(tmp_path, SMALL_YEAR)
    entries = {
        json.loads(line)["entry_number"]: json.loads(line)
        for line in year.dataset.entries.read_text().splitlines()
    }
    documented = {
        "EntryScreened": {"ior_classification", "risk_tier", "trigger"},
        "HoldResolved": {"resolution", "cure"},
        "HoldEscalated": {"age_hours"},
        "PenaltyAssessed": {
            "culpability",
            "assessed_usd",
            "floor_usd",
            "max_penalty_usd",
            "repeat_offender",
            "national_security",
        },
        "ConfidentialityExpiring": {"expires_at"},
        "ConfidentialityExpired": {"expires_at"},
        "IorDeactivated": {"last_entry_at"},
        "RulePackActivated": set(),
    }
    for line in year.audit.read_text().splitlines():
        e = json.loads(line)
        assert set(e["details"]) == documented[e["event_type"]], e
        if e["event_type"] == "EntryScreened":
            # Screened a second after filing, as the batch form's clock was told.
            filed = datetime.fromisoformat(entries[e["subject"]]["filed_at"])
            assert datetime.fromisoformat(e["occurred_at"]) - filed == timedelta(seconds=1)
        if e["event_type"] == "PenaltyAssessed":
            d = e["details"]
            assert d["floor_usd"] <= d["assessed_usd"] <= d["max_penalty_usd"]
            if not d["national_security"]:
                assert d["floor_usd"] >= d["assessed_usd"] / 2


# --- in a real browser ---------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install -y chromium)",
)
def test_the_page_of_a_generated_year_shows_in_chromium(tmp_path: Path) -> None:
    from PIL import Image

    year = build_year_of_traffic(tmp_path / "year", SMALL_YEAR)
    out = tmp_path / "report"
    assert main(["report", "--year", str(YEAR), "--out", str(out), "--audit", str(year.audit)]) == 0
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            (out / "index.html").as_uri(),
        ],
        capture_output=True,
        check=False,
        # A cold start on a loaded 2-core machine takes a few seconds; a minute is ample.
        timeout=60,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr.decode()[-2000:]
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1280 * 2400) or []
    pixels = Counter({colour: count for count, colour in colours})
    total = sum(pixels.values())
    white = pixels[(255, 255, 255)]
    assert total == 1280 * 2400
    assert (total - white) / total > 0.05, "the page looks blank"
    # The first chart (outcomes by month) is drawn: its release and hold colours fill bars.
    assert pixels[(0x00, 0x44, 0x88)] > 2_000, "no release bars"
    assert pixels[(0xDD, 0xAA, 0x33)] > 2_000, "no hold bars"

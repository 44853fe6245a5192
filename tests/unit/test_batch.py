"""The batch `screen` command: one output line per input line, in order, errors in place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from entry_screening.cli import main
from schemas.audit import AuditEvent, DeadLetter
from schemas.decision import ScreeningDecision
from tests.factories import SSN_IOR, entry_data, ior_data, make_line


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "iors.jsonl", [ior_data(), ior_data(ior_number=SSN_IOR)])


def run_screen(
    capsysbinary: pytest.CaptureFixture[bytes], *args: str
) -> tuple[int, list[Any], str]:
    status = main(["screen", *args])
    captured = capsysbinary.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    return status, rows, captured.err.decode()


def test_every_line_gets_a_decision_in_input_order(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    entries = write_jsonl(
        tmp_path / "e.jsonl",
        [
            entry_data(entry_number="ABC-1234567-6"),
            entry_data(entry_number="ABC-0000001-0", export_declaration_ref=None),
            entry_data(entry_number="ABC-0000002-8", ior_number="99-0000000AB"),
        ],
    )
    status, rows, err = run_screen(capsysbinary, "--registry", str(registry), str(entries))
    assert status == 0
    assert [r["entry_number"] for r in rows] == ["ABC-1234567-6", "ABC-0000001-0", "ABC-0000002-8"]
    assert [r["outcome"] for r in rows] == ["release", "hold", "hold"]
    for row in rows:
        TypeAdapter(ScreeningDecision).validate_python(row)
    assert "screened 3 entries, 0 invalid lines" in err
    assert "EXPORT-DOCS" in err and "IOR-UNREGISTERED" in err


def test_bad_lines_become_error_objects_and_the_rest_is_screened(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    entries = write_jsonl(
        tmp_path / "e.jsonl",
        [
            "this is not json",
            entry_data(entry_number="ABC-1234567-5"),
            entry_data(entered_value_usd="a lot"),
            entry_data(entry_type="99"),
            entry_data(entered_value_usd=-1),
            entry_data(lines=[]),
            entry_data(lines=[make_line(line_number=n % 999 + 1) for n in range(1000)]),
            entry_data(supply_chain_cert_ref="X" * 5000),
            entry_data(),
        ],
    )
    status, rows, err = run_screen(capsysbinary, "--registry", str(registry), str(entries))
    assert status == 1
    errors = [TypeAdapter(DeadLetter).validate_python(r) for r in rows[:-1]]
    assert [e.line for e in errors] == list(range(1, 9))
    assert [e.errors[0].field for e in errors] == [
        "(message)",
        "entry_number",
        "entered_value_usd",
        "entry_type",
        "entered_value_usd",
        "lines",
        "lines",
        "supply_chain_cert_ref",
    ]
    assert errors[0].error_class == "malformed"
    assert rows[-1]["outcome"] == "release"
    assert "screened 1 entries, 8 invalid lines" in err


def test_ssn_iors_are_masked_in_every_output(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    entries = write_jsonl(tmp_path / "e.jsonl", [entry_data(ior_number=SSN_IOR, bond=None)])
    audit = tmp_path / "audit.jsonl"
    _, rows, err = run_screen(
        capsysbinary, "--registry", str(registry), "--audit-out", str(audit), str(entries)
    )
    assert rows[0]["ior_number"] == "***-**-6789"
    assert SSN_IOR not in json.dumps(rows) + err + audit.read_text()


def test_audit_out_writes_one_event_per_decision(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    entries = write_jsonl(tmp_path / "e.jsonl", [entry_data(), "{", entry_data(revision=1)])
    audit = tmp_path / "audit.jsonl"
    _, rows, _ = run_screen(
        capsysbinary, "--registry", str(registry), "--audit-out", str(audit), str(entries)
    )
    events = [
        TypeAdapter(AuditEvent).validate_json(line) for line in audit.read_text().splitlines()
    ]
    assert [e.decision_id for e in events] == [rows[0]["decision_id"], rows[2]["decision_id"]]


def test_as_of_fixes_effective_dates_and_the_screening_time(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    entries = write_jsonl(tmp_path / "e.jsonl", [entry_data(export_declaration_ref=None)])
    _, rows, _ = run_screen(
        capsysbinary, "--registry", str(registry), "--as-of", "2026-08-01T00:00:00Z", str(entries)
    )
    assert rows[0]["outcome"] == "release"  # EXPORT-DOCS starts 2026-09-01
    assert rows[0]["screened_at"] == "2026-08-01T00:00:00Z"


def test_bad_registry_lines_are_reported_and_skipped(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry = write_jsonl(tmp_path / "iors.jsonl", [ior_data(status="dormant"), ior_data()])
    entries = write_jsonl(tmp_path / "e.jsonl", [entry_data()])
    status, rows, err = run_screen(capsysbinary, "--registry", str(registry), str(entries))
    assert status == 1
    assert rows[0]["outcome"] == "release"
    assert "iors.jsonl:1: skipped: status:" in err


def test_a_broken_rule_pack_is_a_usage_error(
    tmp_path: Path, registry: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text('version = "x"\n')
    entries = write_jsonl(tmp_path / "e.jsonl", [entry_data()])
    status, rows, err = run_screen(
        capsysbinary, "--registry", str(registry), "--rule-pack", str(pack), str(entries)
    )
    assert (status, rows) == (2, [])
    assert "not a valid rule pack" in err


def test_the_console_script_reads_standard_input(tmp_path: Path, registry: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entry_screening.cli", "screen", "--registry", str(registry), "-"],
        input=json.dumps(entry_data()).encode() + b"\n",
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "release"

"""19 USC 1592 maximums, the order's 50% mitigation floor (E7) and the `penalty` command."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entry_screening.cli import main
from entry_screening.penalty_commands import CULPABILITY_CHOICES
from schemas import codec
from schemas.audit import AuditEvent
from screening.penalties import (
    CULPABILITIES,
    PenaltyCase,
    PenaltyError,
    assess_penalty,
    liquidated_damages_floor,
    mitigation_floor,
    penalty_assessed_event,
    statutory_maximum,
)

money = st.floats(min_value=0, max_value=1e10, allow_nan=False, allow_infinity=False)
shares = st.floats(min_value=0.5, max_value=1.0)


def test_the_domain_example_negligence_with_100k_lost_and_200k_assessed_floors_at_100k() -> None:
    result = assess_penalty(
        PenaltyCase(
            culpability="negligence",
            loss_of_duty_usd=100_000,
            domestic_value_usd=1_000_000,
            assessed_usd=200_000,
        )
    )
    assert result.max_penalty_usd == 200_000
    assert result.max_penalty_basis == "loss_of_duty_multiple"
    assert result.floor_usd == 100_000
    assert result.floor_rule == "order_floor"
    assert result.mitigation_room_usd == 100_000
    assert result.assessed_usd == 200_000
    assert result.culpability == "negligence"
    text = " ".join(result.reasoning)
    assert "2 × $100,000.00 = $200,000.00" in text
    assert "50% × $200,000.00 = $100,000.00" in text
    assert "at least $100,000.00" in text


@pytest.mark.parametrize(
    ("culpability", "loss", "domestic", "dutiable", "maximum", "basis"),
    [
        # Fraud: the domestic value, whether or not duty was lost.
        ("fraud", 10_000, 500_000, None, 500_000, "domestic_value"),
        ("fraud", 0, 500_000, None, 500_000, "domestic_value"),
        # Gross negligence: lesser of domestic value and 4x the loss; 40% of dutiable if none.
        ("gross_negligence", 50_000, 500_000, None, 200_000, "loss_of_duty_multiple"),
        ("gross_negligence", 50_000, 150_000, None, 150_000, "domestic_value"),
        ("gross_negligence", 0, 500_000, 300_000, 120_000, "dutiable_value_share"),
        # Negligence: lesser of domestic value and 2x the loss; 20% of dutiable if none.
        ("negligence", 50_000, 500_000, None, 100_000, "loss_of_duty_multiple"),
        ("negligence", 50_000, 80_000, None, 80_000, "domestic_value"),
        ("negligence", 0, 500_000, 300_000, 60_000, "dutiable_value_share"),
    ],
)
def test_each_culpability_has_its_statutory_maximum(
    culpability: str,
    loss: float,
    domestic: float,
    dutiable: float | None,
    maximum: float,
    basis: str,
) -> None:
    result = statutory_maximum(
        culpability,
        loss_of_duty_usd=loss,
        domestic_value_usd=domestic,
        dutiable_value_usd=dutiable,
    )
    assert (result.amount_usd, result.basis) == (maximum, basis)
    assert result.reasoning


def test_a_share_of_a_dutiable_value_is_kept_to_the_cent_as_typed() -> None:
    # 20% of $1,000.10 is $200.02, not the binary float 200.02000000000001.
    result = statutory_maximum(
        "negligence", loss_of_duty_usd=0, domestic_value_usd=5_000, dutiable_value_usd=1_000.10
    )
    assert result.amount_usd == 200.02


def test_no_duty_lost_without_a_dutiable_value_is_refused() -> None:
    with pytest.raises(PenaltyError, match="dutiable value is required"):
        statutory_maximum("negligence", loss_of_duty_usd=0, domestic_value_usd=5_000)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss_of_duty_usd": -1.0}, "loss of duty must not be negative"),
        ({"domestic_value_usd": math.nan}, "domestic value must be a finite amount"),
        ({"assessed_usd": math.inf}, "assessed penalty must be a finite amount"),
        ({"assessed_usd": -5.0}, "assessed penalty must not be negative"),
        ({"culpability": "recklessness"}, "culpability 'recklessness' is not one of"),
        ({"assessed_usd": 200_000.01}, "above the statutory maximum of \\$200,000.00"),
    ],
)
def test_unusable_figures_are_refused_with_the_reason(
    overrides: dict[str, object], message: str
) -> None:
    case = {
        "culpability": "negligence",
        "loss_of_duty_usd": 100_000.0,
        "domestic_value_usd": 1_000_000.0,
        "assessed_usd": 150_000.0,
    }
    case.update(overrides)
    with pytest.raises(PenaltyError, match=message):
        assess_penalty(PenaltyCase(**case))  # type: ignore[arg-type]


def test_a_repeat_offender_gets_no_mitigation() -> None:
    result = assess_penalty(PenaltyCase("gross_negligence", 10_000, 90_000, 30_000, None, True))
    assert (result.floor_usd, result.floor_share, result.floor_rule) == (
        30_000,
        1.0,
        "repeat_offender",
    )
    assert result.mitigation_room_usd == 0


def test_a_national_security_case_has_no_floor_even_for_a_repeat_offender() -> None:
    result = assess_penalty(
        PenaltyCase("fraud", 0, 90_000, 30_000, repeat_offender=True, national_security=True)
    )
    assert (result.floor_usd, result.floor_rule) == (0, "national_security")
    assert any("repeat-offender rule is not applied" in r for r in result.reasoning)


def test_the_floor_share_may_be_raised_but_not_lowered_below_the_orders_half() -> None:
    assert mitigation_floor(200_000, floor_share=0.75).floor_usd == 150_000
    with pytest.raises(PenaltyError, match=r"floor share must be between 0\.5 and 1"):
        mitigation_floor(200_000, floor_share=0.4)


def test_the_liquidated_damages_floor_takes_its_share_and_basis_as_parameters() -> None:
    assert liquidated_damages_floor(10_000, share=0.5).floor_usd == 5_000
    # A basis other than the claim, capped at the claim.
    assert liquidated_damages_floor(10_000, share=0.3, basis_usd=20_000).floor_usd == 6_000
    assert liquidated_damages_floor(10_000, share=0.9, basis_usd=20_000).floor_usd == 10_000
    assert liquidated_damages_floor(10_000, share=0.3, repeat_offender=True).floor_usd == 10_000
    assert liquidated_damages_floor(10_000, share=0.3, national_security=True).floor_usd == 0
    with pytest.raises(PenaltyError, match="share must be between 0 and 1"):
        liquidated_damages_floor(10_000, share=1.5)


@given(assessed=money, share=shares)
def test_the_floor_never_exceeds_the_assessed_amount_nor_falls_below_the_share(
    assessed: float, share: float
) -> None:
    floor = mitigation_floor(assessed, floor_share=share).floor_usd
    assert floor <= assessed
    assert floor >= assessed * 0.5
    assert floor >= assessed * share - 0.005  # the share, to the cent


@given(assessed=money, repeat=st.booleans(), national_security=st.booleans())
def test_the_floor_is_at_least_half_outside_the_national_security_exception(
    assessed: float, repeat: bool, national_security: bool
) -> None:
    floor = mitigation_floor(
        assessed, repeat_offender=repeat, national_security=national_security
    ).floor_usd
    assert 0 <= floor <= assessed
    if not national_security:
        assert floor >= assessed / 2
    if repeat and not national_security:
        assert floor == assessed


@given(
    culpability=st.sampled_from(CULPABILITIES),
    loss=money,
    domestic=money,
    dutiable=money,
    fraction=st.floats(0, 1),
    repeat=st.booleans(),
)
def test_an_assessment_within_the_maximum_is_floored_between_half_and_all_of_it(
    culpability: str, loss: float, domestic: float, dutiable: float, fraction: float, repeat: bool
) -> None:
    maximum = statutory_maximum(
        culpability, loss_of_duty_usd=loss, domestic_value_usd=domestic, dutiable_value_usd=dutiable
    ).amount_usd
    assert maximum <= domestic or (culpability != "fraud" and loss == 0)
    assessed = math.floor(maximum * fraction * 100) / 100
    result = assess_penalty(
        PenaltyCase(culpability, loss, domestic, assessed, dutiable, repeat_offender=repeat)  # type: ignore[arg-type]
    )
    assert assessed / 2 <= result.floor_usd <= assessed <= result.max_penalty_usd
    if repeat:
        assert result.floor_usd == assessed


def test_the_audit_event_carries_the_documented_details() -> None:
    result = assess_penalty(PenaltyCase("negligence", 100_000, 1_000_000, 200_000))
    event = penalty_assessed_event(
        result,
        case_id="PEN-2027-00001",
        occurred_at=datetime(2027, 3, 1, tzinfo=UTC),
        ior_number="123-45-6789",
    )
    assert isinstance(event, AuditEvent)
    assert event.event_type == "PenaltyAssessed"
    assert event.ior_number == "***-**-6789"
    assert event.details == {
        "culpability": "negligence",
        "assessed_usd": 200_000.0,
        "floor_usd": 100_000.0,
        "max_penalty_usd": 200_000.0,
        "repeat_offender": False,
        "national_security": False,
    }


def test_the_command_choices_are_the_libraries_culpabilities() -> None:
    assert CULPABILITY_CHOICES == CULPABILITIES


def run_penalty(
    capsysbinary: pytest.CaptureFixture[bytes], *args: str
) -> tuple[int, dict[str, Any] | None, str]:
    status = main(["penalty", *args])
    captured = capsysbinary.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err.decode()


def test_the_penalty_command_prints_one_json_object(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    status = main(
        [
            "penalty",
            "--culpability",
            "negligence",
            "--loss-of-duty",
            "100000",
            "--domestic-value",
            "1000000",
            "--assessed",
            "200000",
        ]
    )
    out = capsysbinary.readouterr().out
    assert status == 0
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    data = json.loads(out)
    assert (data["max_penalty_usd"], data["floor_usd"]) == (200_000, 100_000)
    assert data["culpability"] == "negligence"
    assert data["reasoning"] and all(isinstance(r, str) for r in data["reasoning"])


GROSS_NEGLIGENCE_NO_LOSS = (
    "--culpability=gross_negligence",
    "--domestic-value=90000",
    "--loss-of-duty=0",
    "--dutiable-value=50000",
)


def test_the_penalty_command_applies_the_exceptions(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    status, data, _ = run_penalty(
        capsysbinary, *GROSS_NEGLIGENCE_NO_LOSS, "--assessed=20000", "--repeat-offender"
    )
    assert status == 0 and data is not None
    assert (data["max_penalty_usd"], data["floor_usd"]) == (20_000, 20_000)
    status, data, _ = run_penalty(
        capsysbinary, *GROSS_NEGLIGENCE_NO_LOSS, "--assessed=20000", "--national-security"
    )
    assert status == 0 and data is not None
    assert (data["floor_usd"], data["floor_rule"]) == (0, "national_security")


def test_the_penalty_command_refuses_an_assessment_above_the_maximum(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # The maximum is 40% of the $50,000 dutiable value.
    status, data, err = run_penalty(capsysbinary, *GROSS_NEGLIGENCE_NO_LOSS, "--assessed=20001")
    assert (status, data) == (2, None)
    assert "$20,001.00 is above the statutory maximum of $20,000.00" in err


def test_the_penalty_command_refuses_negative_money(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    status, data, err = run_penalty(
        capsysbinary,
        "--culpability=fraud",
        "--loss-of-duty=-5",
        "--domestic-value=100",
        "--assessed=1",
    )
    assert (status, data) == (2, None)
    assert "loss of duty must not be negative" in err


def test_a_penalty_case_message_is_assessed_into_the_contract() -> None:
    import orjson
    from pydantic import TypeAdapter

    from schemas.penalty import PenaltyAssessed
    from streams.lifecycle import assess_case

    now = datetime(2026, 12, 1, tzinfo=UTC)
    raw = orjson.dumps(
        {
            "case_id": "PC-1",
            "culpability": "negligence",
            "loss_of_duty_usd": 100_000,
            "domestic_value_usd": 900_000,
            "assessed_usd": 200_000,
            "opened_at": "2026-12-01T00:00:00Z",
            "ior_number": "123-45-6789",
            "repeat_offender": True,
        }
    )
    assessed, event = assess_case(raw, now)
    TypeAdapter(PenaltyAssessed).validate_python(codec.loads(codec.encode(assessed)))
    assert (assessed.floor_usd, assessed.floor_rule, assessed.ior_number) == (
        200_000,
        "repeat_offender",
        "***-**-6789",
    )
    assert (event.event_type, event.details["floor_usd"]) == ("PenaltyAssessed", 200_000)

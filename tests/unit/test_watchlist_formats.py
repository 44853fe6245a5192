"""The public entity-list formats, and matching on a labelled set of near misses."""

from __future__ import annotations

import sys
from pathlib import Path

from entry_screening.watchlists import read_csl_json, read_uflpa_csv

DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(DATA.parents[1] / "bench"))

from watchlist_precision import evaluate  # noqa: E402


def test_the_uflpa_csv_becomes_watchlist_records_with_aliases() -> None:
    records = read_uflpa_csv(DATA / "uflpa_entity_list_sample.csv")
    assert len(records) == 10
    xpcc = records[0]
    assert (xpcc.list, xpcc.country, xpcc.aliases) == ("UFLPA", "CN", ("XPCC", "Xinjiang Corps"))
    assert len({r.id for r in records}) == 10


def test_the_consolidated_screening_list_json_becomes_records_by_source() -> None:
    records = {r.name: r for r in read_csl_json(DATA / "csl_sample.json")}
    huawei = records["Huawei Technologies Co., Ltd."]
    assert (huawei.list, huawei.country, huawei.aliases) == ("EL", "CN", ("Huawei",))
    assert huawei.address == "Bantian Longgang District, Shenzhen"
    assert records["Rosoboronexport"].list == "SDN"


def test_the_labelled_near_misses_are_all_decided_right() -> None:
    true_pos, false_pos, false_neg, true_neg, wrong = evaluate()
    assert (false_pos, false_neg) == (0, 0), wrong
    assert true_pos >= 20 and true_neg >= 14

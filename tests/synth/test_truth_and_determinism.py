"""truth.json and truth_records agree with the data; output depends on the arguments alone."""

from __future__ import annotations

import hashlib
import importlib
import json

import pandas as pd
import pytest

from iapt_audit.synth import generate

# the module, not the function the package exports under the same name
generation = importlib.import_module("iapt_audit.synth.generate")
SMALL = {"providers": 3, "referrals": 900, "plant": "GM01,GM03"}


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_truth_counts_match_the_referral_table(extract):
    truth, ref = extract["truth"], extract["tables"]["IDS101Referral"]
    assert truth["seed"] == 11 and truth["referrals"] == 20000 == len(ref)
    counts = ref["OrgIDProv"].value_counts().to_dict()
    assert {org: p["referrals"] for org, p in truth["providers"].items()} == counts
    assert truth["period"]["start"] == "2024-04-01" and truth["period"]["end"] == "2025-03-31"


def test_auto_plants_one_pattern_per_provider_in_the_first_providers(extract):
    planted = [p["planted"] for p in extract["truth"]["providers"].values()]
    assert planted == ["GM01", "GM02", "GM03", "GM04", "GM05", "GM06", "GM08"] + [None] * 5


def test_truth_records_belong_to_their_planted_provider(extract, planted):
    records = pd.read_parquet(extract["folder"] / "truth_records.parquet")
    assert set(records["pattern"]) == set(planted)
    assert (records["OrgIDProv"] == records["pattern"].map(planted)).all()
    ref = extract["tables"]["IDS101Referral"].set_index("ServiceRequestId")
    assert (ref.loc[records["ServiceRequestId"], "OrgIDProv"].to_numpy() == records["OrgIDProv"].to_numpy()).all()
    touched = records.groupby("OrgIDProv").size().to_dict()
    assert touched == {org: p["touched"] for org, p in extract["truth"]["providers"].items() if p["touched"]}


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_same_seed_gives_identical_files(tmp_path, fmt):
    generate(tmp_path / "one", seed=5, fmt=fmt, **SMALL)
    generate(tmp_path / "two", seed=5, fmt=fmt, **SMALL)
    first = digests(tmp_path / "one")
    assert len(first) == 11 and first == digests(tmp_path / "two")


def test_a_different_seed_gives_different_data(tmp_path):
    generate(tmp_path / "one", seed=5, **SMALL)
    generate(tmp_path / "two", seed=6, **SMALL)
    one, two = digests(tmp_path / "one"), digests(tmp_path / "two")
    assert one["IDS101Referral.csv"] != two["IDS101Referral.csv"]
    assert one["IDS607CodedScoreAssessmentAct.csv"] != two["IDS607CodedScoreAssessmentAct.csv"]


def test_chunks_continue_the_numbering(tmp_path, monkeypatch):
    monkeypatch.setattr(generation, "CHUNK_REFERRALS", 250)
    summary = generate(tmp_path / "x", **SMALL)
    ref = pd.read_csv(tmp_path / "x" / "IDS101Referral.csv", dtype=str)
    con = pd.read_csv(tmp_path / "x" / "IDS201CareContact.csv", dtype=str)
    act = pd.read_csv(tmp_path / "x" / "IDS202CareActivity.csv", dtype=str)
    assert ref["ServiceRequestId"].tolist() == [f"SR{i:08d}" for i in range(1, 901)]
    assert con["CareContactId"].tolist() == [f"CC{i:010d}" for i in range(1, len(con) + 1)]
    assert act["CareActId"].is_unique and len(act) == summary["rows"]["IDS202CareActivity"]
    truth = json.loads((tmp_path / "x" / "truth.json").read_text())
    assert sum(p["referrals"] for p in truth["providers"].values()) == 900


def test_summary_counts_rows_per_table(tmp_path):
    summary = generate(tmp_path / "x", seed=2, **SMALL)
    for name, n in summary["rows"].items():
        assert len(pd.read_csv(tmp_path / "x" / f"{name}.csv", dtype=str)) == n, name
    assert summary["planted"] == {summary["providers"][0]: "GM01", summary["providers"][1]: "GM03"}


def test_changing_format_replaces_the_old_files(tmp_path):
    generate(tmp_path / "x", seed=2, **SMALL)
    generate(tmp_path / "x", seed=2, fmt="parquet", **SMALL)
    assert not list((tmp_path / "x").glob("IDS*.csv"))
    assert len(list((tmp_path / "x").glob("IDS*.parquet"))) == 9


@pytest.mark.parametrize("kwargs, message", [
    ({"plant": "GM07"}, "unknown pattern"),
    ({"plant": "GM01,GM01"}, "twice"),
    ({"plant": "GM01,GM02,GM03"}, "at least 4 providers"),
    ({"period": ("2025-01-01", "2024-01-01")}, "must end after"),
    ({"period": ("2025-13-01", "2026-01-01")}, "ISO"),
    ({"referrals": 100}, "too few"),
    ({"fmt": "xlsx"}, "format"),
])
def test_bad_arguments_raise_value_error(tmp_path, kwargs, message):
    args = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "x", **args)

"""The same records as one snapshot, a warehouse extract and a folder of submissions audit alike.

The synthetic generator writes one year three ways (issue 13's "done when"): a snapshot; a
warehouse extract with NHS Digital's names (``IDS101_Referral.csv``, ``OrgID_Provider``), every
open referral resubmitted monthly, months refreshed (Primary then Refresh, the Primary missing
late records) and rows shuffled; and a folder of one sub-folder or .zip per submission. KPIs, rule
results and every data-quality check of the snapshot must come out the same. The header is the
one table whose rows differ by layout (one row per submission), so checks counting values in
"(all tables)" compare their failing records, not their denominators.
"""

import json

import pytest

from iapt_audit.audit import run_audit
from iapt_audit.dq.submission_history import HISTORY_CHECKS
from iapt_audit.synth import generate

PERIOD = "2024-04-01:2025-03-31"
HISTORY = {check.code for check in HISTORY_CHECKS}


def _audit(tmp_path_factory, layout, **options):
    folder = tmp_path_factory.mktemp(layout)
    generate(folder, providers=3, referrals=1500, seed=11, layout=layout, **options)
    return folder, run_audit(folder, period=PERIOD).findings()


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    return {
        "snapshot": _audit(tmp_path_factory, "snapshot")[1],
        "warehouse": _audit(tmp_path_factory, "warehouse", nhsd_names=True, history_defects=False)[1],
        "submissions": _audit(tmp_path_factory, "submissions", history_defects=False)[1],
    }


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("layout", ["warehouse", "submissions"])
def test_kpis_rules_and_outliers_are_identical(audits, layout):
    snapshot, monthly = audits["snapshot"], audits[layout]
    assert monthly["submissions"]["submissions_read"] > 3 * 12  # really monthly, with refreshed months
    assert any(not s["selected"] for s in monthly["submissions"]["submissions"])
    for part in ("total", "providers", "rules", "outliers", "period"):
        assert _canonical(monthly[part]) == _canonical(snapshot[part]), part


@pytest.mark.parametrize("layout", ["warehouse", "submissions"])
def test_the_snapshots_data_quality_checks_are_identical(audits, layout):
    snapshot = {f["code"]: f for f in audits["snapshot"]["data_quality"]}
    monthly = {f["code"]: f for f in audits[layout]["data_quality"]}
    assert set(snapshot) == set(monthly)
    for code, want in snapshot.items():
        if code in HISTORY:
            continue
        got = monthly[code]
        if want["table"] == "(all tables)":
            assert (got["numerator"], got["records"]) == (want["numerator"], want["records"]), code
        else:
            assert _canonical(got) == _canonical(want), code


def test_planted_history_defects_are_found_exactly(tmp_path_factory):
    folder, found = _audit(tmp_path_factory, "warehouse")
    planted = json.loads((folder / "truth.json").read_text())["submissions"]["history_defects"]
    records = {f["code"]: f["records"] for f in found["data_quality"] if f["code"] in HISTORY}
    assert records["DQ201"] == [planted["missing_month"]["month"][:7]]
    assert records["DQ202"] == [planted["broken_continuity"]["ServiceRequestId"]]
    assert records["DQ203"] == [planted["received_date_changes"]["ServiceRequestId"]]
    assert records["DQ204"] == [planted["refresh_drops_record"]["CareContactId"]]
    assert records["DQ205"] == []

"""Reconciliation with the publication: a provider whose records changed after "publication" is
listed first with the measures that disagree; unchanged providers reconcile within rounding.

The extract and its "publication" are ``conftest.altered_extract``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from publication_fixture import ALTERED, ITEMS, YEAR
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.publication import _compared, reconcile_publication


@pytest.fixture(scope="module")
def reconciled(altered_extract):
    folder, published, altered, month = altered_extract
    return reconcile_publication(derive_pathways(read_extract(folder)), YEAR, [published]), altered, month


def test_the_altered_provider_is_listed_first_with_the_measures_that_disagree(reconciled):
    result, altered, month = reconciled
    assert result.ran and len(result.periods) == 12
    first = result.providers.index[0]
    assert first == altered
    assert {"Count_EndedReferrals"} <= set(result.providers.at[altered, "measures_disagreeing"])
    figures = result.figures
    ended = figures[(figures["OrgIDProv"] == altered) & (figures["measure_id"] == "M056")
                    & (figures["period"] == month)].iloc[0]
    assert not ended["within_rounding"]
    assert ended["tool_value"] - ended["published"] <= -ALTERED + 2  # 10 fewer endings, published rounded to 5
    # the other months of the altered provider still add up for referrals received
    received = figures[(figures["OrgIDProv"] == altered) & (figures["measure_id"] == "M001")]
    assert received["within_rounding"].all()


def test_unaltered_providers_reconcile_within_rounding(reconciled):
    result, altered, _ = reconciled
    others = result.providers.drop(index=altered)
    assert len(others) == 3
    assert (others["disagree"] == 0).all() and (others["compared"] == 12 * len(ITEMS)).all()
    json = result.as_json()
    assert [p["provider"] for p in json["providers"]][0] == altered
    assert [p["adds_up"] for p in json["providers"]] == [False, True, True, True]


@pytest.mark.parametrize("numerator, denominator, published, within", [
    (58, None, 60, True), (58, None, 55, False), (57, None, 55, True), (3, None, np.nan, True),
    (7, None, np.nan, False), (0, None, np.nan, True), (4, None, 5, False),
    (30, 52, 58, True), (30, 52, 57, False), (3, 40, np.nan, True), (20, 40, np.nan, False),
])
def test_within_the_publications_rounding_means_rounded_and_suppressed_as_published(
        numerator, denominator, published, within):
    kpis = pd.DataFrame({"Count_Recovery__num": [numerator], "Percentage_Recovery__num": [numerator],
                         "Percentage_Recovery__den": [denominator or 0]}, index=["RX1"])
    rows = pd.DataFrame({"org_code": ["RX1"], "measure_id": ["M191" if denominator is None else "M192"],
                         "value": [published]})
    row = _compared(rows, kpis, "2024-05").iloc[0]
    assert bool(row["within_rounding"]) is within
    assert row["tool_value"] == pytest.approx(numerator if denominator is None else 100 * numerator / denominator)


def test_no_files_or_no_overlap_is_said_plainly(tmp_path):
    empty = reconcile_publication(None, YEAR, None)
    assert not empty.ran and "--benchmark" in empty.note

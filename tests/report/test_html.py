"""The HTML reports: self-contained, charts present, contents linked, every value escaped."""

from __future__ import annotations

import re

import pytest

from builders import course, merge, write_extract
from iapt_audit.audit import run_audit
from iapt_audit.report.writer import write_reports

REMOTE = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""",
                    re.IGNORECASE)


@pytest.fixture(scope="module")
def pages(cohort_reports):
    out, _ = cohort_reports
    return {name: (out / f"{name}.html").read_text(encoding="utf-8") for name in
            ("self-check", "commissioner", "regulator")}


def test_pages_load_nothing_from_the_network(pages):
    for page in pages.values():
        assert not REMOTE.search(page)
        assert "default-src 'none'" in page  # the browser would refuse any fetch anyway
        assert "<script" not in page


def test_self_check_draws_the_charts_the_issue_asks_for(pages):
    page = pages["self-check"]
    for chart in ("attrition-all", "all-scores-PHQ9", "all-scores-GAD7", "all-wait-first", "all-wait-second",
                  "funnel-Percentage_Recovery"):
        match = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', page, re.S)
        assert match and "<svg" in match.group(1), chart
    # the score chart marks the caseness cut-off
    assert "caseness ≥ 10" in page


def test_commissioner_has_a_profile_per_provider_with_its_attrition_funnel(pages, cohort_result):
    page = pages["commissioner"]
    for org in cohort_result.providers:
        assert f'id="profile-{org}"' in page
        assert f'id="profile-{org}-attrition"' in page


def test_regulator_leads_with_outliers_and_charts_the_extracts_own_months(pages):
    page = pages["regulator"]
    sections = re.findall(r'<section id="([^"]+)" class="level2">', page)
    assert sections[0] == "outliers"
    assert "monthly-spc" in sections
    assert "Monthly SPC of this extract" in page


def test_contents_links_every_section(pages):
    for page in pages.values():
        contents = re.search(r'<nav class="contents".*?</nav>', page, re.S).group(0)
        targets = re.findall(r'href="#([^"]+)"', contents)
        assert targets
        for target in targets:
            assert f'id="{target}"' in page


def test_chart_ids_are_unique_across_the_page(pages):
    for page in pages.values():
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids))


def test_hostile_provider_and_record_ids_are_escaped(tmp_path):
    hostile_org = "<script>alert('org')</script>"
    hostile_ref = '=HYPERLINK("http://evil.invalid","x")<img src=x onerror=alert(1)>'
    tables = merge(course(hostile_ref, ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2],
                          received="2024-05-01", discharged="2024-04-01"))  # discharged before received
    for rows in tables.values():
        for row in rows:
            row["OrgIDProv"] = hostile_org
    result = run_audit(write_extract(tmp_path / "x", tables), period="2024-04-01:2025-03-31")
    written = write_reports(result, tmp_path / "out", formats=("html",))
    for path in written:
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&#39;org&#39;)&lt;/script&gt;" in page
    self_check = (tmp_path / "out" / "self-check.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http://evil.invalid&#34;,&#34;x&#34;)&lt;img" in self_check  # in a worklist, as text

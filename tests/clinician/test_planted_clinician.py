"""One clinician of six discharging at the recovery threshold is flagged, and no other; no
clinician identifier reaches a commissioner or regulator output (every such file is searched)."""

from __future__ import annotations

import html
import json
import re
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner

from iapt_audit.cli import main
from iapt_audit.stats.funnel import Funnel
from planted_clinician import plant_clinician

generate = pytest.importorskip("iapt_audit.synth.generate").generate


@pytest.fixture(scope="module", params=(1, 2), ids=lambda seed: f"seed{seed}")
def audited(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"clinician{request.param}") / "extract"
    generate(folder, providers=2, referrals=4000, seed=request.param, fmt="parquet", plant="GM06")
    org, planted = plant_clinician(folder)
    out = folder.parent / "out"
    run = CliRunner().invoke(main, ["audit", str(folder), "--out", str(out)])
    assert run.exit_code == 0, run.output
    clinicians = set(pd.read_parquet(folder / "IDS202CareActivity.parquet")["CarePersLocalId"].dropna())
    return out, org, planted, clinicians, run.output


def test_the_planted_clinician_is_flagged_and_no_other(audited):
    out, org, planted, _, _ = audited
    view = json.loads((out / "findings.json").read_text())["clinicians"]
    assert view["ran"]
    team = view["providers"][org]
    assert sorted(team) == [f"{org}-C{i}" for i in range(1, 7)]
    worse = {(who, measure) for provider in view["providers"].values() for who, entry in provider.items()
             for measure, judged in entry["indicators"].items() if judged["verdict"] == "worse than expected"}
    assert worse == {(planted, "GM06")}
    gm06 = {who: entry["indicators"]["GM06"] for who, entry in team.items()}
    assert gm06[planted]["flag"] == "high"
    assert all(judged["verdict"] == "common cause" for who, judged in gm06.items() if who != planted)


def test_the_self_check_report_shows_the_view_and_says_it_is_for_inside_the_service(audited):
    out, _, planted, _, _ = audited
    report = json.loads((out / "self-check.json").read_text())
    section = next(s for s in report["sections"] if s["id"] == "clinicians")
    assert section["status"] == "ran" and "clinicians-flagged" in section["tables"]
    flagged = next(t for t in report["tables"] if t["id"] == "clinicians-flagged")
    assert [row[1] for row in flagged["rows"]] == [planted]
    page = (out / "self-check.html").read_text(encoding="utf-8")
    assert "This view is for use inside the service" in page


def _chart_points(page: str, chart_id: str) -> dict[str, str]:
    """The funnel chart ``chart_id`` of the HTML page: each point's hover title and its marker,
    keyed by the point's label (the clinician)."""
    chart = re.search(rf'<figure class="chart" id="{chart_id}">(.*?)</figure>', page, re.S)
    assert chart, f"no chart {chart_id} in the page"
    points = re.findall(r"<g><title>([^<]*)</title>(<\w+)", chart.group(1))
    return {html.unescape(title).split(",")[0]: (html.unescape(title), marker) for title, marker in points}


def test_the_self_check_draws_the_team_funnel_with_the_planted_clinician_outside_its_limits(audited):
    """The planted clinician's point sits above the 99.8 % limit of the funnel of the other five
    clinicians (worked here with ``stats.funnel.Funnel``, the providers' FunnelPlotR funnel, on
    their counts from findings.json), drawn as a "worse than expected" square; the other five are
    inside their own limits."""
    out, org, planted, _, _ = audited
    team = json.loads((out / "findings.json").read_text())["clinicians"]["providers"][org]
    gm06 = {who: entry["indicators"]["GM06"] for who, entry in team.items()}
    page = (out / "self-check.html").read_text(encoding="utf-8")
    assert re.findall(r'<figure class="chart" id="(clinician-funnel-[^"]+)"', page) == [f"clinician-funnel-{org}-GM06"]
    points = _chart_points(page, f"clinician-funnel-{org}-GM06")
    assert sorted(points) == sorted(gm06)
    for who, (title, marker) in points.items():
        value, counts, limits, verdict = _parts(title)
        others = [g for other, g in gm06.items() if other != who]
        lower, upper = Funnel([g["numerator"] for g in others], [g["denominator"] for g in others],
                              method="additive").limits([gm06[who]["denominator"]], 99.8)
        assert counts == f"{gm06[who]['numerator']}/{gm06[who]['denominator']}"
        assert value == pytest.approx(100 * gm06[who]["numerator"] / gm06[who]["denominator"], abs=0.05)
        assert limits == pytest.approx((100 * lower[0], 100 * upper[0]), abs=0.05)
        if who == planted:
            assert value > limits[1] and verdict == "worse than expected" and marker == "<rect"
        else:
            assert limits[0] <= value <= limits[1] and verdict == "common cause" and marker == "<circle"


def _parts(title: str):
    """(value %, "numerator/denominator", (lower %, upper %), verdict) of a funnel point's title."""
    found = re.fullmatch(r"[^,]+, ([\d.]+)%, ([\d,]+/[\d,]+), limits ([\d.]+)–([\d.]+)%, (.+)", title)
    assert found, title
    value, counts, lower, upper, verdict = found.groups()
    return float(value), counts.replace(",", ""), (float(lower), float(upper)), verdict


def _texts(path):
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return path.read_text(encoding="utf-8")


def test_no_clinician_identifier_in_any_commissioner_or_regulator_output(audited):
    out, _, planted, clinicians, printed = audited
    files = sorted(p for p in out.iterdir() if p.stem in ("commissioner", "regulator"))
    assert {p.name for p in files} == {f"{a}.{f}" for a in ("commissioner", "regulator") for f in ("xlsx", "html", "json")}
    assert len(clinicians) > 6 and planted in clinicians
    for path in files:
        text = _texts(path)
        leaked = sorted(c for c in clinicians if c in text)
        assert not leaked, f"{path.name} carries {leaked[:3]}"
    assert not [c for c in clinicians if c in printed]  # nor the terminal
    assert planted in _texts(out / "self-check.html")  # the search would find one where it is

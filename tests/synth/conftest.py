"""Shared synthetic extracts for the generator's tests: generated once per test session."""

from __future__ import annotations

import json

import pytest

from iapt_audit.synth import generate
from synth_measures import read, referral_measures

ARGS = {"providers": 12, "referrals": 20000, "seed": 11}


def _generated(tmp_path_factory, **options):
    folder = tmp_path_factory.mktemp("synth") / "extract"
    summary = generate(folder, **ARGS, **options)
    tables = read(folder)
    truth = json.loads((folder / "truth.json").read_text())
    return {"folder": folder, "summary": summary, "tables": tables, "truth": truth,
            "referrals": referral_measures(tables)}


@pytest.fixture(scope="session")
def extract(tmp_path_factory):
    """A 12-provider, 20k-referral CSV extract with every pattern planted (``--plant auto``)."""
    return _generated(tmp_path_factory)


@pytest.fixture(scope="session")
def honest(tmp_path_factory):
    """The same size with nothing planted: twelve clean providers, for the national figures."""
    return _generated(tmp_path_factory, plant="none", fmt="parquet")


@pytest.fixture(scope="session")
def planted(extract):
    """Pattern -> provider code, from truth.json."""
    return {p["planted"]: org for org, p in extract["truth"]["providers"].items() if p["planted"]}


@pytest.fixture(scope="session")
def clean(extract):
    return sorted(org for org, p in extract["truth"]["providers"].items() if p["planted"] is None)

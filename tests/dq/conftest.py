"""Module-wide fixtures: the clean and the planted extracts, each validated once (GX is slow to start)."""

import pytest

from iapt_audit.dq import run_data_quality
from iapt_audit.io.extract import read_extract
from iapt_audit.period import Period

import planted


@pytest.fixture(scope="session")
def period():
    return Period.parse(planted.PERIOD)


@pytest.fixture(scope="session")
def clean_extract_path(tmp_path_factory):
    return planted.write(tmp_path_factory.mktemp("clean"), planted.clean_tables())


@pytest.fixture(scope="session")
def planted_extract_path(tmp_path_factory):
    return planted.write(tmp_path_factory.mktemp("planted"), planted.defect_tables())


@pytest.fixture(scope="session")
def clean_result(clean_extract_path, period):
    return run_data_quality(read_extract(clean_extract_path, identifiers=True), period)


@pytest.fixture(scope="session")
def planted_result(planted_extract_path, period):
    return run_data_quality(read_extract(planted_extract_path, identifiers=True), period, record_cap=50)

"""Locate NHS Digital's published files (../shared/data/published beside the clone)."""

from pathlib import Path

import pytest

PUBLISHED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "published"


@pytest.fixture(scope="session")
def published() -> Path:
    if not (PUBLISHED / "annual").is_dir() or not (PUBLISHED / "monthly").is_dir():
        pytest.skip(f"published NHS data not found at {PUBLISHED.resolve()} (CI puts shared/ beside the clone)")
    return PUBLISHED.resolve()

"""findings.json: the machine-readable audit, written atomically and deterministically."""

from __future__ import annotations

import json
from pathlib import Path

from iapt_audit.report.atomic import atomic_write_text


def findings_text(result) -> str:
    """Stable JSON text: sorted keys, fixed indentation, no timings (they vary run to run)."""
    document = result.identifiers.value(result.findings())  # identifiers typed into other items withheld
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_findings(result, out_dir: Path) -> Path:
    target = Path(out_dir) / "findings.json"
    atomic_write_text(target, findings_text(result))
    return target

"""Synthetic NHS Talking Therapies extracts, calibrated to national figures, with planted gaming.

``generate(out, ...)`` writes one file per table plus ``truth.json`` (which provider carries
which planted pattern and, for monthly submissions, which history defects) and
``truth_records.parquet`` (the referrals each plant touched), as one snapshot or as monthly
submissions (``layout="warehouse"`` or ``"submissions"``). ``write_extract(tables, out, layout)``
writes any snapshot's tables in any layout. Nothing in them identifies a real person.
"""

from iapt_audit.synth.generate import generate
from iapt_audit.synth.layouts import write_extract

__all__ = ["generate", "write_extract"]

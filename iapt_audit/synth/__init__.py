"""Synthetic NHS Talking Therapies extracts, calibrated to national figures, with planted gaming.

``generate(out, ...)`` writes one file per table in the canonical layout plus ``truth.json``
(which provider carries which planted pattern) and ``truth_records.parquet`` (the referrals each
plant touched). Nothing in them identifies a real person.
"""

from iapt_audit.synth.generate import generate

__all__ = ["generate"]

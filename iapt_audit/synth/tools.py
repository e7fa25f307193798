"""The questionnaires a synthetic referral is scored on, as small integer ids for fast lookups.

Each referral is scored on PHQ-9 and on the anxiety-disorder-specific measure (ADSM) of its
problem descriptor (``codes.ADSM_BY_DESCRIPTOR``, GAD-7 otherwise [G21 §7.7]), and often on the
five WSAS items, which have no caseness and are never an ADSM. Tens of millions of scores need
their tool's range, caseness cut-off and intake distribution, so tools are ids into a few lookup
arrays rather than strings.
"""

from __future__ import annotations

import numpy as np

from iapt_audit.model import codes
from iapt_audit.model.thresholds import SCALES
from iapt_audit.synth import calibration as cal

DESCRIPTOR_CODES = list(cal.DESCRIPTORS)
NO_DESCRIPTOR = len(DESCRIPTOR_CODES)   # descriptor index of "none recorded"


def adsm_for(descriptor: str) -> str:
    """The anxiety measure for an ICD-10 descriptor: longest matching prefix, else GAD-7."""
    plain = descriptor.replace(".", "")
    matches = [p for p in codes.ADSM_BY_DESCRIPTOR if plain.startswith(p)]
    return codes.ADSM_BY_DESCRIPTOR[max(matches, key=len)] if matches else codes.DEFAULT_ADSM


NAMES = sorted({adsm_for(d) for d in DESCRIPTOR_CODES} | {codes.DEFAULT_ADSM, "PHQ9"} | set(cal.WSAS_ITEMS))
PHQ9 = NAMES.index("PHQ9")
WSAS = np.array([NAMES.index(t) for t in cal.WSAS_ITEMS])   # tool ids, work item first
# tool id of the ADSM by descriptor index (the last entry: no descriptor, GAD-7)
ADSM_BY_DESCRIPTOR = np.array([NAMES.index(adsm_for(d)) for d in DESCRIPTOR_CODES]
                              + [NAMES.index(codes.DEFAULT_ADSM)])
SNOMED = np.array([codes.TOOL_CODE[t] for t in NAMES])
LOW = np.array([SCALES[t].low for t in NAMES], float)
HIGH = np.array([cal.WSAS_HIGH if t in cal.WSAS_ITEMS else SCALES[t].high for t in NAMES], float)
# caseness cut-off, and the highest score not at caseness (cut-off - 1, or the cut-off itself
# where caseness is "> cut"); NaN for the WSAS items, which have none
CASENESS = np.array([np.nan if s.caseness is None else s.caseness for s in (SCALES[t] for t in NAMES)])
BELOW_CASENESS = np.array([np.nan if s.caseness is None else s.caseness if s.caseness_op == ">" else s.caseness - 1
                           for s in (SCALES[t] for t in NAMES)])
INTAKE_MEAN = np.array([cal.INTAKE[t][0] for t in NAMES])
INTAKE_SD = np.array([cal.INTAKE[t][1] for t in NAMES])
DECIMALS = np.array([cal.INTAKE[t][2] for t in NAMES])


def at_caseness(scores: np.ndarray, tool: np.ndarray) -> np.ndarray:
    """Vectorised caseness on each score's own tool."""
    return scores > BELOW_CASENESS[tool]


def to_scale(values: np.ndarray, tool: np.ndarray) -> np.ndarray:
    """Round to the tool's precision and clip to its range."""
    factor = 10.0 ** DECIMALS[tool]
    return np.clip(np.rint(values * factor) / factor, LOW[tool], HIGH[tool])

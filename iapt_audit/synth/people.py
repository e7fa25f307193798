"""The patients of a chunk: master patient index (IDS001) and employment status (IDS004).

One patient per referral, except that an N1 stepped-up re-referral belongs to its parent's
patient. NHS numbers are valid test-range numbers (``ids.valid_test_nhs_numbers``), dealt out in
a seed-shuffled order by patient index; there are about 909,000 of them, so at national scale a
number recurs across providers (as one person referred to two services would) but never within a
provider smaller than that.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from iapt_audit.synth import calibration as cal
from iapt_audit.synth import ids
from iapt_audit.synth.draw import categorical, labels
from iapt_audit.synth.pathways import Plan

DAYS_PER_YEAR = 365.25


def patient_numbers(plan: Plan) -> np.ndarray:
    """Patient index of each referral: its own referral index, or its N1 parent's."""
    return np.where(plan.child, plan.gidx[np.maximum(plan.parent, 0)], plan.gidx)


def patients(plan: Plan, rng: np.random.Generator, nhs_numbers: np.ndarray) -> dict[str, pa.Array]:
    """IDS001MPI and IDS004EmpStatus columns (without OrgIDProv) for the chunk's new patients."""
    new = np.flatnonzero(~plan.child)
    n = len(new)
    number = plan.gidx[new]
    start, shape, scale, cap = cal.AGE
    age = np.minimum(start + rng.gamma(shape, scale, n), cap)
    birth = plan.ref_day[new] - np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    return {
        "prov": plan.prov[new],
        "LocalPatientId": ids.patient_ids(number + 1),
        "NHSNumber": pa.array(nhs_numbers[number % len(nhs_numbers)]).cast(pa.string()),
        "PersonBirthDate": pa.array(birth.astype(np.int32)).cast(pa.date32()),
        "Postcode": ids.postcodes(rng, n),
        "Gender": labels(cal.GENDER_MIX, categorical(rng, cal.GENDER_MIX, n)),
        "EthnicCategory": labels(cal.ETHNICITY_MIX, categorical(rng, cal.ETHNICITY_MIX, n)),
        "EmployStatus": labels(cal.EMPLOYMENT_MIX, categorical(rng, cal.EMPLOYMENT_MIX, n)),
        "EmployStatusRecDate": pa.array(plan.ref_day[new].astype(np.int32)).cast(pa.date32()),
    }

"""The derived columns GX compares scores with: each questionnaire's range, by its SNOMED code."""

import numpy as np
import pandas as pd

from iapt_audit.dq.gx_frames import gx_frame

PHQ9, GAD7, SPIN = "720433000", "445455005", "445552006"  # ../shared/domain/iapt-dataset.md, code list


def test_scale_range_follows_the_code_and_is_missing_for_unknown_or_blank_codes():
    scores = pd.DataFrame({"CodedAssToolType": pd.array([PHQ9, GAD7, SPIN, "999999", None, PHQ9], dtype="string"),
                           "PersScore": [27, 22, 69, 5, 5, 28]})
    frame = gx_frame("IDS607CodedScoreAssessmentAct", scores, {"PersScore", "CodedAssToolType"})
    # PHQ-9 0-27, GAD-7 0-21, SPIN 0-68: the reference's questionnaire thresholds table
    np.testing.assert_array_equal(frame["ScaleLow"], [0, 0, 0, np.nan, np.nan, 0])
    np.testing.assert_array_equal(frame["ScaleHigh"], [27, 21, 68, np.nan, np.nan, 27])

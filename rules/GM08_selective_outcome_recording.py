"""GM08: outcome scores missing for many courses while the paired few recover unusually often."""

from __future__ import annotations

import pandas as pd

from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, finished


class SelectiveOutcomeRecording(Rule):
    """Low paired-score completeness together with a high recovery rate among the paired.

    What it checks:
    Among finished courses ended in the period, the share without paired outcome scores (PHQ-9
    and an ADSM or GAD-7 each recorded at least twice), judged together with the recovery rate
    of the courses that do have them.

    Why it matters:
    Recovery is computed only over courses with paired scores. A provider that records the final
    questionnaire when a patient is doing well and skips it otherwise — or discharges without a
    last measurement those who are not improving — raises its recovery rate by shrinking its
    denominator selectively. Low completeness alone is a data-quality problem; low completeness
    together with high recovery is the signature of selection.

    How it is measured:
    Denominator: finished courses (CompletedTreatment_Flag) with ServDischDate in the period
    (M076). Numerator: those without Paired_Flag (no PHQ9_LastScore or no ADSM_LastScore).
    Detail: recovery among the paired — Recovery_Flag over paired finished courses at
    caseness (caseness is set from the first scores for unpaired courses too, so the pairing is
    required here explicitly). Evidence: PHQ-9 and GAD-7 score counts, the ADSM the descriptor
    calls for, treatment contacts, discharge date.

    Thresholds:
    min_percent: 20 percent of finished courses unpaired (absolute test);
    min_denominator: 20 finished courses before a provider is judged;
    min_recovery_percent: 50 percent recovery among the paired at caseness (the national
    recovery standard): the provider is flagged only when its recovery is at least this.
    With at least 8 providers the unpaired share must also be a high outlier on the peers'
    99.8 % funnel.

    Known false positives:
    Services whose scores are recorded in a separate system and not submitted (completeness is
    then low for every outcome, and the recovery rate is that of a random subset); problem
    descriptors whose ADSM is not collected (the GAD-7 fallback still pairs them).

    References:
    iapt-dataset.md §1.4 (*_LastScore only with ≥ 2 scores, "paired"); §2.2 ADSM selection [G21
    §7.7]; §3 paired scores M198–M205, Recovery M191/M192 [MM20, G21 §6.3].
    """

    code = "GM08"
    name = "outcomes.selective_recording"
    title = "Selective outcome recording: few paired scores, high recovery"
    severity = "warning"
    indicator = "finished courses"
    needs = ("CompletedTreatment_Flag", "Paired_Flag", "Caseness_Flag", "Recovery_Flag", "PHQ9_Count", "GAD7_Count")
    thresholds = {
        "min_percent": Threshold(20, "percent", "share of finished courses without paired scores"),
        "min_denominator": Threshold(20, "count", "finished courses needed to judge a provider"),
        "min_recovery_percent": Threshold(50, "percent", "recovery among the paired at or above which to flag"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        done = finished(r, period)
        found = cases(r, done, ~r["Paired_Flag"], PHQ9_Count=r["PHQ9_Count"], GAD7_Count=r["GAD7_Count"],
                      DescriptorADSM=r["DescriptorADSM"], TreatmentCareContact_Count=r["TreatmentCareContact_Count"],
                      ServDischDate=r["ServDischDate"])
        at_caseness = (done & r["Caseness_Flag"] & r["Paired_Flag"]).groupby(r["OrgIDProv"], observed=True).sum()
        recovered = (done & r["Recovery_Flag"]).groupby(r["OrgIDProv"], observed=True).sum()
        detail = pd.DataFrame({"recovery": recovered, "caseness_finished": at_caseness})
        detail["recovery_percent"] = 100.0 * detail["recovery"] / detail["caseness_finished"].where(
            detail["caseness_finished"] > 0)
        detail.index.name = "OrgIDProv"
        return Measurement(found, detail)

    def decide(self, table, measurement, limits):
        recovery = measurement.providers["recovery_percent"].reindex(table.index)
        table = table.copy()
        gate = limits["min_recovery_percent"]
        for org in table.index[table["flagged"]]:  # flagged providers only
            share = recovery.at[org]
            stats = measurement.providers.loc[org]
            words = (f"recovery among the paired {share:.1f}% ({int(stats['recovery'])}/"
                     f"{int(stats['caseness_finished'])})" if pd.notna(share) else "no paired courses at caseness")
            if pd.notna(share) and share >= gate:
                table.at[org, "reason"] += f"; {words}, at or above {gate:g}%"
                table.at[org, "tests"] = [*table.at[org, "tests"], "recovery_gate"]
            else:
                table.at[org, "flagged"] = False
                table.at[org, "tests"] = []
                table.at[org, "reason"] += f"; but {words}, below {gate:g}%: low completeness without the selection signature, not flagged"
        return table

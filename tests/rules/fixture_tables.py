"""Turn a YAML rule case into extract tables for ``builders.write_extract``.

A case lists referrals, each with its contacts; a contact states only what the case is about and
takes neutral defaults otherwise (attended, AppType 02, individual, high-intensity CBT):

    referrals:
      - id: R1
        discharged: 2024-06-01
        contacts:
          - {date: 2024-05-01, app: "03", phq: 14, gad: 11}
          - {date: 2024-05-20, mode: "3", group: 15, therapy: LI}
"""

from __future__ import annotations

from builders import GAD7, PHQ9, PROVIDER, write_extract
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways

THERAPY = {"LI": "748051000000105", "HI": "304891004"}  # guided self-help (book), CBT
REFERRAL_ITEMS = {"provider": "OrgIDProv", "patient": "LocalPatientId", "received": "ReferralRequestReceivedDate",
                  "discharged": "ServDischDate", "source": "SourceOfReferralIAPT", "end_code": "EndCode"}
CONTACT_ITEMS = {"date": "CareContDate", "app": "AppType", "attend": "AttendOrDNACode",
                 "mode": "CareContPatientTherMode", "group": "NumGroupTherParticipants"}


def case_tables(case: dict) -> dict[str, list[dict]]:
    """The builders-style tables for one YAML case."""
    tables: dict[str, list[dict]] = {name: [] for name in ("IDS101Referral", "IDS201CareContact", "IDS202CareActivity",
                                                           "IDS603PresentingComplaints",
                                                           "IDS607CodedScoreAssessmentAct")}
    for spec in case["referrals"]:
        ref = spec["id"]
        provider = str(spec.get("provider", PROVIDER))
        referral = {"ServiceRequestId": ref, "ReferralRequestReceivedDate": "2024-04-01", "LocalPatientId": ref}
        referral.update({item: _text(spec[key]) for key, item in REFERRAL_ITEMS.items() if key in spec})
        if referral.get("ServDischDate") and "EndCode" not in referral:
            referral["EndCode"] = "46"
        tables["IDS101Referral"].append(referral)
        tables["IDS603PresentingComplaints"].append(
            {"OrgIDProv": provider, "ServiceRequestId": ref, "PresComp": spec.get("descriptor", "F41.1")})
        for i, contact in enumerate(spec.get("contacts", [])):
            contact_id, act_id = f"{ref}-C{i}", f"{ref}-A{i}"
            row = {"OrgIDProv": provider, "CareContactId": contact_id, "ServiceRequestId": ref}
            row.update({item: _text(contact[key]) for key, item in CONTACT_ITEMS.items() if key in contact})
            tables["IDS201CareContact"].append(row)
            therapy = contact.get("therapy", "HI")
            tables["IDS202CareActivity"].append({"OrgIDProv": provider, "CareActId": act_id, "CareContactId": contact_id,
                                                 "CodeProcAndProcStatus": THERAPY.get(therapy, str(therapy))})
            for key, tool in (("phq", PHQ9), ("gad", GAD7)):
                if contact.get(key) is not None:
                    tables["IDS607CodedScoreAssessmentAct"].append(
                        {"OrgIDProv": provider, "CareActId": act_id, "CodedAssToolType": tool,
                         "PersScore": contact[key]})
    return tables


def _text(value) -> str | None:
    """YAML dates and numbers back to the text a CSV extract would hold."""
    return None if value is None else str(value)


def pathways_for(tmp_path, case: dict):
    """Write the case as an extract, read it back and derive its pathways (the real input path)."""
    folder = write_extract(tmp_path / "extract", case_tables(case))
    return derive_pathways(read_extract(folder))

"""The "Submissions read" section: which monthly submissions the audit counted, which it set aside,
and how every record read is accounted for (``iapt_audit.selection``).

Records read = superseded (their submission was replaced for its month) + replaced by a later
month's copy + duplicates within one submission counted once + selected. Counts of records, not of
people, but commissioner and regulator reports still show them under disclosure control.
"""

from __future__ import annotations

from iapt_audit.dq.findings import BLANK
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Column, Section, Table

INTRO = ("As NHS England's analysts do, the audit counts each provider's latest submission for each month (a Refresh "
         "replaces its Primary) and each record's copy from its latest month: a referral is submitted again every "
         "month it is open, and its latest record carries its discharge.")


def section(result, figures: Figures) -> Section:
    """The section; a snapshot without a header gets the accounting table alone."""
    selection = result.submissions or {}
    blocks = []
    if selection.get("submissions"):
        blocks.append(_by_provider(selection["submissions"], figures))
    if selection.get("records"):
        blocks.append(_records(selection["records"], figures))
    superseded = [s for s in selection.get("submissions", []) if not s["selected"]]
    if superseded:
        blocks.append(_superseded(superseded))
    if selection.get("reader_notices"):
        blocks.append(_notices(selection["reader_notices"]))
    return Section("submissions", "Submissions read and records counted", intro=INTRO, blocks=blocks)


def _by_provider(submissions: list[dict], figures: Figures) -> Table:
    by_org: dict[str, dict] = {}
    for entry in submissions:
        org = by_org.setdefault(entry["OrgIDProv"] or BLANK, {"read": 0, "selected": 0, "months": set()})
        org["read"] += 1
        org["selected"] += entry["selected"]
        if entry["month"]:
            org["months"].add(entry["month"])
    rows = [[org, counts["read"], counts["selected"], len(counts["months"]),
             min(counts["months"], default=None), max(counts["months"], default=None)]
            for org, counts in sorted(by_org.items())]
    columns = [Column("Provider"), Column("Submissions read", "count"), Column("Counted", "count"),
               Column("Months", "count"), Column("First month"), Column("Last month")]
    return Table("submissions-by-provider", "Submissions by provider", columns, rows, sheet="Submissions")


def _records(records: list[dict], figures: Figures) -> Table:
    rows = [[r["table"], figures.count(r["read"]), figures.count(r["superseded"]),
             figures.count(r["replaced_by_later_month"]), figures.count(r["duplicates_collapsed"]),
             figures.count(r["selected"])] for r in records]
    columns = [Column("Table"), Column("Records read", "count"), Column("In superseded submissions", "count"),
               Column("Replaced by a later month", "count"), Column("Repeats within a submission", "count"),
               Column("Counted", "count")]
    return Table("submissions-records", "Every record read, accounted for", columns, rows, sheet="Records counted",
                 note="Read = in superseded submissions + replaced by a later month + repeats within a submission "
                      "+ counted, for every table.")


def _superseded(superseded: list[dict]) -> Table:
    rows = [[s["OrgIDProv"], s["month"], s["File_Type"], s["UniqueSubmissionID"], s["superseded_by"]]
            for s in superseded]
    columns = [Column("Provider"), Column("Month"), Column("File type"), Column("Submission"),
               Column("Replaced by")]
    return Table("submissions-superseded", "Submissions set aside", columns, rows, sheet="Superseded", folded=True)


def _notices(notices: list[dict]) -> Table:
    rows = [[n["table"], n["column"], n["rows"], n["message"]] for n in notices]
    columns = [Column("Table"), Column("Column"), Column("Rows", "count"), Column("What the reader did")]
    return Table("submissions-reader-notices", "Read with tolerance, or not read", columns, rows,
                 sheet="Reader notices", note="Files passed over, encodings other than UTF-8, header names "
                                              "matched by ignoring letter case and values the reader policy "
                                              "tolerated (io.values).")

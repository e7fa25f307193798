"""The gaming-rules engine: rule base class, the catalogue loaded from ``rules/``, flagging, runner.

Public API: ``run_rules(pathways, period, *, config=None, select=None, ignore=None)`` returns one
``RuleResult`` per selected rule (``.as_json()`` is its findings.json entry, ``.evidence`` the full
record-level worklist); ``catalogue()`` and ``select_rules()`` list the codes.
"""

from iapt_audit.rules_engine.base import DOC_SECTIONS, Measurement, Rule, Threshold
from iapt_audit.rules_engine.catalogue import catalogue, select_rules
from iapt_audit.rules_engine.runner import RuleResult, run_rules

__all__ = ["DOC_SECTIONS", "Measurement", "Rule", "RuleResult", "Threshold", "catalogue", "run_rules",
           "select_rules"]

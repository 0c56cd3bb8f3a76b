"""certscan-oscal-ar.json: the scan as an OSCAL assessment-results document, built with
compliance-trestle's models (trestle.oscal, OSCAL 1.2.1) and serialized by them.

- One ``result`` per scan: start and end (the scan's, else as_of), the reviewed controls
  (every framework control a rule maps to).
- Observations: one per (rule, outcome) — pass, fail, waived, error — listing every resource
  with that outcome as a subject, rather than one per (rule, resource): about 60 observations
  for any estate instead of 800,000 at 100,000 certificates. ``methods: [TEST]``, ``collected``
  = as_of, the bundle's results.json as relevant evidence. Not-applicable results are left
  out (nothing was judged). Each collection error is an observation of its own.
- Findings: one per framework control, ``target.status.state`` satisfied (verdict satisfied,
  or satisfied with exceptions) or not-satisfied (not satisfied, inconclusive, not assessed:
  the last two with reason ``other``); the verdict itself is the ``verdict`` property.
- Risks: each active waiver, status ``deviation-approved``, with its justification, approver
  and expiry (the ``deadline``).

Control ids become OSCAL tokens (``pci-dss-4.0_4.2.1``: a token must start with a letter);
the original framework and control id are properties. Every UUID is a uuid5 of the scan id
and a key, and every time comes from the scan, so the same inputs give the same document.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.evaluate.controls import NOT_SATISFIED, SATISFIED, WITH_EXCEPTIONS
from scanner.model import format_time, parse_time
from scanner.report.atomic import dumps_json, write_bytes
from scanner.report import ScanReport
from scanner.report.control_matrix import report_verdicts
from scanner.report.escape import visible
from scanner.report.formats import OutputFormat

OSCAL_FILE = "certscan-oscal-ar.json"
OSCAL_VERSION = "1.2.1"  # what compliance-trestle 5.x models
NS = "https://certscan.dev/ns/oscal"
_UUID_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)
OUTCOMES = ("fail", "error", "waived", "pass")
EVIDENCE_MEMBER = "results.json"  # the bundle member every observation rests on
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]")


def derived_uuid(scan_id: str, *key: str) -> str:
    return str(uuid.uuid5(_UUID_ROOT, "/".join((scan_id, *key))))


def control_token(framework: str, control: str) -> str:
    """An OSCAL token naming a framework's control: letters first, [A-Za-z0-9._-] after."""
    return _NOT_TOKEN.sub("-", f"{framework}_{control}")


def _text(value: Any) -> str:
    """OSCAL strings must be non-empty and are shown to people: controls made visible."""
    text = visible(value).strip()
    return text or "-"


def build(report: ScanReport) -> Any:
    from trestle.oscal import assessment_results as ar
    from trestle.oscal import common

    scan = report.scan_id

    def prop(name: str, value: Any) -> Any:
        return common.Property(name=name, value=_text(value), ns=NS)

    as_of = report.as_of if isinstance(report.as_of, datetime) else parse_time(report.as_of)
    start = report.started_at or as_of
    end = report.finished_at if report.finished_at and report.finished_at >= start else None
    evidence = [common.RelevantEvidence(
        href=f"#{derived_uuid(scan, 'member', EVIDENCE_MEMBER)}",
        description="results.json in the certscan evidence bundle: every (rule, resource) result with its message")]

    # -- observations: one per rule and outcome, every resource a subject -------------------
    by_rule_outcome: dict[tuple[str, str], list[str]] = defaultdict(list)
    for result in report.results:
        if result.status in OUTCOMES:
            by_rule_outcome[(result.rule_id, result.status)].append(result.resource_id)
    rules = {r["id"]: r for r in report.rules}
    observations = []
    observation_of: dict[tuple[str, str], str] = {}
    for (rule_id, outcome) in sorted(by_rule_outcome, key=lambda k: (k[0], OUTCOMES.index(k[1]))):
        resources = sorted(set(by_rule_outcome[(rule_id, outcome)]))
        obs_uuid = observation_of[(rule_id, outcome)] = derived_uuid(scan, "observation", rule_id, outcome)
        title = rules.get(rule_id, {}).get("title", rule_id)
        observations.append(common.Observation(
            uuid=obs_uuid, title=_text(f"{rule_id} {outcome}: {len(resources)} resource(s)"),
            description=_text(f"{rule_id} ({title}) evaluated as {outcome} for {len(resources)} resource(s) "
                              f"as of {format_time(as_of)}."),
            props=[prop("rule-id", rule_id), prop("outcome", outcome)],
            methods=["TEST"], types=["finding"] if outcome in ("fail", "waived") else None,
            subjects=[common.SubjectReference(subject_uuid=derived_uuid(scan, "resource", rid), type="inventory-item",
                                              title=_text(rid), props=[prop("resource-id", rid)])
                      for rid in resources],
            relevant_evidence=evidence, collected=as_of))
    for index, error in enumerate(report.errors):
        where = " ".join(str(error[k]) for k in ("source", "account", "region", "resource") if error.get(k))
        observations.append(common.Observation(
            uuid=derived_uuid(scan, "collection-error", str(index), where, str(error.get("code"))),
            title=_text(f"collection error {error.get('code')}: {where}"),
            description=_text(f"Could not be read: {where or error.get('unit')}: {error.get('message')}"),
            props=[prop("collection-error", error.get("code")),
                   *(prop(k, error[k]) for k in ("source", "account", "region", "service", "unit") if error.get(k))],
            methods=["TEST"], relevant_evidence=evidence, collected=as_of))

    # -- risks: active waivers --------------------------------------------------------------
    risks = []
    risk_of_rule: dict[str, list[str]] = defaultdict(list)
    for waiver in report.waivers:
        if waiver.get("state") != "active":
            continue
        risk_uuid = derived_uuid(scan, "waiver", str(waiver.get("id")))
        risk_of_rule[str(waiver.get("rule"))].append(risk_uuid)
        related = [common.RelatedObservation(observation_uuid=obs) for (rule_id, outcome), obs in
                   sorted(observation_of.items()) if outcome == "waived" and _glob(waiver.get("rule"), rule_id)]
        risks.append(common.Risk(
            uuid=risk_uuid, title=_text(f"Waiver {waiver.get('id')}: {waiver.get('rule')} on {waiver.get('resource')}"),
            description=_text(waiver.get("justification")),
            statement=_text(f"Approved by {waiver.get('approved_by')} until {waiver.get('expires')}; "
                            f"{waiver.get('matched', 0)} result(s) waived."),
            props=[prop("waiver-id", waiver.get("id")), prop("approved-by", waiver.get("approved_by")),
                   prop("expires", waiver.get("expires")), prop("rule", waiver.get("rule")),
                   prop("resource", waiver.get("resource"))],
            status=common.RiskStatus("deviation-approved"),
            deadline=parse_time(str(waiver["expires"])) if waiver.get("expires") else None,
            related_observations=related or None))

    # -- findings: one per framework control ------------------------------------------------
    names = report.framework_names
    verdicts = report_verdicts(report)  # the frameworks asked for (--framework), else all
    findings = []
    for v in verdicts:
        token = control_token(v.framework, v.control)
        satisfied = v.verdict in (SATISFIED, WITH_EXCEPTIONS)
        mapped = sorted({m["rule"] for m in v.rules})
        related = [common.RelatedObservation(observation_uuid=observation_of[(rule_id, outcome)])
                   for rule_id in mapped for outcome in OUTCOMES if (rule_id, outcome) in observation_of]
        related_risks = sorted({r for rule_id in mapped for pattern, uuids in risk_of_rule.items()
                                if _glob(pattern, rule_id) for r in uuids})
        counts = ", ".join(f"{k} {n}" for k, n in v.counts.items() if n)
        findings.append(common.Finding(
            uuid=derived_uuid(scan, "finding", v.framework, v.control),
            title=_text(f"{names.get(v.framework, v.framework)} {v.control}: {v.verdict}"),
            description=_text(f"{v.title or v.control}. Rules: "
                              + ", ".join(f"{m['rule']} ({m['basis']}{', ' + m['source'] if m['source'] else ''})"
                                          for m in v.rules)
                              + f". Results: {counts or 'none'}."
                              + (f" Failing resources: {len(v.failing_resources)}." if v.failing_resources else "")),
            props=[prop("framework", v.framework), prop("control", v.control), prop("verdict", v.verdict),
                   *(prop("failing-resources", len(v.failing_resources)) for _ in [0] if v.failing_resources)],
            target=common.FindingTarget(
                type="objective-id", target_id=token, title=_text(v.title or v.control),
                status=common.ObjectiveStatus(
                    state="satisfied" if satisfied else "not-satisfied",
                    reason=None if satisfied or v.verdict == NOT_SATISFIED else "other",
                    remarks=None if satisfied or v.verdict == NOT_SATISFIED else _text(v.verdict))),
            related_observations=related or None,
            related_risks=[common.AssociatedRisk(risk_uuid=r) for r in related_risks] or None))

    reviewed = common.ReviewedControls(control_selections=[common.ControlSelections(
        description="Every framework control that a loaded rule maps to.",
        include_controls=[common.SelectControlById(control_id=control_token(v.framework, v.control))
                          for v in verdicts])]) if verdicts else common.ReviewedControls(
        # OSCAL needs a selection; with no mapped control there are no findings to go with it
        description="No loaded rule maps to a framework control: no control was assessed.",
        control_selections=[common.ControlSelectionsAll(include_all=common.IncludeAll(),
                                                        remarks="No rule maps to a control; see findings (none).")])

    result = ar.Result(
        uuid=derived_uuid(scan, "result"), title=_text(f"certscan scan {scan}"),
        description=_text(f"Certificates evaluated by certscan {report.tool_version} as of {format_time(as_of)}: "
                          f"{report.summary.get('certificates', '?')} certificate(s), {len(report.coverage)} unit(s) "
                          f"read, {len(report.errors)} collection error(s)."),
        start=start, end=end,
        props=[prop("scan-id", scan), prop("as-of", format_time(as_of)),
               prop("gate-exit-code", report.gate.get("exit_code", "-"))],
        reviewed_controls=reviewed, observations=observations or None, risks=risks or None,
        findings=findings or None)

    members = [(EVIDENCE_MEMBER, "every (rule, resource) result"), ("inventory.json", "the inventory evaluated"),
               ("manifest.json", "sizes and sha256 of every bundle member")]
    back_matter = common.BackMatter(resources=[
        common.Resource(uuid=derived_uuid(scan, "member", name), title=name, description=what,
                        rlinks=[common.Rlink(href=name)]) for name, what in members])
    return ar.AssessmentResults(
        uuid=derived_uuid(scan, "assessment-results"),
        metadata=common.Metadata(title=_text(f"certscan assessment results, scan {scan}"), last_modified=as_of,
                                 version=_text(report.tool_version), oscal_version=OSCAL_VERSION,
                                 props=[prop("tool", f"certscan {report.tool_version}")]),
        import_ap=ar.ImportAp(href="#" + derived_uuid(scan, "member", "manifest.json"),
                              remarks="certscan has no separate assessment plan: the rule packs and settings in "
                                      "the evidence manifest are the plan."),
        results=[result], back_matter=back_matter)


def _glob(pattern: Any, rule_id: str) -> bool:
    import fnmatch
    return pattern == rule_id or fnmatch.fnmatchcase(rule_id, str(pattern))


def render(report: ScanReport) -> bytes:
    """The document, wrapped as OSCAL JSON is ({"assessment-results": ...}), keys sorted."""
    import json
    document = build(report)
    return dumps_json(json.loads(document.oscal_serialize_json(pretty=False, wrapped=True))).encode("utf-8")


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    return [write_bytes(Path(output_dir) / OSCAL_FILE, render(report))]


FORMAT = OutputFormat("oscal", (OSCAL_FILE,), order=65,
                      write=lambda report, output_dir, options: write(report, output_dir),
                      bundle=lambda report: {OSCAL_FILE: render(report)},
                      description="OSCAL 1.2.1 assessment results (compliance-trestle models)")

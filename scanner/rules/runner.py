"""One rule over a group of certificates: verdicts, messages, results.

Verdicts (status and severity) come from the rule's conditions, run over the whole group at
once (see rules.conditions), into columns that start as "every certificate passes" and are
overwritten where one does not. Messages that name the certificate are rendered afterwards,
only for the results that need one; the results are then made in one C-level pass.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import partial
from itertools import compress, repeat
from typing import Any

from scanner.model import Result
from scanner.rules.conditions import MissingValue, may_be_unknown, open_rows
from scanner.rules.facts import Record
from scanner.rules.model import Rule

RuleRunner = Callable[[list[Record], list[str], list[dict]], list[Result]]

# A verdict's note says where its message comes from: a fixed text (str), or the template
# to render for the certificate.
PASS_TEXT, FAIL_TEXT, UNSURE_TEXT = 0, 1, 2


def rule_runner(rule: Rule) -> RuleRunner:
    """Results of one rule for a group of certificates (records, resource ids, contexts, in
    order)."""
    rule_id, base, controls = rule.id, rule.severity, rule.control_ids
    applies, check, escalate, inconclusive = rule.applies, rule.check, rule.escalate, rule.inconclusive
    static_pass = rule.pass_message.text if rule.pass_message.static else None
    renderers = (rule.pass_message.bind(rule.params), rule.message.bind(rule.params),
                 inconclusive[1].bind(rule.params) if inconclusive is not None else None)
    pass_note = None if static_pass is not None else PASS_TEXT
    make = partial(tuple.__new__, Result)  # a Result from an 8-tuple, in C
    # conditions that cannot meet an unknown value give only True/False: cheaper to sift
    applies_known = applies is not None and not may_be_unknown(applies)
    check_known = not may_be_unknown(check)

    def cannot(missing: MissingValue) -> str:
        return f"cannot evaluate {rule_id}: {missing.field} is not known for this certificate"

    def severities_of(recs: list[Record]) -> list[str]:
        """The first escalate entry that holds for each; an unknown value skips an entry."""
        found = [base] * len(recs)
        open_ = list(range(len(recs)))
        for when, escalated in escalate:
            if not open_:
                break
            still = []
            for i, v in zip(open_, when([recs[i] for i in open_])):
                if v is True:
                    found[i] = escalated
                else:
                    still.append(i)
            open_ = still
        return found

    def decide(recs: list[Record]) -> tuple[list[str], list[str], list[Any], list[int]]:
        """Status, severity and note of each record, and which records have a note."""
        n = len(recs)
        statuses, severities, notes = ["pass"] * n, [base] * n, [pass_note] * n
        noted: list[int] = []
        if applies is None:
            live: Any = range(n)
        else:
            outcome = applies(recs)
            live = open_rows(outcome) if applies_known else [i for i, v in enumerate(outcome) if v is True]
            if len(live) < n:
                for i, v in [(i, v) for i, v in enumerate(outcome) if v is not True]:
                    if v is False:
                        statuses[i] = "not_applicable"
                    else:
                        statuses[i], notes[i] = "error", cannot(v)
                        noted.append(i)
        outcome = check(recs if len(live) == n else [recs[i] for i in live])
        if check_known:
            failing = list(compress(live, map(operator.not_, outcome)))
        else:
            failing = []
            for i, v in [(i, v) for i, v in zip(live, outcome) if v is not True]:
                if v is False:
                    failing.append(i)
                else:
                    statuses[i], notes[i] = "error", cannot(v)
                    noted.append(i)
        noted += failing
        if failing:
            found = severities_of([recs[i] for i in failing]) if escalate else repeat(base)
            for i, severity in zip(failing, found):
                statuses[i], severities[i], notes[i] = "fail", severity, FAIL_TEXT
        if inconclusive is not None:
            passing = [i for i, v in zip(live, outcome) if v is True]
            if passing:
                unsure = inconclusive[0]([recs[i] for i in passing])
                for i, v in [(i, v) for i, v in zip(passing, unsure) if v is not False]:
                    statuses[i], notes[i] = "error", UNSURE_TEXT if v is True else cannot(v)
                    noted.append(i)
        if pass_note is not None:
            noted = [i for i, note in enumerate(notes) if note is not None]  # every result names its certificate
        return statuses, severities, notes, noted

    def run(recs: list[Record], ids: list[str], contexts: list[dict]) -> list[Result]:
        n = len(recs)
        statuses, severities, notes, noted = decide(recs)
        texts: list[Any] = [static_pass] * n
        for i in noted:
            note = notes[i]
            texts[i] = note if note.__class__ is str else renderers[note](recs[i])
        return list(map(make, zip(repeat(rule_id, n), ids, statuses, severities, texts, repeat(controls, n),
                                  contexts, repeat(None, n))))

    return run

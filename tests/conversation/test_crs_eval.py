"""The ReDial harness (`recassist eval conversation`) on hand-built dialogues over the test catalog slice."""

from __future__ import annotations

from recassist.assistant.evaluation.crs_eval import evaluate_conversations, format_crs, target_turns
from recassist.assistant.evaluation.redial import Dialogue, Message


def _dialogue(suggested_last: str) -> Dialogue:
    names = {"1": "Toy Story (1995)", "2": "Toy Story 2 (1999)", "3": suggested_last, "4": "No Such Film (2031)"}
    msgs = [
        Message("Hi! I loved @1 , any animated films for me?", True),
        Message("Have you seen @2 ?", False),  # target turn 1: Toy Story 2
        Message("Yes, loved it. Anything else?", True),
        Message("Try @3 or @4", False),  # target turn 2: the given film, and one the catalog lacks
    ]
    answers = {mid: {"suggested": 1, "seen": 0, "liked": 1} for mid in ("2", "3", "4")}
    return Dialogue("t1", msgs, names, {}, answers)


def test_targets_scores_and_report(rules_assistant):
    d = _dialogue("Finding Nemo (2003)")
    turns = dict(target_turns(d, rules_assistant.catalog))
    assert sorted(turns) == [1, 3]
    assert turns[3][1] is None  # not in the catalog: a miss, counted
    res = evaluate_conversations([d], rules_assistant, use_llm=False, explain_sample=0)
    assert (res.turns, res.targets, res.targets_in_catalog) == (2, 3, 2)
    for scores in (res.ours, res.popularity, res.trending):
        assert scores.n == 3 and all(0.0 <= v <= 1.0 for v in scores.row())
    # Toy Story 2 right after Toy Story: co-occurrence and content both point at it.
    assert res.ours.hits[10] >= 1
    assert res.named_genres >= 15 and res.named_genre_precision >= 0.8
    report = format_crs(res)
    assert "popular now (trend alone)" in report and "named-genre requests" in report

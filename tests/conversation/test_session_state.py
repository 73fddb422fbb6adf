"""Per-session memory lives in the session store: any worker (another Assistant on the same store file)
can serve the next turn, and nothing accumulates in process memory."""

from __future__ import annotations

from recassist.assistant.conversation import Assistant
from recassist.assistant.conversation.intents import HANDLERS
from recassist.assistant.store import SQLiteStores


def _second_worker(a: Assistant) -> Assistant:
    """Another Assistant over the same files with its own store connection, as another process has."""
    store = SQLiteStores(a.settings.sqlite_path, a.catalog)
    return Assistant(a.settings, a.catalog, store, a.engine.candidates, a.engine.ranker, a.llm)


def test_onboarding_questions_are_not_repeated_when_another_worker_serves_the_turn(rules_assistant):
    a, b = rules_assistant, _second_worker(rules_assistant)
    sid = a.store.start_session("grace")
    first = a.chat("grace", "recommend me something", session_id=sid)
    assert first.intent == "onboarding" and first.onboarding.asked == ["titles"]
    assert a.store.get_session_state(sid)["asked"] == ["titles"]
    second = b.chat("grace", "recommend me something", session_id=sid)  # the other worker
    assert second.intent == "onboarding" and second.onboarding.asked == ["titles", "genres"]
    assert b.onboarding("grace", session_id=sid).asked == ["titles", "genres", "react"]
    assert a.store.get_session_state(sid)["asked"] == ["titles", "genres", "react"]
    assert not hasattr(a, "_asked") and not hasattr(a, "_last_discussed")
    b.store.close()


def test_the_item_discussed_last_is_remembered_across_workers(rules_assistant):
    a, b = rules_assistant, _second_worker(rules_assistant)
    sid = a.store.start_session("heidi")
    r = a.chat("heidi", "I want something like The Matrix (1999)", session_id=sid)
    second = r.items[1]
    why = a.chat("heidi", "why the second one?", session_id=sid)
    assert why.intent == "explain" and second.title in why.text
    assert a.store.get_session_state(sid)["last_discussed"] == second.item_id
    again = b.chat("heidi", "why that one?", session_id=sid)  # the one discussed last (else: the first)
    assert again.intent == "explain" and second.title in again.text
    b.store.close()


def test_every_routed_intent_has_a_handler():
    from typing import get_args

    from recassist.assistant.conversation.models import Intent

    routed = {"empty", "smalltalk", "out_of_scope", "undo", "explain", "refine", "recommend"}
    assert set(HANDLERS) == routed and routed <= set(get_args(Intent))

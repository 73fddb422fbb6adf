"""Isolation between users and the per-request bounds: sessions, rate limits per key, LLM time per request."""

from __future__ import annotations

import time

import httpx
import pytest
from llm_doubles import ScriptedLLM
from loopback import running
from pydantic import SecretStr
from recassist.assistant.conversation.explain import Explainer
from recassist.foundation.errors import NotFoundError
from recassist.ui.app import create_app


def test_a_replayed_session_id_neither_joins_nor_reveals_another_users_session(sec_assistant, served,
                                                                              popular_titles):
    a = sec_assistant.chat("sec-alice", f"I loved {popular_titles[0]} and {popular_titles[1]}")
    assert a.items
    with pytest.raises(NotFoundError, match="not found for user 'sec-mallory'"):
        sec_assistant.chat("sec-mallory", "why did you suggest the first one?", session_id=a.session_id)
    with pytest.raises(NotFoundError):
        sec_assistant.explain_item("sec-mallory", a.items[0].item_id, session_id=a.session_id)
    with pytest.raises(NotFoundError):
        sec_assistant.feedback("sec-mallory", a.items[0].item_id, "like", session_id=a.session_id)
    # Over HTTP the replay is the same 404 an unknown id gets; the owner carries on in the session.
    r = httpx.post(f"{served}/v1/chat", json={"user_id": "sec-mallory", "message": "why the first one?",
                                              "session_id": a.session_id}, timeout=60)
    assert r.status_code == 404 and "omit session_id" in r.json()["error"]["message"]
    turns = sec_assistant.store.session_turns(a.session_id)
    assert all("why" not in t.text for t in turns)  # nothing was appended to Alice's session
    again = sec_assistant.chat("sec-alice", f"more like {popular_titles[0]}", session_id=a.session_id)
    assert again.session_id == a.session_id


def test_concurrent_users_see_only_their_own_profiles(served, popular_titles):
    from robust_load import isolation

    res = isolation(served, popular_titles[:8], users=8, turns=2)
    assert res.errors == 0 and res.turns == 8 * 3
    assert res.leaks == 0, res.examples
    assert res.session_hijacks_refused == res.session_hijack_attempts == 8


def test_a_flooding_key_gets_429_while_another_key_is_served(sec_assistant, sec_settings):
    keys = ["sec-flood-key-000", "sec-other-key-111"]
    settings = sec_settings.model_copy(update={"api_keys": [SecretStr(k) for k in keys],
                                                 "api_rate_limit_per_minute": 5})
    body = {"text": "a tense crime film", "k": 3, "explain": False}
    with running(create_app(sec_assistant, settings, ui=False)) as url:
        flood = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[0]}"}, timeout=60)
        statuses = [flood.post("/v1/recommendations", json=body).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
        limited = flood.post("/v1/recommendations", json=body)
        assert "requests/minute" in limited.json()["error"]["message"] and int(limited.headers["Retry-After"]) >= 1
        other = httpx.post(f"{url}/v1/recommendations", json=body, timeout=60,
                           headers={"Authorization": f"Bearer {keys[1]}"})
        assert other.status_code == 200 and other.json()["items"]


class _SlowLLM(ScriptedLLM):
    """Failure path: an endpoint that takes `delay` seconds per answer."""

    def __init__(self, delay: float) -> None:
        super().__init__([])
        self.delay = delay
        self.timeouts: list[float] = []

    def complete(self, messages, *, json_schema=None, max_tokens=256, timeout_s=None) -> str:
        self.timeouts.append(timeout_s)
        time.sleep(self.delay)
        return "It fits your wish."


def test_explanations_of_one_request_share_one_llm_budget(sec_assistant):
    llm = _SlowLLM(delay=0.2)
    explainer = Explainer(sec_assistant.catalog, llm, timeout_s=15.0)
    reply = sec_assistant.recommend(None, "something tense and thrilling", k=10, explain=False)
    deadline = time.monotonic() + 0.5
    started = time.monotonic()
    sources = [explainer.explain(it.item_id, it.evidence, deadline=deadline)[1] for it in reply.items]
    assert len(llm.timeouts) <= 4  # ~0.5 s of 0.2 s calls; the rest answered by the template at once
    assert sources.count("template") >= len(sources) - 4
    assert all(t <= 0.5 for t in llm.timeouts)  # each call carries only the time left
    assert time.monotonic() - started < 1.5

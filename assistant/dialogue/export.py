"""The product's own chats -> the conversation-corpus format, so the assistant learns from its own use.

Each stored session becomes one conversation: user turns are the seeker's, assistant turns the recommender's
with the items they showed as mentions (and outcome "suggested"). The user's feedback given in the session
(like / dislike / seen) becomes the items' outcomes; "not interested" counts as disliked.
"""

from __future__ import annotations

from collections.abc import Iterator

from recassist.assistant.store import Stores

_OUTCOME = {"like": "liked", "dislike": "disliked", "seen": "seen", "not_interested": "disliked"}


def session_rows(store: Stores, *, id_prefix: str = "chat-") -> Iterator[dict]:
    """One corpus row per stored session with at least one turn, oldest session first."""
    feedback_cache: dict[str, list] = {}
    for sid in store.session_ids():
        turns = store.session_turns(sid)
        if not turns:
            continue
        user = store.session(sid).user_id
        if user not in feedback_cache:
            feedback_cache[user] = store.feedback(user)
        outcomes: dict[str, set[str]] = {}
        messages = []
        for t in turns:
            role = "seeker" if t.role == "user" else "recommender"
            items = [it.item_id for it in t.items] if role == "recommender" else []
            for x in items:
                outcomes.setdefault(x, set()).add("suggested")
            messages.append({"role": role, "text": t.text, "mentions": [{"id": x} for x in items]})
        for fb in feedback_cache[user]:
            if fb.session_id == sid:
                outcomes.setdefault(fb.item_id, set()).add(_OUTCOME[fb.kind])
        yield {"id": f"{id_prefix}{sid}", "source": "recassist", "messages": messages,
               "outcomes": [{"id": x, "outcome": sorted(o)} for x, o in outcomes.items()]}

"""One chat turn's working set (`TurnContext`) and the steps intent handlers share.

The `Assistant` reads the turn (route, extracted delta, stored profile, session state) into a
`TurnContext`; the handler registered for the turn's intent (`intents.HANDLERS`) produces the
events. Nothing here keeps state between turns: that lives in the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from recassist.assistant.compute_gate import ComputeGate
from recassist.assistant.conversation.components import Components
from recassist.assistant.conversation.models import (
    ChatEvent,
    ChatReply,
    Evidence,
    Intent,
    OnboardingStep,
    RecommendedItem,
)
from recassist.assistant.conversation.router import Route
from recassist.assistant.conversation.session_state import SessionState
from recassist.assistant.store import ShownItem, Stores
from recassist.foundation.profile import InterestProfile
from recassist.retrieval.filters import Filter


class DomainPlan(Protocol):
    """Which catalogs a turn answers from, when there are several (`assistant.domains.chat` makes one).

    `first`: how many of the first catalog's items the list holds (0: none); `items` gives the other
    catalogs' items for the merged profile; `read` adds what the text says about the other catalogs'
    titles to the first catalog's reading."""

    domains: list[str]
    first: int

    def read(self, delta: InterestProfile) -> InterestProfile: ...

    def items(self, profile: InterestProfile, text: str) -> list[RecommendedItem]: ...


# Intents whose reply ends the turn (no LLM explanations follow).
_FINAL = frozenset({"empty", "smalltalk", "out_of_scope", "undo", "explain", "onboarding"})


@dataclass
class TurnContext:
    """Everything a handler needs for one user turn. `profile`, `delta`, `changes` and `state` are
    the handler's to update; the `Assistant` stores `state` after the turn."""

    parts: Components
    store: Stores
    gate: ComputeGate
    user_id: str
    session_id: str
    text: str
    #: The text ranking reads: this message and the user's two before it in the session, as the
    #: conversation layer was trained and is measured (the seeker's last three messages of a dialogue).
    request_text: str
    turn_no: int  # user turns before this one in the session
    shown: list[str]  # item ids the latest showing turn listed, in display order
    route: Route
    delta: InterestProfile  # what this turn's text says
    profile: InterestProfile  # the stored profile (updated when the handler merges `delta`)
    state: SessionState
    k: int
    explain: bool
    notes: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    plan: DomainPlan | None = None  # several catalogs: which ones this turn answers from

    def finish(self, intent: Intent, msg: str, items: list[RecommendedItem] | None = None,
               onboarding: OnboardingStep | None = None) -> Iterator[ChatEvent]:
        """Store the assistant's turn and yield the reply (and `done` unless explanations follow)."""
        items = items or []
        shown = [ShownItem(item_id=i.item_id, title=i.title, score=i.score, extra=_shown_extra(i)) for i in items]
        self.store.append_turn(self.session_id, "assistant", msg, items=shown or None)
        self.state.save(self.store, self.session_id)  # before the reply: a caller may stop reading after it
        yield ChatEvent(type="reply", reply=ChatReply(
            session_id=self.session_id, user_id=self.user_id, intent=intent, text=msg, items=items,
            profile=self.profile, profile_changes=self.changes, onboarding=onboarding, notes=self.notes))
        if intent in _FINAL or not items:
            yield ChatEvent(type="done")


def _shown_extra(item: RecommendedItem) -> dict:
    """What a later turn needs about a shown item; another catalog's item keeps its domain and reason."""
    extra: dict = {"evidence": item.evidence.model_dump(mode="json")}
    if item.domain:
        extra.update(domain=item.domain, explanation=item.explanation)
    return extra


def recommend_items(parts: Components, gate: ComputeGate, profile: InterestProfile, history: Sequence[str], *,
                    k: int, text: str | None, filters: Filter | None = None, exclude: Sequence[str] = (),
                    named_genres: set[str] | None = None) -> list[RecommendedItem]:
    """Top-`k` items with template explanations; the ranking runs inside a compute slot. `named_genres`: the
    genres the request's own words name (they lead the list; see `RecommendationEngine.recommend`)."""
    parts.engine.embed_texts(profile, text)  # outside the slot: see `RecommendationEngine.embed_texts`
    with gate:
        ranked = parts.engine.recommend(profile, history, k=k, text=text, filters=filters, exclude=exclude,
                                        named_genres=named_genres)
    items = parts.engine.to_recommended(ranked)
    for it in items:
        it.explanation, it.explanation_source = parts.explainer.explain(it.item_id, it.evidence, use_llm=False)
    return items


def why(parts: Components, store: Stores, session_id: str, item_id: str) -> str:
    """"<title>: <reason>" for an item, from the evidence stored with the turn that showed it."""
    shown = {s.item_id: s for s in store.last_shown_items(session_id)}
    if item_id in shown and shown[item_id].extra.get("domain"):  # another catalog's item: its stored reason
        return f"{shown[item_id].title}: {shown[item_id].extra.get('explanation') or ''}".rstrip(": ")
    ev = Evidence.model_validate(shown[item_id].extra.get("evidence", {})) if item_id in shown else Evidence()
    sentence, _ = parts.explainer.explain(item_id, ev)
    return f"{parts.catalog.items[item_id].label}: {sentence}"


def onboarding_step(parts: Components, state: SessionState, profile: InterestProfile,
                    shown: Sequence[str]) -> OnboardingStep:
    """The next onboarding question (never one asked before in the session); records it in `state`."""
    step = parts.onboarding.next_step(profile, state.asked, set(shown))
    state.asked = step.asked
    return step

"""The `Assistant`: one object the chat CLI, the Gradio UI and the HTTP API all use.

It orchestrates; the work lives elsewhere: the parts are built in `components.py` (at start and on
a catalog change), each chat intent has a handler in `intents.py`, per-session memory lives in the
session store (`session_state.py`), and profiles, sessions and feedback are the store's own
operations (`assistant.store`), used through `assistant.store`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Generic, TypeVar

from recassist.assistant.compute_gate import ComputeGate
from recassist.assistant.conversation import intents, replies
from recassist.assistant.conversation.components import Components, build_components, load_parts, with_catalog
from recassist.assistant.conversation.engine import RecommendationEngine
from recassist.assistant.conversation.explain import Explainer
from recassist.assistant.conversation.models import (
    ChatEvent,
    ChatReply,
    FeedbackKind,
    OnboardingStep,
    ReadyState,
)
from recassist.assistant.conversation.onboarding import is_confident
from recassist.assistant.conversation.router import llm_route, route_turn
from recassist.assistant.conversation.session_state import SessionState
from recassist.assistant.conversation.turn import (
    DomainPlan,
    TurnContext,
    onboarding_step,
    recommend_items,
    why,
)
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.assistant.llm.base import LLMClient
from recassist.assistant.store import Stores
from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.catalog.updates import record_delete, record_upsert, updates_since, write_lock
from recassist.foundation.errors import InputError, NotFoundError, UnknownItemError
from recassist.foundation.profile import InterestProfile
from recassist.foundation.settings import Settings
from recassist.ranking.base import Ranker
from recassist.ranking.dialogue.text_to_item import REQUEST_MESSAGES
from recassist.retrieval.candidates import Candidate, CandidateGenerator
from recassist.retrieval.filters import parse_filter

MAX_K = 50
T = TypeVar("T")
#: (text, its rules-only reading, the session's last catalogs, turn number) -> the turn's `DomainPlan`.
PlanFor = Callable[[str, InterestProfile, list[str], int], DomainPlan]


class _Part(Generic[T]):
    """A read-only attribute of the assistant's current `Components`, by the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Assistant | None, objtype: type | None = None) -> T:
        if obj is None:  # looked up on the class (introspection, docs): the descriptor itself
            return self  # type: ignore[return-value]
        return getattr(obj.parts, self.name)


class Assistant:
    """Chat turns, one-shot recommendations, explanations, onboarding, feedback and catalog edits.

    Holds no per-user or per-session state: that is in `store`, so any worker can serve any turn.
    Safe to share between threads.
    """

    def __init__(self, settings: Settings, catalog: Catalog, store: Stores, candidates: CandidateGenerator,
                 ranker: Ranker | None, llm: LLMClient | None) -> None:
        self.settings = settings
        self.store = store
        self.parts: Components = build_components(settings, catalog, candidates, ranker, llm)
        self._catalog_lock = threading.Lock()
        #: The shared catalog-updates log's version this worker's catalog includes (Redis; 0 otherwise).
        self.catalog_version = 0
        #: The last catalog swap: log version, wall_ms and cpu_ms (reported by `ready`).
        self.last_catalog_swap: dict[str, float] = {}
        self._compute_gate = ComputeGate(settings.compute_slots)  # see assistant/compute_gate.py
        #: What `/readyz` and the UI report about the ranker (name; `open` adds kind and validation NDCG@10).
        self.served_ranker: dict = {"name": ranker.name if ranker is not None else "none"}

    @classmethod
    def open(cls, settings: Settings | None = None, *, use_llm: bool = True) -> Assistant:
        """Everything from settings. Raises `StateMismatchError` / `CheckpointError` naming the command to run
        (`recassist index build`, `recassist train`) when an artefact is missing or stale."""
        settings = settings or Settings()
        loaded = load_parts(settings, use_llm=use_llm)
        assistant = cls(settings, loaded.catalog, loaded.store, loaded.candidates, loaded.ranker, loaded.llm)
        assistant.served_ranker = loaded.served_ranker
        assistant.engine.conversation = loaded.conversation
        return assistant

    # The current parts, read through `parts` (a catalog change swaps them all at once).
    catalog = _Part[Catalog]()
    engine = _Part[RecommendationEngine]()
    extractor = _Part[InterestExtractor]()
    explainer = _Part[Explainer]()
    llm = _Part[LLMClient | None]()

    # --- conversation -----------------------------------------------------------
    def chat(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
             explain: bool = False, plan: PlanFor | None = None) -> ChatReply:
        """One turn. Items carry template explanations; `explain=True` asks the LLM too (slower)."""
        reply = None
        for event in self.chat_stream(user_id, message, session_id=session_id, k=k, explain=explain, plan=plan):
            if event.type == "reply":
                reply = event.reply
            elif event.type == "explanation" and reply is not None:
                for it in reply.items:
                    if it.item_id == event.item_id:
                        it.explanation, it.explanation_source = event.explanation or "", event.explanation_source
        assert reply is not None
        return reply

    def chat_stream(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
                    explain: bool = True, plan: PlanFor | None = None) -> Iterator[ChatEvent]:
        """The reply (items with template explanations) first, then LLM explanations one by one, then done.

        A new session is started when `session_id` is None; `NotFoundError` for an unknown one or another
        user's. `plan`: with several catalogs, picks the ones the turn answers from (`assistant.domains.chat`).
        """
        ctx = self._read_turn(user_id, message, session_id, _check_k(k), explain, plan)
        # Every intent the router produces has a handler; anything else is read as a request for items.
        yield from intents.HANDLERS.get(ctx.route.intent, intents.recommend)(ctx)

    def _read_turn(self, user_id: str, message: str, session_id: str | None, k: int,
                   explain: bool, plan_for: PlanFor | None = None) -> TurnContext:
        """Store the user's turn and read it: route, what it says, the stored profile and session state."""
        parts, store = self.parts, self.store
        session_id = self._own_session(user_id, session_id) if session_id else store.start_session(user_id)
        turns = store.session_turns(session_id)
        turn_no = len([t for t in turns if t.role == "user"])
        shown = [s.item_id for s in store.last_shown_items(session_id)]
        text = message or ""
        store.append_turn(session_id, "user", text[: self.settings.max_text_chars * 2] or " ")

        # Route on the rules-only reading first: commands, "why", small talk and refusals need no LLM call.
        delta, _ = parts.extractor.extract(text, turn=turn_no, use_llm=False)
        state = SessionState.load(store, session_id)
        plan = plan_for(text, delta, state.domains, turn_no) if plan_for is not None else None
        if plan is not None:
            delta = plan.read(delta)  # the other catalogs' titles count as something the turn said
        route = route_turn(text, has_shown_items=bool(shown), profile_extracted_anything=not delta.is_empty())
        if route.intent not in ("empty", "undo"):
            # A capable endpoint may overrule the rules (tool choice); the embedded model never does.
            route = llm_route(parts.llm, text, [parts.catalog.items[i].label for i in shown if i in parts.catalog],
                              timeout_s=self.settings.llm_timeout_s) or route
        if route.intent in ("recommend", "refine") and parts.llm is not None:
            delta, _ = parts.extractor.extract(text, turn=turn_no)
            delta = plan.read(delta) if plan is not None else delta
        notes = list(delta.notes) if delta.status == "degraded" or delta.truncated else []
        earlier = [t.text.strip() for t in turns if t.role == "user" and t.text.strip()][-(REQUEST_MESSAGES - 1):]
        return TurnContext(
            parts=parts, store=store, gate=self._compute_gate, user_id=user_id, session_id=session_id, text=text,
            request_text=" ".join([*earlier, text]), turn_no=turn_no, shown=shown, route=route, delta=delta,
            profile=store.get_profile(user_id, create=True), state=state, k=k, explain=explain, notes=notes,
            plan=plan,
        )

    # --- one-shot API ---------------------------------------------------------------
    def recommend(self, user_id: str | None, text: str | None, *, k: int = 10, filters: dict | None = None,
                  explain: bool = True,
                  read: Callable[[InterestProfile], InterestProfile] | None = None) -> ChatReply:
        """Recommendations for a stored user and/or a text, without a chat session.

        With a user id, the text's profile is merged into the stored profile (persisted);
        without one, the text alone is used. Raises `FilterError` for a bad filter. `read`: given what this
        catalog's extractor read in the text, what the text says as a whole (the caller's reading: with
        several catalogs, their titles and authors added).
        """
        k = _check_k(k, limit=MAX_K)
        parts = self.parts
        flt = parse_filter(filters, parts.catalog)
        delta = parts.extractor.extract(text)[0] if text and text.strip() else InterestProfile(status="empty")
        if read is not None and text and text.strip():
            delta = read(delta)
        changes: list[str] = []
        if user_id:
            profile = self.store.get_profile(user_id, create=True)
            if not delta.is_empty():
                changes = replies.describe(delta)
                self.store.merge_profile(user_id, delta, f"api: {'; '.join(changes)[:200]}")
                profile = self.store.get_profile(user_id)
        else:
            profile = delta if not delta.is_empty() else InterestProfile()
        history = parts.histories.history_of(user_id)
        items = recommend_items(parts, self._compute_gate, profile, history, k=k, text=text, filters=flt,
                                named_genres=delta.liked_genres())
        if explain:
            deadline = time.monotonic() + self.settings.llm_request_budget_s  # one LLM budget for the whole list
            for it in items:
                it.explanation, it.explanation_source = parts.explainer.explain(it.item_id, it.evidence,
                                                                                deadline=deadline)
        notes = list(delta.notes) if delta.status == "degraded" or delta.truncated else []
        return ChatReply(session_id="", user_id=user_id or "", intent="recommend",
                         text=replies.NOTHING_FOUND if not items else "", items=items, profile=profile,
                         profile_changes=changes, notes=notes)

    def extract(self, text: str) -> InterestProfile:
        """The grounded profile a text states; nothing is stored."""
        return self.parts.extractor.extract(text)[0]

    def explain_item(self, user_id: str, item_id: str, *, session_id: str | None = None) -> str:
        """Why `item_id` suits `user_id`, from the evidence the system has now."""
        parts = self.parts
        parts.catalog.get(item_id)
        if session_id:
            self._own_session(user_id, session_id)
            shown = [s.item_id for s in self.store.last_shown_items(session_id)]
            if item_id in shown:
                return why(parts, self.store, session_id, item_id)
        profile = self.store.get_profile(user_id, create=True)
        history = parts.histories.history_of(user_id)
        ev = parts.engine.evidence.build(profile, history, Candidate(item_id, [], {}))
        return parts.explainer.explain(item_id, ev)[0]

    def onboarding(self, user_id: str, session_id: str | None = None) -> OnboardingStep:
        """The next cold-start question for the user (never one the session has asked), or done."""
        parts = self.parts
        profile = self.store.get_profile(user_id, create=True)
        if is_confident(profile, len(parts.histories.history_of(user_id))):
            return OnboardingStep(question="I know enough to recommend: ask me anything.", done=True)
        state = SessionState.load(self.store, session_id)
        step = onboarding_step(parts, state, profile, [])
        state.save(self.store, session_id)
        return step

    def feedback(self, user_id: str, item_id: str, kind: FeedbackKind, *, session_id: str | None = None
                 ) -> InterestProfile:
        """Record like / dislike / seen / not_interested (checked against the current catalog); returns
        the profile it produced. `NotFoundError` for a session that is not the user's."""
        if session_id:
            self._own_session(user_id, session_id)
        self.store.record_feedback(user_id, item_id, kind, session_id=session_id, catalog=self.parts.catalog)
        return self.store.get_profile(user_id)

    def ready(self) -> ReadyState:
        """Readiness: the profile store and the vector index each answer one read (`StoreError` or the
        index's error otherwise)."""
        parts = self.parts
        self.store.ping()
        return ReadyState(catalog=parts.catalog.name, items=len(parts.catalog),
                          indexed_items=parts.candidates.store.count(), catalog_version=self.catalog_version,
                          catalog_swap=dict(self.last_catalog_swap))

    # --- catalog updates ------------------------------------------------------------------------
    def upsert_item(self, item: Item) -> None:
        """Add or replace an item; it becomes retrievable at once (no rebuild)."""
        from recassist.retrieval.index import upsert_items

        with write_lock(self.settings), self._catalog_lock:
            catalog = self._caught_up()
            # Log first: a crash after it is repaired by `recassist index build`.
            version = record_upsert(self.settings, item)
            self._replace_catalog(upsert_items(catalog, [item], self.settings, self.parts.candidates.embedder),
                                  version)

    def delete_item(self, item_id: str) -> None:
        """Remove an item; it is never recommended again. `UnknownItemError` if it is not in the catalog."""
        from recassist.retrieval.index import delete_items

        with write_lock(self.settings), self._catalog_lock:
            catalog = self._caught_up()
            if item_id not in catalog:
                raise UnknownItemError(f"item id {item_id!r} is not in the catalog")
            version = record_delete(self.settings, item_id)
            self._replace_catalog(delete_items(catalog, [item_id], self.settings, self.parts.candidates.embedder),
                                  version)

    def _caught_up(self) -> Catalog:
        """The catalog with every update other workers logged so far: under the write lock, the index
        manifest describes exactly that catalog, so this write extends it instead of overwriting it.
        (`catalog_version` moves on only with the swap: if the write fails, the follower still applies them.)"""
        return updates_since(self.parts.catalog, self.settings, self.catalog_version)[0]

    def swap_ranker(self, ranker: Ranker, served: dict | None = None) -> None:
        """Rank with `ranker` from the next request on (requests in flight finish with the previous one).
        `served`: what `/readyz` and the UI report about it (name, validation NDCG@10)."""
        with self._catalog_lock:
            self.parts = replace(self.parts, engine=self.parts.engine.with_ranker(ranker))
            if served is not None:
                self.served_ranker = served

    def swap_conversation(self, scorer) -> None:
        """Rank chats with the conversation-trained `scorer` from the next request on (a layer trained in the
        background; `assistant.dialogue.adoption`)."""
        with self._catalog_lock:
            self.parts.engine.conversation = scorer  # catalog swaps carry it over (`with_catalog`)

    def follow_catalog(self, change: Callable[[Catalog], Catalog], version: int | None = None) -> bool:
        """Swap in `change(catalog)`: updates another worker made, already in the shared index (so nothing
        is re-indexed here), up to log `version`. Returns whether the catalog changed. See
        `assistant.catalog_sync`."""
        with self._catalog_lock:
            catalog = change(self.parts.catalog)
            if catalog is self.parts.catalog:
                self.catalog_version = max(self.catalog_version, version or 0)
                return False
            self._replace_catalog(catalog, version)
            return True

    def _own_session(self, user_id: str, session_id: str) -> str:
        """`session_id` if it is `user_id`'s; `NotFoundError` otherwise, the same answer as for an unknown id, so
        a replayed id neither joins another user's conversation nor reveals that it exists."""
        if self.store.session(session_id).user_id != user_id:
            raise NotFoundError(f"session {session_id!r} not found for user {user_id!r}; omit session_id to start "
                                "a new session")
        return session_id

    def _replace_catalog(self, catalog: Catalog, version: int | None = None) -> None:
        """Build the catalog-dependent parts anew (patched after a small change), then swap them in:
        requests in flight keep the old ones. `version`: the shared log's version `catalog` includes."""
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        self.parts = with_catalog(self.parts, catalog)
        self.store.catalog = catalog  # edits and feedback through the store check ids against it
        self.catalog_version = max(self.catalog_version, version or 0)
        self.last_catalog_swap = {"version": self.catalog_version, "wall_ms": (time.perf_counter() - wall0) * 1000,
                                  "cpu_ms": (time.thread_time() - cpu0) * 1000}


def _check_k(k: int, limit: int = MAX_K) -> int:
    if not isinstance(k, int) or not 1 <= k <= limit:
        raise InputError(f"k must be an integer from 1 to {limit}, got {k!r}")
    return k

"""The `Assistant`: one object the chat CLI, the Gradio UI and the HTTP API all use.

It owns no logic of its own beyond orchestration: extraction (assistant.extraction),
routing (router.py), critiques (critique.py), recommendation (engine.py),
explanations (explain.py), onboarding (onboarding.py) and persistence
(assistant.store) each live in their own module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

from recassist.assistant.compute_gate import ComputeGate
from recassist.assistant.conversation import replies
from recassist.assistant.conversation.critique import apply_critique
from recassist.assistant.conversation.engine import RecommendationEngine
from recassist.assistant.conversation.explain import Explainer
from recassist.assistant.conversation.models import (
    ChatEvent,
    ChatReply,
    Evidence,
    FeedbackKind,
    OnboardingStep,
    RecommendedItem,
)
from recassist.assistant.conversation.onboarding import Onboarding, has_positive_signal, is_confident
from recassist.assistant.conversation.references import resolve_reference
from recassist.assistant.conversation.router import llm_route, route_turn
from recassist.assistant.dialogue.scorer import ConversationScorer
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.assistant.llm.base import LLMClient
from recassist.assistant.store import ShownItem, Stores, open_store
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.catalog.updates import apply_updates, record_delete, record_upsert
from recassist.foundation.errors import InputError, NotFoundError, UnknownItemError
from recassist.foundation.profile import InterestProfile
from recassist.foundation.settings import Settings
from recassist.ranking.base import Ranker
from recassist.retrieval.candidates import CandidateGenerator
from recassist.retrieval.filters import Filter, parse_filter

MAX_K = 50


class Assistant:
    def __init__(self, settings: Settings, catalog: Catalog, store: Stores, candidates: CandidateGenerator,
                 ranker: Ranker | None, llm: LLMClient | None) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.llm = llm
        self.engine = RecommendationEngine(catalog, candidates, ranker)
        self.extractor = InterestExtractor(catalog, llm, max_chars=settings.max_text_chars,
                                           llm_timeout_s=settings.llm_timeout_s)
        self.explainer = Explainer(catalog, llm, timeout_s=min(15.0, settings.llm_timeout_s))
        self.onboarding_flow = Onboarding(catalog, candidates.vectors, candidates.arrays.index)
        self._asked: dict[str, list[str]] = {}  # session -> onboarding question kinds asked
        self._last_discussed: dict[str, str] = {}
        self._catalog_lock = threading.Lock()
        self._compute_gate = ComputeGate(settings.compute_slots)  # see assistant/compute_gate.py
        self.served_ranker: dict = {"name": ranker.name if ranker is not None else "none"}

    @classmethod
    def open(cls, settings: Settings | None = None, *, use_llm: bool = True) -> Assistant:
        """Everything from settings. Raises `StateMismatchError` / `CheckpointError` naming the command to run
        (`recassist index build`, `recassist train`) when an artefact is missing or stale."""
        from recassist.assistant.llm import get_llm
        from recassist.foundation.threads import pin_compute_threads
        from recassist.ranking.serving import load_serving_ranker

        pin_compute_threads(1)  # requests run side by side in worker threads, each on one core
        settings = settings or Settings()
        settings.ensure_dirs()
        base = load_catalog_cached(str(settings.catalog_dir))
        catalog = apply_updates(base, settings)  # items added / removed through the API since
        candidates = CandidateGenerator.open(settings, catalog)
        _warm_up_query_embeddings(candidates.embedder)
        # Trained on the catalog folder; new items score by text. Aspect texts share the request-side cache.
        ranker, served = load_serving_ranker(settings, base, text_encoder=candidates.queries.encode)
        store = open_store(settings, catalog)
        assistant = cls(settings, catalog, store, candidates, ranker, get_llm(settings) if use_llm else None)
        assistant.served_ranker = served
        # The conversation-trained layer when its files are current; else the hand-set blend (with a note).
        assistant.engine.conversation = ConversationScorer.open(settings.models_dir, base.version)
        return assistant

    # --- conversation -----------------------------------------------------------
    def start_session(self, user_id: str) -> str:
        return self.store.start_session(user_id)

    def chat(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
             explain: bool = False) -> ChatReply:
        """One turn. Items carry template explanations; `explain=True` asks the LLM too (slower)."""
        reply = None
        for event in self.chat_stream(user_id, message, session_id=session_id, k=k, explain=explain):
            if event.type == "reply":
                reply = event.reply
            elif event.type == "explanation" and reply is not None:
                for it in reply.items:
                    if it.item_id == event.item_id:
                        it.explanation, it.explanation_source = event.explanation or "", event.explanation_source
        assert reply is not None
        return reply

    def chat_stream(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
                    explain: bool = True) -> Iterator[ChatEvent]:
        """The reply (items with template explanations) first, then LLM explanations one by one, then done."""
        k = _check_k(k)
        session_id = self._own_session(user_id, session_id) if session_id else self.store.start_session(user_id)
        turns = self.store.session_turns(session_id)
        turn_no = len([t for t in turns if t.role == "user"])
        shown = [s.item_id for s in self.store.last_shown_items(session_id)]
        text = message or ""
        self.store.append_turn(session_id, "user", text[: self.settings.max_text_chars * 2] or " ")

        # Route on the rules-only reading first: commands, "why", small talk and refusals need no LLM call.
        delta, _ = self.extractor.extract(text, turn=turn_no, use_llm=False)
        route = route_turn(text, has_shown_items=bool(shown), profile_extracted_anything=not delta.is_empty())
        if route.intent not in ("empty", "undo"):
            # A capable endpoint may overrule the rules (tool choice); the embedded model never does.
            route = llm_route(self.llm, text, [self.catalog.items[i].label for i in shown if i in self.catalog],
                              timeout_s=self.settings.llm_timeout_s) or route
        if route.intent in ("recommend", "refine") and self.llm is not None:
            delta, _ = self.extractor.extract(text, turn=turn_no)
        notes = list(delta.notes) if delta.status == "degraded" or delta.truncated else []
        profile = self.store.get_profile(user_id, create=True)
        changes: list[str] = []
        exclude_now: list[str] = []

        if route.intent in ("empty", "smalltalk", "out_of_scope"):
            msg = {"empty": replies.EMPTY, "smalltalk": replies.GREETING, "out_of_scope": replies.OUT_OF_SCOPE}[
                route.intent]
            yield from self._finish(session_id, user_id, route.intent, msg, [], profile, changes, notes)
            return
        if route.intent == "undo":
            try:
                undone = self.store.undo(user_id)
                profile, msg = undone.profile, f"Undone: {undone.undone_reason}."
                changes.append(f"undid: {undone.undone_reason}")
            except InputError:
                msg = replies.UNDO_NOTHING
            yield from self._finish(session_id, user_id, "undo", msg, [], profile, changes, notes)
            return
        if route.intent == "explain":
            target = resolve_reference(text, shown, self.extractor.matcher,
                                       last_discussed=self._last_discussed.get(session_id))
            if target is None and route.item_reference:  # "the heist one": the endpoint named a shown item
                target = resolve_reference(route.item_reference, shown, self.extractor.matcher)
            msg = replies.NO_REFERENCE if target is None else self._why(session_id, target)
            if target:
                self._last_discussed[session_id] = target
            yield from self._finish(session_id, user_id, "explain", msg, [], profile, changes, notes)
            return
        if route.intent == "refine":
            crit = apply_critique(text, shown, self.catalog, self.extractor.matcher, self.extractor.vocab,
                                  turn=turn_no, last_discussed=self._last_discussed.get(session_id))
            delta = delta.merged_with(crit.delta)
            exclude_now = crit.exclude_now
            if exclude_now:
                changes.append("different suggestions this time")
        if not delta.is_empty():
            changes = _describe(delta) + changes
            self.store.merge_profile(user_id, delta, f"turn {turn_no}: {'; '.join(changes)[:200]}")
            profile = self.store.get_profile(user_id)

        history = self.engine.history_of(user_id)
        step = None
        if not is_confident(profile, len(history)):
            step = self._onboarding_step(session_id, profile, shown)
            if not has_positive_signal(profile, len(history)):
                # Nothing to rank with yet: ask (or show well-known items to react to) instead of guessing.
                yield from self._finish(session_id, user_id, "onboarding", step.question, step.items, profile,
                                        changes, notes, onboarding=step)
                return
        items = self._recommend_items(profile, history, k=k, text=text, exclude=exclude_now)
        msg = replies.NOTHING_FOUND if not items else _intro(route.intent, changes)
        if step is not None and items:
            # One message, two sentences: the question first, then the intro the list follows.
            ask = ("Like or dislike any of these to sharpen the next list." if step.items else
                   f"To sharpen the next list: {step.question}")
            msg = f"{ask}\n\n{msg}"
        yield from self._finish(session_id, user_id, route.intent, msg, items, profile, changes, notes,
                                onboarding=step)
        if explain and items and self.llm is not None:
            deadline = time.monotonic() + self.settings.llm_request_budget_s
            for it in items:
                sentence, source = self.explainer.explain(it.item_id, it.evidence, deadline=deadline)
                if source == "llm":
                    yield ChatEvent(type="explanation", item_id=it.item_id, explanation=sentence,
                                    explanation_source="llm")
        yield ChatEvent(type="done")

    def _own_session(self, user_id: str, session_id: str) -> str:
        """`session_id` if it is `user_id`'s; `NotFoundError` otherwise, the same answer as for an unknown id, so
        a replayed id neither joins another user's conversation nor reveals that it exists."""
        if self.store.session(session_id).user_id != user_id:
            raise NotFoundError(f"session {session_id!r} not found for user {user_id!r}; omit session_id to start "
                                "a new session")
        return session_id

    def _finish(self, session_id: str, user_id: str, intent, msg: str, items: list[RecommendedItem],
                profile: InterestProfile, changes: list[str], notes: list[str],
                onboarding: OnboardingStep | None = None) -> Iterator[ChatEvent]:
        shown = [ShownItem(item_id=i.item_id, title=i.title, score=i.score,
                           extra={"evidence": i.evidence.model_dump(mode="json")}) for i in items]
        self.store.append_turn(session_id, "assistant", msg, items=shown or None)
        yield ChatEvent(type="reply", reply=ChatReply(
            session_id=session_id, user_id=user_id, intent=intent, text=msg, items=items, profile=profile,
            profile_changes=changes, onboarding=onboarding, notes=notes))
        if intent in ("empty", "smalltalk", "out_of_scope", "undo", "explain", "onboarding") or not items:
            yield ChatEvent(type="done")

    def _recommend_items(self, profile: InterestProfile, history: Sequence[str], *, k: int, text: str | None,
                         filters: Filter | None = None, exclude: Sequence[str] = ()) -> list[RecommendedItem]:
        self.engine.embed_texts(profile, text)
        with self._compute_gate:
            ranked = self.engine.recommend(profile, history, k=k, text=text, filters=filters, exclude=exclude)
        items = self.engine.to_recommended(ranked)
        for it in items:
            it.explanation, it.explanation_source = self.explainer.explain(it.item_id, it.evidence, use_llm=False)
        return items

    def _why(self, session_id: str, item_id: str) -> str:
        shown = {s.item_id: s for s in self.store.last_shown_items(session_id)}
        ev = Evidence.model_validate(shown[item_id].extra.get("evidence", {})) if item_id in shown else Evidence()
        sentence, _ = self.explainer.explain(item_id, ev)
        return f"{self.catalog.items[item_id].label}: {sentence}"

    def _onboarding_step(self, session_id: str, profile: InterestProfile, shown: list[str]) -> OnboardingStep:
        asked = self._asked.get(session_id, [])
        step = self.onboarding_flow.next_step(profile, asked, set(shown))
        self._asked[session_id] = step.asked
        return step

    # --- one-shot API ---------------------------------------------------------------
    def recommend(self, user_id: str | None, text: str | None, *, k: int = 10, filters: dict | None = None,
                  explain: bool = True) -> ChatReply:
        """Recommendations for a stored user and/or a text, without a chat session.

        With a user id, the text's profile is merged into the stored profile (persisted);
        without one, the text alone is used. Raises `FilterError` for a bad filter.
        """
        k = _check_k(k, limit=MAX_K)
        flt = parse_filter(filters, self.catalog)
        delta = self.extractor.extract(text)[0] if text and text.strip() else InterestProfile(status="empty")
        changes: list[str] = []
        if user_id:
            profile = self.store.get_profile(user_id, create=True)
            if not delta.is_empty():
                changes = _describe(delta)
                self.store.merge_profile(user_id, delta, f"api: {'; '.join(changes)[:200]}")
                profile = self.store.get_profile(user_id)
        else:
            profile = delta if not delta.is_empty() else InterestProfile()
        history = self.engine.history_of(user_id)
        items = self._recommend_items(profile, history, k=k, text=text, filters=flt)
        if explain:
            deadline = time.monotonic() + self.settings.llm_request_budget_s
            for it in items:
                it.explanation, it.explanation_source = self.explainer.explain(it.item_id, it.evidence,
                                                                               deadline=deadline)
        notes = list(delta.notes) if delta.status == "degraded" or delta.truncated else []
        return ChatReply(session_id="", user_id=user_id or "", intent="recommend",
                         text=replies.NOTHING_FOUND if not items else "", items=items, profile=profile,
                         profile_changes=changes, notes=notes)

    def extract(self, text: str) -> InterestProfile:
        return self.extractor.extract(text)[0]

    def explain_item(self, user_id: str, item_id: str, *, session_id: str | None = None) -> str:
        """Why `item_id` suits `user_id`, from the evidence the system has now."""
        self.catalog.get(item_id)
        if session_id:
            self._own_session(user_id, session_id)
            shown = [s.item_id for s in self.store.last_shown_items(session_id)]
            if item_id in shown:
                return self._why(session_id, item_id)
        profile = self.store.get_profile(user_id, create=True)
        from recassist.retrieval.candidates import Candidate

        ev = self.engine.evidence(profile, self.engine.history_of(user_id), Candidate(item_id, [], {}))
        return self.explainer.explain(item_id, ev)[0]

    def onboarding(self, user_id: str, session_id: str | None = None) -> OnboardingStep:
        profile = self.store.get_profile(user_id, create=True)
        sid = session_id or ""
        if is_confident(profile, len(self.engine.history_of(user_id))):
            return OnboardingStep(question="I know enough to recommend: ask me anything.", done=True)
        return self._onboarding_step(sid, profile, [])

    # --- profiles and feedback (shared with the UI and the API) ------------------------------------
    def get_profile(self, user_id: str) -> InterestProfile:
        return self.store.get_profile(user_id)

    def patch_profile(self, user_id: str, ops: list) -> InterestProfile:
        self.store.patch_profile(user_id, ops, self.catalog)
        return self.store.get_profile(user_id)

    def delete_profile(self, user_id: str) -> None:
        self.store.delete_profile(user_id)

    def undo(self, user_id: str) -> InterestProfile:
        return self.store.undo(user_id).profile

    def profile_history(self, user_id: str):
        return self.store.history(user_id)

    def feedback(self, user_id: str, item_id: str, kind: FeedbackKind, *, session_id: str | None = None
                 ) -> InterestProfile:
        if session_id:
            self._own_session(user_id, session_id)
        self.store.record_feedback(user_id, item_id, kind, session_id=session_id, catalog=self.catalog)
        return self.store.get_profile(user_id)

    # --- catalog updates ------------------------------------------------------------------------
    def upsert_item(self, item: Item) -> None:
        """Add or replace an item; it becomes retrievable at once (no rebuild)."""
        from recassist.retrieval.index import upsert_items

        with self._catalog_lock:
            record_upsert(self.settings, item)  # first: a crash after it is repaired by `recassist index build`
            self._replace_catalog(upsert_items(self.catalog, [item], self.settings, self.engine.candidates.embedder))

    def delete_item(self, item_id: str) -> None:
        from recassist.retrieval.index import delete_items

        if item_id not in self.catalog:
            raise UnknownItemError(f"item id {item_id!r} is not in the catalog")
        with self._catalog_lock:
            record_delete(self.settings, item_id)
            self._replace_catalog(delete_items(self.catalog, [item_id], self.settings,
                                               self.engine.candidates.embedder))

    def swap_ranker(self, ranker: Ranker, served: dict | None = None) -> None:
        """Rank with `ranker` from the next request on (requests in flight finish with the previous one).
        `served`: what `/readyz` and the UI report about it (name, validation NDCG@10)."""
        with self._catalog_lock:
            self.engine = self.engine.with_ranker(ranker)
            if served is not None:
                self.served_ranker = served

    def follow_catalog(self, change: Callable[[Catalog], Catalog]) -> bool:
        """Swap in `change(catalog)`: updates another worker made, already in the shared index (so nothing
        is re-indexed here). Returns whether the catalog changed. See `assistant.catalog_sync`."""
        with self._catalog_lock:
            catalog = change(self.catalog)
            if catalog is self.catalog:
                return False
            self._replace_catalog(catalog)
            return True

    def _replace_catalog(self, catalog: Catalog) -> None:
        """Build the catalog-dependent parts anew, then swap them in: requests in flight keep the old ones."""
        old = self.engine.candidates
        candidates = CandidateGenerator(catalog, old.store, old.embedder, self.settings, old.config, old.queries)
        engine = RecommendationEngine(catalog, candidates, self.engine.ranker)
        engine.conversation = self.engine.conversation
        extractor = InterestExtractor(catalog, self.llm, max_chars=self.settings.max_text_chars,
                                      llm_timeout_s=self.settings.llm_timeout_s)
        explainer = Explainer(catalog, self.llm, timeout_s=min(15.0, self.settings.llm_timeout_s))
        explainer.stats = self.explainer.stats
        onboarding = Onboarding(catalog, candidates.vectors, candidates.arrays.index)
        self.catalog, self.engine, self.extractor, self.explainer, self.onboarding_flow = (
            catalog, engine, extractor, explainer, onboarding)


def _check_k(k: int, limit: int = MAX_K) -> int:
    if not isinstance(k, int) or not 1 <= k <= limit:
        raise InputError(f"k must be an integer from 1 to {limit}, got {k!r}")
    return k


def _describe(delta: InterestProfile) -> list[str]:
    out = [f"liked {p.title}" for p in delta.liked_items]
    out += [f"disliked {p.title}" for p in delta.disliked_items]
    out += [f"wants {a.aspect}" for a in delta.liked_aspects]
    out += [f"avoids {a.aspect}" for a in delta.disliked_aspects]
    out += [f"theme: {t.text}" for t in delta.themes]
    c = delta.constraints
    if c.years:
        out.append(f"years {c.years.min_year or '…'}–{c.years.max_year or '…'}")
    out += [f"seen {p.title}" for p in c.seen_items]
    out += [f"excluded {p.title}" for p in c.excluded_items]
    out += [f"no {g.aspect}" for g in c.excluded_genres]
    return out


def _intro(intent: str, changes: list[str]) -> str:
    if intent == "refine" and changes:
        return f"Updated ({'; '.join(changes)}). Here is what fits now:"
    if changes:
        return f"Noted: {'; '.join(changes)}. You might like:"
    return "You might like:"


def _warm_up_query_embeddings(embedder) -> None:
    """Build the fast embedding paths now (~3 s, once per process), not inside the first request."""
    warm = getattr(embedder, "backends", None)
    if warm is not None:
        warm()

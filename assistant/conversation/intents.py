"""One handler per intent, registered in `HANDLERS`: a `TurnContext` in, the turn's events out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from recassist.assistant.conversation import replies
from recassist.assistant.conversation.critique import apply_critique
from recassist.assistant.conversation.models import ChatEvent, Intent
from recassist.assistant.conversation.onboarding import has_positive_signal, is_confident
from recassist.assistant.conversation.references import resolve_reference
from recassist.assistant.conversation.turn import TurnContext, onboarding_step, recommend_items, why
from recassist.foundation.errors import InputError

Handler = Callable[[TurnContext], Iterator[ChatEvent]]

_CANNED = {"empty": replies.EMPTY, "smalltalk": replies.GREETING, "out_of_scope": replies.OUT_OF_SCOPE}


def canned(ctx: TurnContext) -> Iterator[ChatEvent]:
    """Empty text, small talk, off-topic: a fixed sentence, nothing changes."""
    yield from ctx.finish(ctx.route.intent, _CANNED[ctx.route.intent])


def undo(ctx: TurnContext) -> Iterator[ChatEvent]:
    """Take back the latest profile change still in effect."""
    try:
        undone = ctx.store.undo(ctx.user_id)
        ctx.profile, msg = undone.profile, f"Undone: {undone.undone_reason}."
        ctx.changes.append(f"undid: {undone.undone_reason}")
    except InputError:
        msg = replies.UNDO_NOTHING
    yield from ctx.finish("undo", msg)


def explain(ctx: TurnContext) -> Iterator[ChatEvent]:
    """"Why the second one?": the evidence behind a shown item (or the one discussed last)."""
    matcher = ctx.parts.extractor.matcher
    target = resolve_reference(ctx.text, ctx.shown, matcher, last_discussed=ctx.state.last_discussed)
    if target is None and ctx.route.item_reference:  # "the heist one": the endpoint named a shown item
        target = resolve_reference(ctx.route.item_reference, ctx.shown, matcher)
    msg = replies.NO_REFERENCE if target is None else why(ctx.parts, ctx.store, ctx.session_id, target)
    if target:
        ctx.state.last_discussed = target
    yield from ctx.finish("explain", msg)


def refine(ctx: TurnContext) -> Iterator[ChatEvent]:
    """A critique of the shown items ("older", "not that one", "more like the second"), then recommend."""
    parts = ctx.parts
    crit = apply_critique(ctx.text, ctx.shown, parts.catalog, parts.extractor.matcher, parts.extractor.vocab,
                          turn=ctx.turn_no, last_discussed=ctx.state.last_discussed)
    ctx.delta = ctx.delta.merged_with(crit.delta)
    if crit.exclude_now:
        ctx.changes.append("different suggestions this time")
    yield from _recommend(ctx, exclude=crit.exclude_now)


def recommend(ctx: TurnContext) -> Iterator[ChatEvent]:
    """Tastes stated or items asked for: merge what the turn said, then list items (or onboard)."""
    yield from _recommend(ctx, exclude=[])


def _recommend(ctx: TurnContext, *, exclude: list[str]) -> Iterator[ChatEvent]:
    parts, intent = ctx.parts, ctx.route.intent
    if not ctx.delta.is_empty():
        ctx.changes = replies.describe(ctx.delta) + ctx.changes
        ctx.store.merge_profile(ctx.user_id, ctx.delta, f"turn {ctx.turn_no}: {'; '.join(ctx.changes)[:200]}")
        ctx.profile = ctx.store.get_profile(ctx.user_id)

    history = parts.histories.history_of(ctx.user_id)
    plan = ctx.plan
    step = None
    # A list from other catalogs only needs no onboarding: their scoring answers an empty taste too.
    if (plan is None or plan.first) and not is_confident(ctx.profile, len(history)):
        step = onboarding_step(parts, ctx.state, ctx.profile, ctx.shown)
        if not has_positive_signal(ctx.profile, len(history)):
            # Nothing to rank with yet: ask (or show well-known items to react to) instead of guessing.
            yield from ctx.finish("onboarding", step.question, step.items, onboarding=step)
            return
    k_first = ctx.k if plan is None else plan.first
    items = recommend_items(parts, ctx.gate, ctx.profile, history, k=k_first, text=ctx.request_text,
                            exclude=exclude, named_genres=ctx.delta.liked_genres()) if k_first else []
    if plan is not None:
        items += plan.items(ctx.profile, ctx.text)
        ctx.state.domains = list(plan.domains)
    msg = replies.NOTHING_FOUND if not items else replies.intro(intent, ctx.changes, replies.what(items))
    if step is not None and items:
        # One message, two sentences: the question first, then the intro the list follows.
        ask = ("Like or dislike any of these to sharpen the next list." if step.items else
               f"To sharpen the next list: {step.question}")
        msg = f"{ask}\n\n{msg}"
    yield from ctx.finish(intent, msg, items, onboarding=step)
    if ctx.explain and items and parts.llm is not None:
        deadline = time.monotonic() + parts.settings.llm_request_budget_s  # one LLM budget for the whole list
        for it in (i for i in items if i.domain is None):  # other catalogs' reasons are final already
            sentence, source = parts.explainer.explain(it.item_id, it.evidence, deadline=deadline)
            if source == "llm":
                yield ChatEvent(type="explanation", item_id=it.item_id, explanation=sentence,
                                explanation_source="llm")
    yield ChatEvent(type="done")


HANDLERS: dict[Intent, Handler] = {
    "empty": canned,
    "smalltalk": canned,
    "out_of_scope": canned,
    "undo": undo,
    "explain": explain,
    "refine": refine,
    "recommend": recommend,
}

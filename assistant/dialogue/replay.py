"""Replaying corpus conversations as chats: the requests a recommender turn answered, with their features.

Each seeker message goes through extraction and profile merging as in a chat; items named so far (found in
the text by the title matcher, as at serving time) are the history and are excluded from the ranking. At each
recommender turn that newly suggests items, the candidates' features are computed and the suggested items are
the positives (the dedup protocol of `assistant.evaluation.crs_eval`). At each seeker turn that newly names items
the seeker liked (and nobody suggested), the same is done with those items as the positives, from what was said
before that turn: more requests of what fits this person, which the layer is fitted on but never measured or
stopped on (`kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from recassist.assistant.dialogue.features import (
    FEATURES,
    ChatModels,
    TurnFeatures,
    candidate_pool,
    pool_features,
)
from recassist.assistant.extraction.mentions import matcher_for
from recassist.foundation.profile import InterestProfile
from recassist.ranking.dialogue.corpus import Conversation
from recassist.ranking.dialogue.text_to_item import REQUEST_MESSAGES

#: What a replayed request's positives are: the items a recommender turn newly suggested, or the items a seeker
#: turn newly named and liked. Fitting on both ranked the recommenders' suggestions better on held-out training
#: dialogues (docs/conversations.md).
SUGGESTED, SEEKER_LIKED = 0, 1


@dataclass
class ReplayedTurns:
    """Stacked features of many requests: rows of `X` grouped by request (`groups`: rows per request). A
    request with no target among its candidates has no rows, only its `n_targets` (misses for every method)."""

    X: list[np.ndarray] = field(default_factory=list)  # per request: float32 [n_cands, len(FEATURES)]
    y: list[np.ndarray] = field(default_factory=list)  # per request: int8 [n_cands], 1 = suggested there
    ids: list[list[str]] = field(default_factory=list)
    engine_order: list[np.ndarray] = field(default_factory=list)
    liked_share: list[np.ndarray] = field(default_factory=list)
    genre_share: list[np.ndarray] = field(default_factory=list)  # what the served order puts first
    n_targets: list[int] = field(default_factory=list)  # targets per request, found among candidates or not
    conversation: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)  # SUGGESTED or SEEKER_LIKED

    def append(self, feats: TurnFeatures | None, y: np.ndarray, n_targets: int, conversation: str, kind: int
               ) -> None:
        """One request; `feats` None for one without features (no target among its candidates): no rows."""
        if feats is None:
            feats, y = TurnFeatures.empty(), y[:0]
        self.X.append(feats.X)
        self.y.append(y)
        self.ids.append(feats.ids)
        self.engine_order.append(feats.engine_order)
        self.liked_share.append(feats.liked_share)
        self.genre_share.append(feats.genre_share)
        self.n_targets.append(n_targets)
        self.conversation.append(conversation)
        self.kind.append(kind)

    def extend(self, other: ReplayedTurns) -> None:
        for name in ("X", "y", "ids", "engine_order", "liked_share", "genre_share", "n_targets", "conversation",
                     "kind"):
            getattr(self, name).extend(getattr(other, name))

    def save(self, path) -> None:
        from recassist.ranking.storage import atomic_write

        sizes = np.array([len(x) for x in self.X])
        arrays = dict(X=np.concatenate(self.X), y=np.concatenate(self.y), sizes=sizes,
                      ids=np.array([i for ids in self.ids for i in ids]),
                      engine_order=np.concatenate(self.engine_order),
                      liked_share=np.concatenate(self.liked_share), genre_share=np.concatenate(self.genre_share),
                      n_targets=np.array(self.n_targets),
                      conversation=np.array(self.conversation), kind=np.array(self.kind, np.int8),
                      features=np.array(FEATURES))
        atomic_write(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path) -> ReplayedTurns:
        with np.load(path, allow_pickle=False) as z:
            if tuple(z["features"]) != FEATURES:
                raise ValueError(f"{path} holds other features than this version computes; rebuild it")
            cuts = np.cumsum(z["sizes"])[:-1]
            ids = [list(x) for x in np.split(z["ids"].astype(str), cuts)]
            liked = np.split(z["liked_share"], cuts)
            genre = np.split(z["genre_share"], cuts) if "genre_share" in z.files else liked  # older files
            # Older files hold recommender turns only.
            kind = [int(k) for k in z["kind"]] if "kind" in z.files else [SUGGESTED] * len(z["sizes"])
            return cls(np.split(z["X"], cuts), np.split(z["y"], cuts), ids, np.split(z["engine_order"], cuts),
                       liked, genre, list(z["n_targets"]), list(z["conversation"].astype(str)), kind)


def replayed_requests(conv: Conversation) -> dict[int, tuple[int, list[str], str]]:
    """{turn index: (kind, targets, request text)} for the turns of `conv` that `replay` makes requests of:
    what was said before the turn is the request, what it newly suggests (or names and likes) the targets."""
    out: dict[int, tuple[int, list[str], str]] = {}
    seeker_text: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(conv.turns):
        if t.role == "recommender":
            kind, targets = SUGGESTED, [x for x in t.items if x not in seen and conv.suggested(x)]
        else:
            kind = SEEKER_LIKED
            targets = [x for x in t.items if x not in seen and conv.polarity(x) > 0 and not conv.suggested(x)]
        if targets:
            out[i] = (kind, targets, " ".join(seeker_text[-REQUEST_MESSAGES:]))
        seen.update(t.items)
        if t.role == "seeker":
            seeker_text.append(t.text)
    return out


def replay(conversations: Iterable[Conversation], assistant, models_for: Callable[[Conversation], ChatModels],
           progress: Callable[[int], None] | None = None,
           text_vectors: Mapping[str, np.ndarray] | None = None) -> ReplayedTurns:
    """Features and labels of every recommender turn with new suggestions in `conversations`.

    `models_for(conv)`: the conversation-trained scorers to use for that conversation (ones not fitted on it,
    for training data). `text_vectors`: request texts' vectors embedded already (`text_vectors.text_vectors`,
    the vectors the engine would compute), so the replay does not embed them again.
    """
    engine, extractor = assistant.engine, assistant.extractor
    matcher = matcher_for(assistant.catalog)
    max_chars = engine.candidates.settings.max_text_chars
    out = ReplayedTurns()
    for conv in conversations:
        models = models_for(conv)
        requests = replayed_requests(conv)
        profile = InterestProfile()
        mentioned: list[str] = []
        named: set[str] = set()  # genres the seeker's latest message names: they lead a served list
        for i, t in enumerate(conv.turns):
            if i in requests:
                kind, targets, text = requests[i]
                if text_vectors and text in text_vectors:
                    engine.candidates.queries.remember(text.strip()[:max_chars], text_vectors[text])
                blocked = set(profile.disliked_ids())
                history = [m for m in mentioned if m not in blocked]
                pool = candidate_pool(engine, models, profile, history, text=text, exclude=mentioned)
                if pool is not None:
                    y = np.array([x in targets for x in pool.ids], np.int8)
                    # A request with no target among its candidates teaches the layer nothing: it keeps its
                    # targets (they count as misses) without its candidates' features, a quarter of the replay.
                    feats = (pool_features(engine, models, profile, history, pool, text=text, named_genres=named)
                             if y.any() else None)
                    out.append(feats, y, len(targets), conv.conversation_id, kind)
            if t.role == "seeker":
                delta, _ = extractor.extract(t.text, use_llm=False)
                profile = profile.merged_with(delta)
                named = delta.liked_genres()
            mentioned.extend(x.item_id for x in matcher.find_mentions(t.text) if x.item_id not in mentioned)
        if progress:
            progress(1)
    return out

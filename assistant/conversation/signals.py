"""Gathering `scoring.Signals` for one request's candidates from the shared, read-only parts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from recassist.assistant.conversation.scoring import LONG_HISTORY, Signals
from recassist.foundation.profile import InterestProfile
from recassist.ranking.base import Ranker, UserQuery
from recassist.retrieval.candidates import Candidate, CandidateGenerator


class SignalSource:
    """Computes every signal the blend reads, for candidates at given catalog rows.

    Holds the candidate generator's arrays and item vectors (float32 [n_items, d], L2-normalised,
    catalog order) and the request-side text embedder; the ranker is passed per call, so an engine
    may swap it without rebuilding this.
    """

    def __init__(self, candidates: CandidateGenerator) -> None:
        self.candidates = candidates
        self.arrays = candidates.arrays
        self.vectors = candidates.vectors
        self.rows = candidates.arrays.index  # item id -> catalog row
        self._genre_cols: dict[str, list[int]] = {}  # lower-cased genre -> its columns of genre_matrix
        for genre, col in self.arrays.genre_col.items():
            self._genre_cols.setdefault(genre.lower(), []).append(col)

    def gather(self, profile: InterestProfile, history: Sequence[str], cands: list[Candidate], rows: np.ndarray,
               text: str | None, ranker: Ranker | None, ranker_index: set[str]) -> Signals:
        """Signals for `cands` (at catalog `rows`, int64 [n]) given the profile, history and request text.

        `ranker_index` is the set of item ids `ranker` was trained on (others take the candidates' mean).
        """
        liked = {a.aspect.lower() for a in profile.liked_aspects}
        disliked = {a.aspect.lower() for a in profile.disliked_aspects}
        liked_share = disliked_count = None
        if liked or disliked:
            # The share of the liked aspects an item carries, so a profile that has gathered many ("comedy,
            # action, musicals") does not favour the odd film carrying all of them over what fits best.
            liked_share = self.carrying(liked)[rows] / max(1, len(liked))
            disliked_count = self.carrying(disliked)[rows]
        theme = None
        if profile.themes:
            q = self.candidates.queries.encode([theme_text(profile)])[0]
            theme = self.vectors[rows] @ q
        return Signals(
            fusion=np.array([c.score for c in cands], dtype=np.float32),
            ranker=_ranker_scores(ranker, ranker_index, profile, history, cands),
            user_known=bool(history) or bool(profile.liked_ids()),
            liked_share=liked_share,
            disliked_count=disliked_count,
            theme=theme,
            content=self._content_similarity(profile, history, rows),
            text=self._text_similarity(text, rows),
            log_trend=np.log1p(self.arrays.trending[rows]),
            has_trend=self.arrays.popularity[rows] > 0,
            new_release=self.arrays.new_release[rows],
            history_length=len(history),
        )

    def carrying(self, aspects: set[str]) -> np.ndarray:
        """int32 [n_items]: how many of `aspects` (lower-cased) each item carries as a genre or tag."""
        arrays = self.arrays
        counts = np.zeros(len(arrays), dtype=np.int32)
        for a in aspects:
            has = np.zeros(len(arrays), dtype=bool)
            for col in self._genre_cols.get(a, ()):
                has |= arrays.genre_matrix[:, col]
            tagged = arrays.tag_rows.get(a)
            if tagged is not None:
                has[tagged] = True
            counts += has
        return counts

    def _content_similarity(self, profile: InterestProfile, history: Sequence[str],
                            rows: np.ndarray) -> np.ndarray | None:
        """Mean cosine between each candidate and the liked / recent items; None without any."""
        anchors = [self.rows[a] for a in dict.fromkeys([*profile.liked_ids(), *list(history)[-LONG_HISTORY:]])
                   if a in self.rows]
        if not anchors:
            return None
        return (self.vectors[rows] @ self.vectors[anchors].T).mean(axis=1)

    def _text_similarity(self, text: str | None, rows: np.ndarray) -> np.ndarray | None:
        """Cosine between the request text and each candidate; None without a text."""
        if not text or not text.strip():
            return None
        q = self.candidates.queries.encode([text.strip()[: self.candidates.settings.max_text_chars]])[0]
        return self.vectors[rows] @ q


def _ranker_scores(ranker: Ranker | None, index: set[str], profile: InterestProfile, history: Sequence[str],
                   cands: list[Candidate]) -> np.ndarray | None:
    """float32 [n] raw ranker scores; items the ranker has never seen (added after training) take the
    candidates' mean. None without a ranker."""
    if ranker is None:
        return None
    known = [j for j, c in enumerate(cands) if c.item_id in index]
    raw = np.full(len(cands), np.nan, dtype=np.float32)
    if known:
        query = UserQuery(history=[h for h in history if h in index], profile=profile)
        raw[known] = ranker.score_items(query, [cands[j].item_id for j in known])
    return np.where(np.isnan(raw), np.nanmean(raw) if known else 0.0, raw)


def theme_text(profile: InterestProfile) -> str:
    """All free-text themes as one query (the theme score compares items with their sum)."""
    return " ".join(t.text for t in profile.themes)

"""The blend: per-candidate signals in, one score per candidate out (`score`).

This is the one place where hand-set weights combine the signals; a learned ranking layer
replaces `score` and keeps `Signals` (gathered by `signals.SignalSource`). Every weight is in
units of a standardised signal, i.e. of that signal's spread over the request's candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Blend weights, in units of the ranker's score spread over the candidates. First set on ReDial dev turns
# before any training dialogues were available, then checked on the training dialogues held out for settings
# (`python bench/bench_engine_settings.py`: 3,784 targets; each weight varied alone, Recall@10 / @50 against
# the values here, paired by target): the best change, a new-release bonus of 2, gained about 1.2 standard
# errors on both, within noise; no other beat its default on both. So they stay. The figures below are from
# that check unless they say otherwise.
# For carrying all the liked genres / tags (a share of it for some), and per disliked one. Large enough that
# a named genre wins over the trend below: "a good documentary" lists documentaries, not this year's hits
# (`recassist eval conversation` prints the share of the top 10 with the genre asked for: 0.995 at 8 with the
# new-release bonus below, 0.989 at 7, 0.968 at 6).
ASPECT_BONUS = 8.0
ASPECT_PENALTY = 6.0
THEME_WEIGHT = 1.0  # cosine similarity to the profile's free-text themes
TEXT_WEIGHT = 0.5  # standardised cosine to the request text (0 / 1 / 2: -0.003 / -0.000 / -0.003 on Recall@10)
FUSION_WEIGHT = 0.5  # the candidate generator's own fused score (rank-based)
# Content similarity to the liked / recent items. Short or profile-only histories lean on it (the ranker
# has little to go on there; 1 / 3 / 4 for short ones: Recall@50 -0.002 / -0.007 / -0.017); long histories
# barely use it.
CONTENT_WEIGHT_SHORT = 2.0
CONTENT_WEIGHT_LONG = 0.25
LONG_HISTORY = 20
# How fast an item gathers interactions now (`retrieval.trending`), standardised over the candidates.
# Someone asking in a chat with little history is mostly after what is new and being watched (0 / 1 / 2 / 4
# for short histories: Recall@50 -0.060 / -0.020 / -0.008 / -0.004); a long history says more about the user
# than the crowd does.
TREND_WEIGHT_SHORT = 3.0
TREND_WEIGHT_LONG = 0.0
# The trend's z-score is capped: a few runaway hits (heavy tail) must not outweigh a genre the user named,
# in small catalogs least of all (caps 1.5 / 4: Recall@10 +0.001 / +0.000, Recall@50 -0.001 / +0.000).
TREND_Z_CAP = 2.5
# Added for new releases (`retrieval.trending.new_releases`) under the same short-history rule as the trend.
# A release too new to have gathered interactions has no trend yet ("The Commuter (2018)": one rating),
# and a chat user asking without history is often after exactly those (0 / 0.5 / 2: Recall@10 -0.002 /
# +0.001 / +0.002, se 0.002; Recall@50 -0.001 / -0.001 / +0.002).
NEW_RELEASE_BONUS = 1.0


@dataclass(frozen=True)
class Signals:
    """What is known about each of one request's n candidates; arrays are [n], in candidate order.

    `None` marks a signal the request has nothing for (no ranker, no aspects, no themes, ...).
    """

    fusion: np.ndarray  # float32: the candidate generator's fused score (rank-based)
    ranker: np.ndarray | None  # float32: the trained ranker's raw score (items it never saw: the mean)
    user_known: bool  # the user has a history or liked items (else the ranker knows only popularity)
    liked_share: np.ndarray | None  # float64: share of the profile's liked aspects the item carries
    disliked_count: np.ndarray | None  # int32: how many of the profile's disliked aspects it carries
    theme: np.ndarray | None  # float32: cosine to the profile's free-text themes
    content: np.ndarray | None  # float32: mean cosine to the liked / recent items
    text: np.ndarray | None  # float32: cosine to the request text
    log_trend: np.ndarray  # float32: log1p of how fast the item gathers interactions now
    has_trend: np.ndarray  # bool: the item has any interactions (else it has no trend yet)
    new_release: np.ndarray  # bool: released this year or last
    history_length: int  # items in the user's history


@dataclass(frozen=True)
class Scores:
    blended: np.ndarray  # float32 [n]: the final score, higher first
    ranker_scores: np.ndarray  # float32 [n]: what evidence quotes as the ranker's score and rank
    ranker_used: bool  # whether the ranker's scores counted in `blended`


def score(s: Signals) -> Scores:
    """Blend `s` into one score per candidate with the weights above."""
    base, ranker_scores, ranker_used = _ranker_part(s)
    blended = (base + _profile_part(s) + _content_part(s) + trend_prior(s.log_trend, s.has_trend, s.new_release,
                                                                      s.history_length) + _text_part(s))
    return Scores(blended, ranker_scores, ranker_used)


def _ranker_part(s: Signals) -> tuple[np.ndarray, np.ndarray, bool]:
    fusion_z = zscore(s.fusion)
    if s.ranker is None:
        return fusion_z, s.fusion, True
    if not s.user_known:
        # Nothing the user watched or liked: the ranker's scores are only its own popularity prior,
        # which the trend prior replaces (chosen on ReDial dev turns before training dialogues were available:
        # Recall@10 0.138 -> 0.148). Kept as evidence.
        return FUSION_WEIGHT * fusion_z, s.ranker, False
    return zscore(s.ranker) + FUSION_WEIGHT * fusion_z, s.ranker, True


def _profile_part(s: Signals) -> np.ndarray:
    adj = np.zeros(len(s.fusion), dtype=np.float32)
    if s.liked_share is not None and s.disliked_count is not None:
        adj += ASPECT_BONUS * s.liked_share - ASPECT_PENALTY * s.disliked_count
    if s.theme is not None:
        adj += THEME_WEIGHT * s.theme
    return adj


def _content_part(s: Signals) -> np.ndarray:
    if s.content is None:
        return np.zeros(len(s.fusion), dtype=np.float32)
    weight = CONTENT_WEIGHT_LONG if s.history_length >= LONG_HISTORY else CONTENT_WEIGHT_SHORT
    return weight * zscore(s.content)


def _text_part(s: Signals) -> np.ndarray:
    if not TEXT_WEIGHT or s.text is None:
        return np.zeros(len(s.fusion), dtype=np.float32)
    return TEXT_WEIGHT * zscore(s.text)


def trend_prior(log_trend: np.ndarray, has_trend: np.ndarray, new_release: np.ndarray,
                history_length: int) -> np.ndarray:
    """Standardised, capped log trend plus a bonus for new releases, both for short histories only:
    float32 [n] from the [n] arrays of `Signals`.

    Items with no interactions at all (added after the log, e.g. through the API) have no trend
    yet rather than a poor one: they take the candidates' mean, as they do for the ranker.
    """
    out = np.zeros(len(log_trend), dtype=np.float32)
    if history_length >= LONG_HISTORY:
        weight, new_bonus = TREND_WEIGHT_LONG, 0.0
    else:
        weight, new_bonus = TREND_WEIGHT_SHORT, NEW_RELEASE_BONUS
    if weight and has_trend.any():
        out[has_trend] = weight * np.minimum(zscore(log_trend[has_trend]), TREND_Z_CAP)
    return out + new_bonus * new_release


def zscore(x: np.ndarray) -> np.ndarray:
    """(x - mean) / sd over the candidates; zeros when they all score alike."""
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)

"""From layer scores to a ranked list, with the hard rules kept as rules.

Blocked, seen, disliked and excluded items never reach the features (see `features.turn_features`); here a
genre the request names dominates: candidates carrying any genre named in the request's own words (a chat
turn's message, the text of `POST /v1/recommendations`) come first, then the learned score orders within each
tier, so "a good documentary" lists documentaries whatever the chat prior says. Genres liked earlier in a
conversation, and liked tags, are features the layer weighs (`liked_aspect_share`), not a tier: 89% of the
items recommenders suggested in the training dialogues carry a genre the seeker liked, against 56% of the
candidates, so the layer already favours them, and a tier on every liked genre put candidates above better ones
without that genre. On the held-out part of the training dialogues (fold 0, every conversation replayed),
Recall@10 / @50: tier on the genres named in the seeker's latest message 0.290 / 0.534, in their last two
messages 0.287 / 0.529, on every liked genre 0.284 / 0.517, no tier 0.292 / 0.539 (without the guarantee).
Liked tags were never a tier worth having: the demo catalog tags few items (its tags.csv tags 1,572 of 9,742
films), and a tier on genres and tags scored 0.282 / 0.518 in the same measure.
"""

from __future__ import annotations

import numpy as np

# Lexicographic tier: layer scores stay far below this (LambdaRank scores are O(1)-O(10)).
ASPECT_TIER = 1_000.0


def layer_order(scores: np.ndarray, genre_share: np.ndarray) -> np.ndarray:
    """Candidate positions, best first: those carrying a named genre first, then by the layer's score."""
    return np.argsort(-(ASPECT_TIER * (genre_share > 0) + scores), kind="stable")

"""From layer scores to a ranked list, with the hard rules kept as rules.

Blocked, seen, disliked and excluded items never reach the features (see `features.turn_features`); here a
genre or tag the user named dominates: candidates carrying any of the liked aspects come first, then the
learned score orders within each tier, so "a good documentary" lists documentaries whatever the chat prior
says. On the held-out part of the training dialogues, this tier cost less than ordering by the share of the
liked aspects carried (Recall@10 0.247 vs 0.237; the layer alone 0.261, but without the guarantee).
"""

from __future__ import annotations

import numpy as np

# Lexicographic tier: layer scores stay far below this (LambdaRank scores are O(1)-O(10)).
ASPECT_TIER = 1_000.0


def layer_order(scores: np.ndarray, liked_share: np.ndarray) -> np.ndarray:
    """Candidate positions, best first: those carrying a named aspect first, then by the layer's score."""
    return np.argsort(-(ASPECT_TIER * (liked_share > 0) + scores), kind="stable")

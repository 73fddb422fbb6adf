"""From layer scores to a ranked list, with the hard rules kept as rules.

Blocked, seen, disliked and excluded items never reach the features (see `features.turn_features`); here a
genre or tag the user named dominates: candidates are ordered first by the share of the liked aspects they
carry, then by the learned score, so "a good documentary" lists documentaries whatever the chat prior says.
"""

from __future__ import annotations

import numpy as np

# Lexicographic tier: layer scores stay far below this (LambdaRank scores are O(1)-O(10)).
ASPECT_TIER = 1_000.0


def layer_order(scores: np.ndarray, liked_share: np.ndarray) -> np.ndarray:
    """Candidate positions, best first: named aspects first (by share carried), then the layer's score."""
    return np.argsort(-(ASPECT_TIER * np.round(liked_share, 3) + scores), kind="stable")

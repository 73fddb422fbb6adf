"""The shared aspect vocabulary: one set of taste words across every catalog's genres, tags and shelves."""

from recassist.foundation.vocabulary.aspects import (
    SHARED_ASPECTS,
    is_noise_shelf,
    item_aspects,
    normalise_term,
    to_shared,
)

__all__ = ["SHARED_ASPECTS", "is_noise_shelf", "item_aspects", "normalise_term", "to_shared"]

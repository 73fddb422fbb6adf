"""What is new: how fast each item is gathering interactions now, and which items are new releases.

All-time popularity favours titles that have had decades to collect ratings. People asking for
something to watch are often after what is new and being watched (on ReDial, whose chats took place
in 2017-2018, a third of the recommended titles were released 2015-2018, and the most recommended one
had 13 ratings in MovieLens against 329 for the most rated). So an item's trend is its interactions
per year since its first one, measured at the log's latest timestamp ("now" for this catalog):

    trend = (n - 1) / (years since the item's first interaction + MIN_AGE_YEARS)

The first interaction does not count (one rating is not a trend), and the age floor keeps an item
first seen yesterday from outranking everything. A catalog without timestamps (all 0) gets every
age 0, so the trend is proportional to popularity.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from recassist.foundation.catalog import Catalog

SECONDS_PER_YEAR = 365.25 * 86400
#: Age floor, ~3 weeks. Smaller floors favour the newest titles more. On the ReDial training dialogues held out
#: for settings (the hand-set blend's Recall@10 / @50, `bench/bench_engine_settings.py`), 0.25 years scored
#: -0.001 / +0.001 against 0.05, 1 year -0.006 / -0.008 and 2 years -0.010 / -0.018.
MIN_AGE_YEARS = 0.05


def trending_scores(catalog: Catalog, index: dict[str, int]) -> np.ndarray:
    """float32 [len(index)]: trend per item row (0 for items with fewer than two interactions)."""
    n_items = len(index)
    rows, stamps = [], []
    for x in catalog.interactions:
        row = index.get(x.item_id)
        if row is not None:
            rows.append(row)
            stamps.append(x.timestamp)
    if not rows:
        return np.zeros(n_items, dtype=np.float32)
    row_arr = np.array(rows, dtype=np.int64)
    ts = np.array(stamps, dtype=np.float64)
    counts = np.bincount(row_arr, minlength=n_items).astype(np.float64)
    first = np.full(n_items, np.inf)
    np.minimum.at(first, row_arr, ts)
    age_years = np.where(np.isfinite(first), (ts.max() - first) / SECONDS_PER_YEAR, 0.0)
    return (np.maximum(counts - 1, 0) / (age_years + MIN_AGE_YEARS)).astype(np.float32)


#: Releases of the catalog's current year and the one before count as new. On the training dialogues held out
#: for settings (as above) the last year alone scored -0.002 / -0.001 against two, the last three +0.000 /
#: +0.000.
NEW_RELEASE_YEARS = 2


def current_year(catalog: Catalog) -> int | None:
    """The catalog's "now" as a calendar year: that of the latest interaction, or the newest release
    year where the log has no timestamps. None when neither is known."""
    latest = max((x.timestamp for x in catalog.interactions), default=0)
    if latest > 0:
        return datetime.fromtimestamp(latest, tz=UTC).year
    years = [it.year for it in catalog.items.values() if it.year]
    return max(years) if years else None


def new_releases(catalog: Catalog, years: np.ndarray) -> np.ndarray:
    """bool [len(years)]: released in the catalog's current year or up to NEW_RELEASE_YEARS - 1 before.

    Where a release year lies after "now" (a catalog whose log stopped before its newest titles), it
    is new as well. `years` holds 0 or less for unknown years, which are never new.
    """
    now = current_year(catalog)
    if now is None:
        return np.zeros(len(years), dtype=bool)
    return (years > 0) & (years > now - NEW_RELEASE_YEARS)

"""`retrieval.trending`: interactions per year since an item's first one, and the "popular" source using it."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pytest
from recassist.foundation.catalog import Catalog, Interaction, Item
from recassist.retrieval.catalog_arrays import CatalogArrays
from recassist.retrieval.trending import MIN_AGE_YEARS, SECONDS_PER_YEAR, trending_scores

NOW = 50 * SECONDS_PER_YEAR
YEAR = SECONDS_PER_YEAR


def _catalog(stamps: dict[str, list[float]]) -> Catalog:
    items = {i: Item(item_id=i, title=f"Film {i}") for i in ("classic", "new_hit", "one_off", "unrated")}
    inter = [Interaction(f"u{n}", item, 4.0, int(t)) for item, ts in stamps.items() for n, t in enumerate(ts)]
    return Catalog(name="trend", items=items, interactions=inter)


def test_a_new_hit_outranks_a_classic_with_more_interactions():
    cat = _catalog({
        "classic": [NOW - 20 * YEAR + k * YEAR for k in range(20)] + [NOW],  # 21 over 20 years
        "new_hit": [NOW - 0.25 * YEAR + k * 0.02 * YEAR for k in range(8)],  # 8 in the last 3 months
        "one_off": [NOW - 0.01 * YEAR],
    })
    arrays = CatalogArrays.build(cat)
    trend = dict(zip(arrays.ids, arrays.trending.tolist(), strict=True))
    assert trend["classic"] == pytest.approx(20 / (20 + MIN_AGE_YEARS), rel=1e-4)
    assert trend["new_hit"] == pytest.approx(7 / (0.25 + MIN_AGE_YEARS), rel=1e-4)
    assert trend["new_hit"] > trend["classic"]
    assert trend["one_off"] == 0.0 and trend["unrated"] == 0.0  # one interaction is not a trend


def test_without_timestamps_the_trend_follows_popularity():
    cat = _catalog({"classic": [0] * 6, "new_hit": [0] * 3, "one_off": [0]})
    arrays = CatalogArrays.build(cat)
    assert np.argsort(-arrays.trending, kind="stable").tolist()[:2] == [
        arrays.index["classic"], arrays.index["new_hit"]]
    assert trending_scores(Catalog(name="empty", items=cat.items, interactions=[]), arrays.index).sum() == 0


def test_popular_source_lists_trend_first_then_count(settings, embedder):
    from recassist.retrieval.candidates import CandidateGenerator
    from recassist.retrieval.index import build_index, open_index

    cat = _catalog({
        "classic": [NOW - 20 * YEAR + k * YEAR for k in range(20)] + [NOW],
        "new_hit": [NOW - 0.25 * YEAR + k * 0.02 * YEAR for k in range(8)],
        "one_off": [NOW - 5 * YEAR],
    })
    build_index(cat, settings, embedder)
    gen = CandidateGenerator(cat, open_index(cat, settings, embedder), embedder, settings)
    cands = gen.generate(None, k=10)
    assert [c.item_id for c in cands if "popular" in c.sources] == ["new_hit", "classic", "one_off"]


def test_new_releases_are_this_year_and_last_by_the_logs_clock():
    from datetime import datetime

    from recassist.retrieval.trending import current_year, new_releases

    stamp_2018 = datetime(2018, 9, 1, tzinfo=UTC).timestamp()
    items = {str(y): Item(item_id=str(y), title=f"Film {y}", year=y) for y in (1995, 2016, 2017, 2018, 2019)}
    items["unknown"] = Item(item_id="unknown", title="Film of no year")
    cat = Catalog(name="new", items=items, interactions=[Interaction("u", "1995", 4.0, int(stamp_2018))])
    assert current_year(cat) == 2018
    arrays = CatalogArrays.build(cat)
    new = {i for i, flag in zip(arrays.ids, arrays.new_release.tolist(), strict=True) if flag}
    assert new == {"2017", "2018", "2019"}  # a release dated after the log's end is new too
    # No timestamps: the newest release year is "now".
    undated = Catalog(name="undated", items=items, interactions=[Interaction("u", "1995", 4.0, 0)])
    assert current_year(undated) == 2019
    assert new_releases(undated, CatalogArrays.build(undated).years).sum() == 2
    assert current_year(Catalog(name="bare", items={"x": Item(item_id="x", title="X")}, interactions=[])) is None

"""Filter allow-list: what gets through, what is refused (and how the refusal reads)."""

from __future__ import annotations

import pytest
from recassist.foundation.errors import FilterError
from recassist.foundation.profile import AspectPreference, Constraints, ItemPreference, Source, YearRange
from recassist.retrieval.filters import constraints_filter, parse_filter


def test_where_rendering_is_exact(catalog):
    flt = parse_filter({"year": {"$gte": 1990}, "genre": {"$nin": ["Horror", "Comedy"]}}, catalog)
    assert flt.where() == {
        "$and": [
            {"year": {"$gte": 1990}},
            {"genre:Horror": {"$eq": False}},
            {"genre:Comedy": {"$eq": False}},
        ]
    }
    assert parse_filter({"genre": {"$in": ["Horror", "Crime"]}}).where() == {
        "$or": [{"genre:Horror": {"$eq": True}}, {"genre:Crime": {"$eq": True}}]
    }
    assert parse_filter({"year": 1999}).where() == {"year": {"$eq": 1999}}
    assert parse_filter(None).where() is None and parse_filter({}).where() is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"runtime": {"$lt": 120}}, "field 'runtime' is not allowed"),
        ({"$or": [{"year": 1999}]}, "field '\\$or' is not allowed"),
        ({"year": {"$in": [1999]}}, "'year' does not allow operator '\\$in'"),
        ({"genre": {"$regex": ".*"}}, "'genre' does not allow operator"),
        ({"year": {"$gte": "1990"}}, "'year' needs an integer"),
        ({"year": {"$gte": True}}, "'year' needs an integer"),
        ({"genre": {"$nin": "Horror"}}, "'genre' with \\$nin needs a non-empty list"),
        ({"genre": {"$nin": ["Cowboy Opera"]}}, "'Cowboy Opera' not in the catalog's genres"),
        ({"item_id": {"$eq": {"$gt": ""}}}, "'item_id' needs non-empty strings"),
        ({"year": {}}, "'year' has an empty condition"),
        (["year"], "must be an object"),
    ],
)
def test_anything_outside_the_allow_list_is_refused_by_name(catalog, spec, message):
    with pytest.raises(FilterError, match=message):
        parse_filter(spec, catalog)


def test_constraints_compile_to_the_filter(catalog):
    src = Source(text="x")
    c = Constraints(
        years=YearRange(min_year=1990, max_year=2005, source=src),
        excluded_genres=[
            AspectPreference(aspect="Horror", kind="genre", source=src),
            AspectPreference(aspect="love story", kind="tag", source=src),
        ],
        excluded_items=[ItemPreference(item_id="12", title="City Cops (1992)", source=src)],
    )
    flt = constraints_filter(c, catalog)
    kept = {i for i, it in catalog.items.items() if flt.matches(it)}
    # 1990-2005, no horror, no 'love story' tag, not item 12, and item 16 (no year) out.
    assert kept == {"1", "2", "14", "15"}
    assert "tag" not in str(flt.where())  # applied after search, never sent to Chroma

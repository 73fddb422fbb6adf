import json

import pytest
from foundation_helpers import item_id
from recassist.foundation.catalog import load_catalog
from recassist.foundation.catalog.titles import normalize_title, parse_movielens_title, split_title_year
from recassist.foundation.errors import DataFormatError, InputError


def test_demo_catalog_is_complete_and_typed(catalog):
    assert len(catalog) == 9742
    assert len(catalog.interactions) == 100836
    matrix = catalog.get("2571")
    assert (matrix.title, matrix.year, matrix.label) == ("The Matrix", 1999, "The Matrix (1999)")
    assert matrix.genres == ("Action", "Sci-Fi", "Thriller")
    assert "martial arts" in matrix.tags  # user tags aggregated, most frequent first
    assert "Drama" in catalog.genres and "atmospheric" in catalog.tags
    assert catalog.popularity["356"] == 329  # Forrest Gump, the most rated movie


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Matrix, The (1999)", ("The Matrix", 1999, [])),
        ("Seven (a.k.a. Se7en) (1995)", ("Seven", 1995, ["Se7en"])),
        ("City of Lost Children, The (Cité des enfants perdus, La) (1995)",
         ("The City of Lost Children", 1995, ["La Cité des enfants perdus"])),
        ("Babylon 5", ("Babylon 5", None, [])),
        ("Death Note: Desu nôto (2006–2007)", ("Death Note: Desu nôto", 2006, [])),
    ],
)
def test_movielens_titles_are_parsed(raw, expected):
    assert parse_movielens_title(raw) == expected


def test_normalized_titles_meet_across_spellings():
    assert normalize_title("Matrix, The") == normalize_title("the matrix") == "matrix"
    assert normalize_title("Amélie") == normalize_title("Amelie")
    assert normalize_title("Guardians of the Galaxy Vol. 2") == normalize_title("Guardians of the Galaxy 2")
    assert split_title_year("Police Academy  (1984)") == ("Police Academy", 1984)


def test_own_format_csv_and_jsonl(tmp_path):
    (tmp_path / "items.csv").write_text(
        "item_id,title,year,genres,tags\n1,Alpha,2001,Drama|War,slow\n2,Beta,,Comedy,\n"
    )
    rows = [{"user_id": "u1", "item_id": "1", "value": 5, "timestamp": 10}, {"user_id": 7, "item_id": 2}]
    (tmp_path / "interactions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cat = load_catalog(tmp_path)
    assert cat.get("1").genres == ("Drama", "War") and cat.get("1").tags == ("slow",)
    assert cat.get("2").year is None
    assert [(x.user_id, x.item_id, x.value) for x in cat.interactions] == [("u1", "1", 5.0), ("7", "2", 1.0)]


@pytest.mark.parametrize(
    "items, interactions, where",
    [
        ("item_id,title,year\n1,Alpha,20x1\n", None, ("items.csv", 2, "year")),
        ("item_id,title\n1,Alpha\n1,Again\n", None, ("items.csv", 3, "item_id")),
        ("item_id,title\n1,\n", None, ("items.csv", 2, "title")),
        ("item_id,title\n1,Alpha\n", "user_id,item_id,value\nu,1,5\nu,9,4\n", ("interactions.csv", 3, "item_id")),
        ("item_id,title\n1,Alpha\n", "user_id,item_id,value\nu,1,lots\n", ("interactions.csv", 2, "value")),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, items, interactions, where):
    (tmp_path / "items.csv").write_text(items)
    if interactions:
        (tmp_path / "interactions.csv").write_text(interactions)
    with pytest.raises(DataFormatError) as e:
        load_catalog(tmp_path)
    file, line, field = where
    assert e.value.path.endswith(file) and e.value.line == line and e.value.field == field
    assert f"line {line}" in str(e.value) and "expected" in str(e.value)


def test_jsonl_garbage_line_is_reported(tmp_path):
    (tmp_path / "items.jsonl").write_text('{"item_id": "1", "title": "A"}\n{not json\n')
    with pytest.raises(DataFormatError, match=r"items.jsonl, line 2"):
        load_catalog(tmp_path)


def test_empty_or_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_catalog(tmp_path / "nope")
    (tmp_path / "items.csv").write_text("item_id,title\n")
    with pytest.raises(InputError, match="no items"):
        load_catalog(tmp_path)


def test_catalog_version_changes_with_content(catalog, tmp_path):
    (tmp_path / "items.csv").write_text("item_id,title\n1,Alpha\n")
    v1 = load_catalog(tmp_path).version
    (tmp_path / "items.csv").write_text("item_id,title\n1,Alpha 2\n")
    assert load_catalog(tmp_path).version != v1
    assert item_id(catalog, "Arrival (2016)") == "164179"

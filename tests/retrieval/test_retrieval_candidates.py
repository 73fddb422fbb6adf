"""Candidate generation on the synthetic catalog: known answers per source, exclusions, quotas."""

from __future__ import annotations

import pytest
from recassist.foundation.errors import FilterError, InputError
from recassist.foundation.profile import (
    AspectPreference,
    Constraints,
    InterestProfile,
    ItemPreference,
    Source,
    Theme,
    YearRange,
)
from recassist.retrieval.candidates import CandidateConfig, CandidateGenerator
from recassist.retrieval.filters import parse_filter
from recassist.retrieval.index import build_index, open_index

SRC = Source(text="test")


@pytest.fixture
def generator(catalog, settings, embedder):
    build_index(catalog, settings, embedder)
    return CandidateGenerator(catalog, open_index(catalog, settings, embedder), embedder, settings)


def _by_source(cands):
    out: dict[str, list[str]] = {}
    for c in cands:
        for s in c.sources:
            out.setdefault(s, []).append(c.item_id)
    return out


def _item(i, title="t"):
    return ItemPreference(item_id=i, title=title, source=SRC)


def test_history_sources_have_known_answers(generator):
    cands = generator.generate(None, history=["1"], k=10)
    src = _by_source(cands)
    assert "1" not in {c.item_id for c in cands}  # the history item itself
    co = [c for c in cands if "co_occurrence" in c.sources]
    # Users who had item 1 had 11 right after, and 5 two steps later.
    assert sorted(co, key=lambda c: -c.scores["co_occurrence"])[0].item_id == "11"
    assert {"11", "5"} <= set(src["co_occurrence"])
    # The nearest items by text are the other space films.
    nb = sorted(
        (c for c in cands if "item_neighbours" in c.sources), key=lambda c: -c.scores["item_neighbours"]
    )
    assert {c.item_id for c in nb[:3]} == {"2", "3", "4"}
    assert src["popular"][0] == "5"
    assert len({c.item_id for c in cands}) == len(cands) == 10


def test_profile_semantic_search_and_exclusions(generator):
    profile = InterestProfile(
        liked_aspects=[AspectPreference(aspect="Horror", kind="genre", source=SRC)],
        themes=[Theme(text="ghosts in a haunted house", source=SRC)],
        disliked_items=[_item("8")],
        constraints=Constraints(seen_items=[_item("9")]),
    )
    cands = generator.generate(profile, k=6)
    ids = [c.item_id for c in cands]
    assert "8" not in ids and "9" not in ids
    sem = sorted((c for c in cands if "semantic" in c.sources), key=lambda c: -c.scores["semantic"])
    assert sem[0].item_id == "10"  # the remaining ghost film
    # Exact vocabulary: the only horror film left is the only aspect match.
    assert _by_source(cands)["aspect_match"] == ["10"]


def test_raw_text_alone_drives_semantic_search(generator):
    cands = generator.generate(None, text="a heist movie about robbing a bank", k=5)
    sem = sorted((c for c in cands if "semantic" in c.sources), key=lambda c: -c.scores["semantic"])
    assert sem[0].item_id == "11"


def test_hard_constraints_hold_for_every_source(generator, catalog):
    profile = InterestProfile(
        liked_items=[_item("1")],
        themes=[Theme(text="ghost stories and vampires", source=SRC)],
        constraints=Constraints(
            years=YearRange(min_year=1990, max_year=2005, source=SRC),
            excluded_genres=[AspectPreference(aspect="Horror", kind="genre", source=SRC)],
            excluded_items=[_item("12")],
        ),
    )
    cands = generator.generate(profile, history=["14"], k=50)
    assert cands
    for c in cands:
        it = catalog.items[c.item_id]
        assert it.year is not None and 1990 <= it.year <= 2005, it
        assert "Horror" not in it.genres
        assert c.item_id not in {"1", "12", "14"}
    # Every item that passes the constraints and is not blocked is proposed (k is large).
    assert {c.item_id for c in cands} == {"2", "5", "6", "15"}


def test_extra_filter_combines_with_profile(generator):
    cands = generator.generate(None, history=["1"], k=50, filter=parse_filter({"genre": {"$in": ["Sci-Fi"]}}))
    assert {c.item_id for c in cands} == {"2", "3", "4"}
    with pytest.raises(FilterError):
        generator.generate(None, k=5, filter=parse_filter({"director": "x"}))


def test_quotas_keep_every_source_in(catalog, settings, embedder):
    build_index(catalog, settings, embedder)
    names = ("co_occurrence", "item_neighbours", "semantic", "aspect_match", "popular")
    equal = CandidateConfig(quotas={s: 0.2 for s in names})
    gen = CandidateGenerator(catalog, open_index(catalog, settings, embedder), embedder, settings, equal)
    profile = InterestProfile(liked_aspects=[AspectPreference(aspect="Animation", kind="genre", source=SRC)])
    cands = gen.generate(profile, history=["1"], text="romantic comedy in paris", k=5)
    assert len(cands) == 5
    # One seat each: no source is crowded out, even co-occurrence whose list is longest.
    assert set(_by_source(cands)) == set(names)
    assert "14" in _by_source(cands)["aspect_match"]  # the most popular animation film


def test_cold_start_and_bad_input(generator, catalog):
    cands = generator.generate(None, k=100)
    assert [c.sources for c in cands][:1] == [["popular"]]
    # Only items with interactions are popular; nothing else proposes without input.
    assert {c.item_id for c in cands} == {"1", "11", "5", "9", "14"}
    assert generator.generate(None, history=["no-such-id"], k=3)  # unknown history ids are ignored
    with pytest.raises(InputError, match="k must be"):
        generator.generate(None, k=0)
    with pytest.raises(InputError, match="InterestProfile"):
        generator.generate({"liked_items": []}, k=5)


def test_exact_in_memory_search_agrees_with_the_store(catalog, settings, embedder):
    """The in-memory semantic search returns what the store's search returns (exact HNSW on 16 items)."""
    build_index(catalog, settings, embedder)
    store = open_index(catalog, settings, embedder)
    exact = CandidateGenerator(catalog, store, embedder, settings)
    via_store = CandidateGenerator(catalog, store, embedder, settings, CandidateConfig(exact_search_max_items=0))
    profile = InterestProfile(
        liked_aspects=[AspectPreference(aspect="Horror", kind="genre", source=SRC)],
        themes=[Theme(text="ghosts in a haunted house", source=SRC)],
        liked_items=[_item("2")],
        disliked_items=[_item("8")],
    )
    # No filter, a broad one (the store over-fetches), a narrow one (the store evaluates a `where`).
    for flt in (None, parse_filter({"year": {"$gte": 1990}}), parse_filter({"genre": {"$in": ["Horror"]}})):
        a = exact.generate(profile, text="a heist movie about robbing a bank", k=10, filter=flt)
        b = via_store.generate(profile, text="a heist movie about robbing a bank", k=10, filter=flt)
        assert [c.item_id for c in a] == [c.item_id for c in b]
        for x, y in zip(a, b, strict=True):
            assert x.sources == y.sources
            assert x.scores == pytest.approx(y.scores, abs=1e-5)


def _reference_merge(lists, quotas, k, ids):
    """The merge rule written as plain loops: quota pass, round robin by rank, fused-score order."""
    from recassist.retrieval.candidates import SOURCES, Candidate, _seats

    order = [s for s in SOURCES if s in quotas]
    seats, chosen = _seats(quotas, order, k), {}
    for s in order:
        fresh = [r for r in lists[s][0].tolist() if r not in chosen][: seats[s]]
        chosen.update(dict.fromkeys(fresh))
    for depth in range(max((len(lists[s][0]) for s in order), default=0)):
        for s in order:
            if depth < len(lists[s][0]) and len(chosen) < k:
                chosen.setdefault(int(lists[s][0][depth]), None)
    cands: dict[int, Candidate] = {}
    for s in order:
        for rank, (row, score) in enumerate(zip(lists[s][0].tolist(), lists[s][1].tolist(), strict=True)):
            if row in chosen:
                c = cands.setdefault(row, Candidate(ids[row], [], {}))
                c.sources.append(s)
                c.scores[s] = score
                c.score += 1.0 / (60 + rank)
    return sorted(cands.values(), key=lambda c: -c.score)


@pytest.mark.parametrize("seed", range(20))
def test_merge_matches_the_rule_on_random_lists(seed):
    import numpy as np
    from recassist.retrieval.candidates import SOURCES, _merge

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    lists = {}
    for s in SOURCES:
        if rng.random() < 0.8:
            rows = rng.permutation(n)[: int(rng.integers(0, n + 1))].astype(np.int64)
            lists[s] = (rows, np.sort(rng.random(len(rows)).astype(np.float32))[::-1])
    active = {s: q for s, q in CandidateConfig().quotas.items() if s in lists and len(lists[s][0])}
    quotas = {s: q / sum(active.values()) for s, q in active.items()}
    ids = [f"i{r}" for r in range(n)]
    k = int(rng.integers(1, 320))
    got, want = _merge(lists, quotas, k, ids), _reference_merge(lists, quotas, k, ids)
    assert [(c.item_id, c.sources, c.scores, c.score) for c in got] == [
        (c.item_id, c.sources, c.scores, c.score) for c in want
    ]

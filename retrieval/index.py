"""Build, check and update the item index (the vector store for one catalog).

Crash safety: a build first writes the manifest with `complete=False`, then
writes vectors (each item also stores its document hash), and only then
rewrites the manifest with `complete=True`. A killed build therefore leaves a
store that `open_index` refuses with a message saying to rerun, and the rerun
writes only what is missing or changed (per-item document hashes).

The index depends on item documents only, so the manifest is checked against
the digest of (item id, document) pairs, the embedding model and the recipe;
the catalog version (which also hashes interactions) is recorded and shown,
but a new rating does not make the index stale.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.catalog.updates import apply_updates, write_lock
from recassist.foundation.errors import InputError, StateMismatchError, UnknownItemError
from recassist.foundation.settings import Settings
from recassist.retrieval.documents import DOC_RECIPE, catalog_documents, document_hash, item_document
from recassist.retrieval.embedder import Embedder
from recassist.retrieval.embedders import get_embedder
from recassist.retrieval.filters import item_metadata
from recassist.retrieval.item_vectors import cache_path, embed_documents, item_vectors
from recassist.retrieval.store import Manifest, VectorStore, connect

FIX_COMMAND = "recassist index build"
HASH_FIELD = "doc_hash"
#: Start-up finishes an interrupted update by itself when at most this many items are out of date; a
#: larger gap is a new catalog or a killed full build, which is left to the command (minutes of embedding).
REPAIR_LIMIT = 1000


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` did. `mode`: 'cold' (empty or reset store), 'resume', 'update' or 'unchanged'."""

    mode: str
    items: int
    upserted: int
    deleted: int
    seconds: float
    where: str


def items_digest(item_ids: Sequence[str], hashes: Sequence[str]) -> str:
    h = hashlib.sha256()
    for i, d in zip(item_ids, hashes, strict=True):
        h.update(f"{i}\x00{d}\n".encode())
    return h.hexdigest()[:16]


def _expected(catalog: Catalog, embedder: Embedder, complete: bool) -> tuple[Manifest, list[str], list[str]]:
    ids, docs = catalog_documents(catalog)
    hashes = [document_hash(d) for d in docs]
    manifest = Manifest(
        catalog_version=catalog.version,
        items_digest=items_digest(ids, hashes),
        embedding_model=embedder.name,
        doc_recipe=DOC_RECIPE,
        dim=embedder.dim,
        item_count=len(ids),
        complete=complete,
    )
    return manifest, ids, hashes


def build_index(
    catalog: Catalog,
    settings: Settings,
    embedder: Embedder | None = None,
    progress: bool = False,
    store: VectorStore | None = None,
) -> BuildReport:
    """Make the store hold exactly this catalog's item vectors; incremental and resumable.

    Embeds only documents missing from the vector cache, writes only items
    whose document changed, deletes items no longer in the catalog. A store
    built with another embedding model or recipe is reset first.
    Raises `InputError` for an empty catalog or an item without text,
    `BackendError` when the store fails.
    """
    t0 = time.perf_counter()
    embedder = embedder or get_embedder(settings)
    store = store or connect(settings, catalog.name)
    target, ids, hashes = _expected(catalog, embedder, complete=True)
    old = store.manifest()

    if old is not None and _same_content(old, target) and old.complete and store.count() == len(ids):
        return BuildReport("unchanged", len(ids), 0, 0, time.perf_counter() - t0, store.where)

    if (
        old is None
        or old.embedding_model != target.embedding_model
        or old.doc_recipe != target.doc_recipe
        or old.dim != target.dim
        or old.schema != target.schema
    ):
        store.reset()
        stored: dict[str, str | None] = {}
        mode = "cold"
    else:
        stored = store.stored_metadata(HASH_FIELD)
        mode = "update" if old.complete else "resume"

    # Marked incomplete before the first vector is written; only a finished build clears it.
    store.write_manifest(_with(target, complete=False))
    _, vectors = item_vectors(catalog, settings, embedder, progress=progress)
    genres = catalog.genres
    vocab = _vocab_hash(genres)
    todo = [
        row for row, (i, h) in enumerate(zip(ids, hashes, strict=True)) if stored.get(i) != f"{h}:{vocab}"
    ]
    gone = sorted(set(stored) - set(ids))
    if todo:
        bar = _bar(progress, len(todo), f"writing to {store.where}")
        store.upsert(
            [ids[r] for r in todo],
            vectors[todo],
            [_metadata(catalog.items[ids[r]], genres, hashes[r]) for r in todo],
            on_chunk=bar.update if bar else None,
        )
        if bar:
            bar.close()
    if gone:
        store.delete(gone)
    store.write_manifest(target)
    return BuildReport(mode, len(ids), len(todo), len(gone), time.perf_counter() - t0, store.where)


def open_index(catalog: Catalog, settings: Settings, embedder: Embedder | None = None) -> VectorStore:
    """The store for `catalog`, checked against its manifest.

    Raises `StateMismatchError` (with the command that fixes it) when there is
    no index, the last build was interrupted, or the index was built for other
    items, another embedding model or another document recipe.
    """
    embedder = embedder or get_embedder(settings)
    store = connect(settings, catalog.name)
    check_manifest(store, catalog, embedder)
    return store


def repair_index(catalog: Catalog, settings: Settings, embedder: Embedder | None = None) -> BuildReport | None:
    """Finish an interrupted catalog update in place -> what was done, or None when nothing was (safe) to do.

    A process killed between writing the update log and the index, or in the middle of an upsert, leaves
    an index that differs from the catalog by the items of that update. When the store was built with
    the same embedding model and recipe and at most `REPAIR_LIMIT` items differ, the incremental build
    writes just those; anything else is left for `open_index` to refuse with the command that fixes it.

    `catalog` is the first catalog, with the update log replayed. With Redis (several workers on one
    shared index) the repair holds the catalog write lock that every catalog write takes, so two starting
    workers never repair at once and a repair never interleaves with another worker's `PUT /v1/items`;
    under it the shared log is replayed onto `catalog` again, so an update another worker finished since
    `catalog` was read is kept, not rolled back. Raises `BackendError` when Redis does not answer or
    another write holds the lock for too long.
    """
    embedder = embedder or get_embedder(settings)
    with write_lock(settings):
        if settings.redis_url:
            catalog = apply_updates(catalog, settings)  # replaying entries already applied changes nothing
        return _repair(catalog, settings, embedder)


def _repair(catalog: Catalog, settings: Settings, embedder: Embedder) -> BuildReport | None:
    store = connect(settings, catalog.name)
    old = store.manifest()
    target, ids, hashes = _expected(catalog, embedder, complete=True)
    if old is None or (old.embedding_model, old.doc_recipe, old.dim, old.schema) != (
        target.embedding_model, target.doc_recipe, target.dim, target.schema
    ):
        return None
    if old.complete and old.items_digest == target.items_digest:
        return None
    stored = store.stored_metadata(HASH_FIELD)
    stale = sum(1 for i, h in zip(ids, hashes, strict=True) if not (stored.get(i) or "").startswith(h))
    if stale + len(set(stored) - set(ids)) > REPAIR_LIMIT:
        return None
    return build_index(catalog, settings, embedder, store=store)


def check_manifest(store: VectorStore, catalog: Catalog, embedder: Embedder) -> None:
    old = store.manifest()
    target, _, _ = _expected(catalog, embedder, complete=True)
    fix = f"run `{FIX_COMMAND}` (same RECASSIST_DATA_DIR / RECASSIST_CHROMA_URL / RECASSIST_CATALOG_DIR)"
    if old is None:
        raise StateMismatchError(f"no item index for catalog '{catalog.name}' in {store.where}; {fix}")
    if not old.complete:
        raise StateMismatchError(
            f"the item index in {store.where} is incomplete (a build was interrupted); {fix} to finish it"
        )
    problems = []
    if old.embedding_model != target.embedding_model or old.dim != target.dim:
        problems.append(f"embedding model {old.embedding_model} (now {target.embedding_model})")
    if old.doc_recipe != target.doc_recipe:
        problems.append(f"document recipe {old.doc_recipe!r} (now {target.doc_recipe!r})")
    if old.items_digest != target.items_digest:
        problems.append(
            f"other catalog items ({old.item_count} items, catalog version {old.catalog_version}; "
            f"now {target.item_count} items, version {target.catalog_version})"
        )
    if old.schema != target.schema:
        problems.append(f"manifest schema {old.schema} (now {target.schema})")
    if problems:
        raise StateMismatchError(
            f"the item index in {store.where} was built with {'; '.join(problems)}; {fix}"
        )


def upsert_items(
    catalog: Catalog, items: Sequence[Item], settings: Settings, embedder: Embedder | None = None
) -> Catalog:
    """Add or replace `items` in an up-to-date index without a rebuild -> the updated catalog.

    Embeds only the given items. Raises `StateMismatchError` when the index was
    not up to date with `catalog` beforehand (then the manifest could not be trusted).
    """
    if not items:
        return catalog
    embedder = embedder or get_embedder(settings)
    store = open_index(catalog, settings, embedder)
    new = catalog.with_items(items)
    if set(new.genres) != set(catalog.genres):
        # Every item stores one flag per catalog genre: a new genre means rewriting all metadata.
        build_index(new, settings, embedder, store=store)
        return new
    docs = [item_document(it) for it in items]
    hashes = [document_hash(d) for d in docs]
    vectors = embed_documents(docs, hashes, cache_path(settings, embedder), embedder)
    target, _, _ = _expected(new, embedder, complete=True)
    store.write_manifest(_with(target, complete=False))
    store.upsert(
        [it.item_id for it in items],
        vectors,
        [_metadata(it, new.genres, h) for it, h in zip(items, hashes, strict=True)],
    )
    store.write_manifest(target)
    return new


def delete_items(
    catalog: Catalog, item_ids: Sequence[str], settings: Settings, embedder: Embedder | None = None
) -> Catalog:
    """Remove items from an up-to-date index and the catalog -> the updated catalog.

    Their interactions are dropped too. Raises `UnknownItemError` for an id
    not in the catalog, `InputError` when nothing would be left.
    """
    missing = [i for i in item_ids if i not in catalog]
    if missing:
        raise UnknownItemError(
            f"cannot delete {', '.join(map(repr, missing))}: not in catalog '{catalog.name}'"
        )
    drop = set(item_ids)
    if len(drop) >= len(catalog):
        raise InputError(
            "deleting every item would leave an empty catalog; rebuild from a new catalog instead"
        )
    embedder = embedder or get_embedder(settings)
    store = open_index(catalog, settings, embedder)
    new = catalog.without_items(sorted(drop))
    target, _, _ = _expected(new, embedder, complete=True)
    store.write_manifest(_with(target, complete=False))
    store.delete(sorted(drop))
    store.write_manifest(target)
    return new


def _same_content(a: Manifest, b: Manifest) -> bool:
    return (a.items_digest, a.embedding_model, a.doc_recipe, a.dim, a.schema) == (
        b.items_digest,
        b.embedding_model,
        b.doc_recipe,
        b.dim,
        b.schema,
    )


def _with(m: Manifest, complete: bool) -> Manifest:
    from dataclasses import replace

    return replace(m, complete=complete)


def _vocab_hash(genres: list[str]) -> str:
    return hashlib.sha256("|".join(sorted(genres)).encode()).hexdigest()[:8]


def _metadata(item: Item, genres: list[str], doc_hash: str) -> dict:
    """Filter metadata plus a marker of what was written: document hash and genre vocabulary."""
    meta = item_metadata(item, genres)
    meta[HASH_FIELD] = f"{doc_hash}:{_vocab_hash(genres)}"
    return meta


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="item")

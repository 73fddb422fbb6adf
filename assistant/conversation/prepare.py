"""Make the artefacts the assistant needs: the vector index and the rankers (reused when current).

Two ways in:
- `prepare_first_start`: what `recassist demo` waits for - the index and the count-blend ranker
  (seconds); the full ranker then trains in a background process (`assistant.conversation.background`)
  and the server adopts it when it is ready;
- `prepare`: everything in the foreground, the full ranker included (scripts, tests, `recassist demo
  --wait`).
"""

from __future__ import annotations

from dataclasses import dataclass

from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.catalog.updates import apply_updates
from recassist.foundation.settings import Settings
from recassist.ranking.staged import outdated  # noqa: F401  (re-exported: callers check recipes here)


@dataclass
class PrepareReport:
    index: str
    ranker: str
    full_ranker_needed: bool = False  # True: serving starts with the quick ranker; train the full one


def build_index_stage(settings: Settings, progress: bool = True) -> str:
    """Build or update the item index (a warm start embeds nothing); returns a one-line note."""
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import build_index

    settings.ensure_dirs()
    catalog = load_catalog_cached(str(settings.catalog_dir))
    # The index also holds items added through the API since (see foundation.catalog.updates).
    built = build_index(apply_updates(catalog, settings), settings, get_embedder(settings), progress=progress)
    return (f"index {built.mode}: {built.items} items ({built.upserted} written, {built.deleted} deleted, "
            f"{built.seconds:.1f} s)")


def prepare_first_start(settings: Settings, *, progress: bool = True) -> PrepareReport:
    """The index, then either the complete full ranker (reused) or the quick count-blend ranker."""
    from recassist.ranking.staged import ensure_quick_ranker, full_model_info

    index_note = build_index_stage(settings, progress)
    catalog = load_catalog_cached(str(settings.catalog_dir))
    info = full_model_info(settings, catalog.version)
    if info is not None:
        return PrepareReport(index_note, f"ranker: reused {info['path']}")
    _, note = ensure_quick_ranker(settings, catalog)
    return PrepareReport(index_note, note, full_ranker_needed=True)


def prepare(settings: Settings, *, progress: bool = True, train_config=None) -> PrepareReport:
    """Build the index (incremental) and train the full ranker if no current one exists, in the foreground.

    A checkpoint trained on another catalog version is retrained, not silently used; one whose training
    was interrupted is resumed from where it stopped.
    """
    from recassist.ranking.staged import train_full_ranker

    index_note = build_index_stage(settings, progress)
    catalog = load_catalog_cached(str(settings.catalog_dir))  # the ranker trains on the catalog folder
    return PrepareReport(index_note, train_full_ranker(settings, catalog, config=train_config, progress=progress,
                                                       text_vectors=lambda: text_vectors(settings, catalog,
                                                                                         progress)))


def text_vectors(settings: Settings, catalog, progress: bool = False):
    """Item text vectors in the catalog's order and the embedder's name (the ranker's text input)."""
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.item_vectors import item_vectors

    embedder = get_embedder(settings)
    _, vectors = item_vectors(catalog, settings, embedder, progress=progress)
    return vectors, embedder.name

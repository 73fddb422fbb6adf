"""The parts the `Assistant` composes, built from settings in one place: at start and on a catalog change.

Everything here that depends on the catalog is built together into one frozen `Components`, so a
catalog change swaps one reference: a request in flight keeps the set it started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recassist.assistant.conversation.engine import RecommendationEngine
from recassist.assistant.conversation.explain import Explainer
from recassist.assistant.conversation.history_index import HistoryIndex
from recassist.assistant.conversation.onboarding import Onboarding
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.assistant.llm.base import LLMClient
from recassist.assistant.store import Stores, open_store
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.updates import apply_updates
from recassist.foundation.settings import Settings
from recassist.ranking.base import Ranker
from recassist.retrieval.candidates import CandidateGenerator

if TYPE_CHECKING:
    from recassist.assistant.dialogue.scorer import ConversationScorer


@dataclass(frozen=True)
class Components:
    """One catalog's worth of read-only parts, shared by every request."""

    settings: Settings
    catalog: Catalog
    engine: RecommendationEngine
    extractor: InterestExtractor
    explainer: Explainer
    onboarding: Onboarding
    histories: HistoryIndex
    llm: LLMClient | None

    @property
    def candidates(self) -> CandidateGenerator:
        return self.engine.candidates


def build_components(settings: Settings, catalog: Catalog, candidates: CandidateGenerator, ranker: Ranker | None,
                     llm: LLMClient | None, *, previous: Components | None = None) -> Components:
    """Every catalog-dependent part over `candidates` (which must be built on `catalog`).

    `previous`: the set this one replaces; its explanation counters, conversation scorer and other catalogs carry over.
    """
    explainer = Explainer(catalog, llm, timeout_s=min(15.0, settings.llm_timeout_s))
    engine = RecommendationEngine(catalog, candidates, ranker)
    if previous is not None:
        explainer.stats = previous.explainer.stats
        engine.conversation = previous.engine.conversation
        engine.other_catalog = previous.engine.other_catalog
    return Components(
        settings=settings,
        catalog=catalog,
        engine=engine,
        extractor=InterestExtractor(catalog, llm, max_chars=settings.max_text_chars,
                                    llm_timeout_s=settings.llm_timeout_s),
        explainer=explainer,
        onboarding=Onboarding(catalog, candidates.vectors, candidates.arrays.index),
        histories=HistoryIndex(catalog),
        llm=llm,
    )


def with_catalog(parts: Components, catalog: Catalog) -> Components:
    """`parts` rebuilt for a changed catalog, reusing the vector store, embedder and ranker; after a small
    change (a few items upserted or removed through the API) the catalog-derived tables are patched from
    the previous ones rather than rebuilt, which keeps a one-item swap on 10k items well under a second."""
    from recassist.assistant.extraction.mentions import matcher_for

    old = parts.candidates
    candidates = CandidateGenerator(catalog, old.store, old.embedder, parts.settings, old.config, old.queries,
                                    previous=old)
    matcher_for(catalog, previous=parts.catalog)  # the extractor and explainer then find it built
    return build_components(parts.settings, catalog, candidates, parts.engine.ranker, parts.llm, previous=parts)


@dataclass(frozen=True)
class LoadedParts:
    """What `load_parts` reads from settings."""

    catalog: Catalog  # with the items added / removed through the API since
    store: Stores
    candidates: CandidateGenerator
    ranker: Ranker | None
    llm: LLMClient | None  # None unless `use_llm`
    served_ranker: dict  # what `/readyz` and the UI report about the ranker (name, kind, validation NDCG@10)
    conversation: ConversationScorer | None  # the conversation-trained scorer; None: the hand-set blend


def load_parts(settings: Settings, *, use_llm: bool = True) -> LoadedParts:
    """What `build_components` needs, loaded from settings: the catalog (with the items added / removed
    through the API since), the profile store, the index, the serving ranker (the full model when it is
    complete, else the quick one), the conversation-trained scorer when its files are current, and the LLM
    (None if not `use_llm`).

    Raises `StateMismatchError` / `CheckpointError` naming the command to run (`recassist index build`,
    `recassist train`) when an artefact is missing or stale.
    """
    from recassist.assistant.dialogue.scorer import ConversationScorer  # imports the conversation package
    from recassist.assistant.llm import get_llm
    from recassist.foundation.threads import pin_compute_threads
    from recassist.ranking.serving import load_serving_ranker
    from recassist.ranking.staged import TrainerLock

    pin_compute_threads(1)  # requests run side by side in worker threads, each on one core
    settings.ensure_dirs()
    base = load_catalog_cached(str(settings.catalog_dir))
    catalog = apply_updates(base, settings)  # items added / removed through the API since
    # A crash in the middle of a catalog update is finished here rather than left for a manual rebuild.
    candidates = CandidateGenerator.open(settings, catalog, repair=True)
    catalog = candidates.catalog  # with Redis, the shared log as the repair found it (possibly newer)
    _warm_up_query_embeddings(candidates.embedder)
    # Trained on the catalog folder; new items score by text. Aspect texts share the request-side cache.
    ranker, served = load_serving_ranker(settings, base, text_encoder=candidates.queries.encode)
    store = open_store(settings, catalog)
    # The conversation-trained layer when its files are current; else the hand-set blend (with a note).
    # (No note while the background trainer runs: `recassist demo` has said the layer is on its way.)
    conversation = ConversationScorer.open(settings.models_dir, base.version,
                                           quiet=TrainerLock(settings).held_elsewhere())
    return LoadedParts(catalog, store, candidates, ranker, get_llm(settings) if use_llm else None, served,
                       conversation)


def _warm_up_query_embeddings(embedder) -> None:
    """Build the fast embedding paths now (~3 s, once per process), not inside the first request."""
    warm = getattr(embedder, "backends", None)
    if warm is not None:
        warm()

"""`recassist train conversations`: fit co-suggestion, text-to-item, co-mention and the learned ranking layer
from conversation corpora.

Co-suggestion, text-to-item and co-mention are fitted on every conversation of every corpus. The layer's
training requests come from replaying up to `layer_dialogues` conversations as chats (`replay`), each with
conversation-trained scorers fitted neither on it nor on fold 0 (5 folds by a hash of the conversation id), so fold
0 reaches no request's features but its own. The layer is five models averaged, one per fold, each fitted on the
other four with its number of trees chosen on its own fold (`LayerConfig.cross_fit`); fold 0's model alone is what
is measured on fold 0. The files are written atomically with their config and the catalog version; on any error
the previous files stay in place and the engine keeps answering with them (or with the hand-tuned scorer).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from recassist.assistant.dialogue.features import ChatModels
from recassist.assistant.dialogue.scorer import (
    CHAT_WORDS_FILE,
    COMENTION_FILE,
    COSUGGEST_FILE,
    LAYER_FILE,
    TEXT_FILE,
    file_digest,
)
from recassist.foundation.errors import InputError
from recassist.foundation.settings import Settings
from recassist.ranking.dialogue.chat_words import ChatWords
from recassist.ranking.dialogue.comention import CoMention
from recassist.ranking.dialogue.corpus import Conversation, CorpusStats, read_corpus
from recassist.ranking.dialogue.cosuggest import CoSuggestion
from recassist.ranking.dialogue.layer import LayerConfig, LearnedLayer
from recassist.ranking.dialogue.text_to_item import (
    TextExample,
    TextToItem,
    TextToItemConfig,
    examples_from,
    fit_together,
)
from recassist.ranking.dialogue.trust import CorpusTrust, corpus_trust

FOLDS = 5
SELECT_FOLD = 0
#: The training corpus shipped with the product (ReDial training dialogues, CC BY 4.0, see its README).
SHIPPED_CORPUS = Path(__file__).resolve().parent / "corpus" / "redial-train.jsonl.gz"
#: Conversations replayed for the layer by default: all (None). On the held-out training fold the layer's
#: Recall@10 rose from 0.249 with 2,000 of the shipped corpus's 5,197 to 0.279 with all of them; two worker
#: processes replay them in minutes.
DEFAULT_LAYER_DIALOGUES: int | None = None
#: The demo's first start replays fewer, to stay within a minute or so; `recassist train conversations`
#: trains the full layer.
PREPARE_LAYER_DIALOGUES = 250
#: ... and fits text-to-item on this many conversations: embedding all of the shipped corpus's texts takes
#: minutes the first time.
PREPARE_TEXT_DIALOGUES = 1000
#: Below this many replayed conversations, starting worker processes (each opens the assistant, seconds of
#: CPU) costs more than it saves.
MIN_WORKER_CONVERSATIONS = 400
#: Members averaged in each per-fold text-to-item model, which only computes the replayed requests' features
#: (the served model keeps its five): fitting them was the largest part of training after the replay, and on
#: the training folds the layer scored within noise of five-member features (docs/conversations.md).
REPLAY_TEXT_MEMBERS = 3


@dataclass
class TrainReport:
    corpus: str
    cosuggest: str
    text: str
    layer: str
    seconds: float
    comention: str = ""
    words: str = ""

    def __str__(self) -> str:
        return "\n".join(x for x in (self.corpus, self.cosuggest, self.text, self.comention, self.words, self.layer,
                                      f"({self.seconds:.0f} s)") if x)


def fold_of(conv: Conversation) -> int:
    return fold_of_id(conv.conversation_id)


def read_corpora(paths: Sequence[Path | str], catalog) -> tuple[list[Conversation], CorpusStats]:
    """Every conversation of every corpus (titles mapped with the title matcher); ids must be unique across
    corpora too. Raises `InputError` naming the corpus for a missing file or a repeated id."""
    from recassist.assistant.extraction.mentions import matcher_for

    if not paths:
        raise InputError("no conversation corpus given; pass --corpus PATH (JSONL in the format of "
                         "docs/conversations.md)")
    matcher = matcher_for(catalog)
    known = set(catalog.items)
    stats = CorpusStats()
    out: list[Conversation] = []
    owner: dict[str, str] = {}
    for p in paths:
        for conv in read_corpus(_opened(p), known, matcher.match_name, stats):
            if conv.conversation_id in owner:
                raise InputError(f"conversation id {conv.conversation_id!r} is in both {owner[conv.conversation_id]} "
                                 f"and {p}; give each corpus its own id prefix")
            owner[conv.conversation_id] = str(p)
            out.append(conv)
    stats.source_of = owner
    return out, stats


def trust_weights(convs: Sequence[Conversation], stats: CorpusStats) -> CorpusTrust:
    """How much each conversation of `read_corpora`'s result may teach (`ranking.dialogue.trust`); the shipped
    corpus is the trusted reference the other corpora are compared with."""
    shipped = SHIPPED_CORPUS.resolve()
    trusted = {s for s in set(stats.source_of.values()) if Path(s).resolve() == shipped}
    return corpus_trust(convs, stats.source_of, trusted)


def _opened(path: Path | str) -> Path:
    """A `.gz` corpus is unpacked once next to the data (the reader reports lines of the plain file)."""
    p = Path(path)
    if p.suffix != ".gz":
        return p
    import gzip
    import tempfile

    if not p.is_file():
        raise InputError(f"conversation corpus {p} not found")
    out = Path(tempfile.gettempdir()) / f"recassist-{hashlib.sha1(str(p).encode()).hexdigest()[:10]}-{p.stem}"
    if not out.is_file() or out.stat().st_mtime < p.stat().st_mtime:
        from recassist.ranking.storage import atomic_write

        atomic_write(out, lambda f: f.write(gzip.decompress(p.read_bytes())))
    return out


def train_conversation_layer(settings: Settings, corpus_paths: Sequence[Path | str] = (), progress: bool = True, *,
                             layer_dialogues: int | None = DEFAULT_LAYER_DIALOGUES,
                             text_dialogues: int | None = None, assistant=None,
                             config: LayerConfig | None = None, keep_replay: Path | str | None = None,
                             workers: int | None = None, first_start: bool = False) -> TrainReport:
    """Fit and save co-suggestion and the learned layer; see the module docstring.

    `corpus_paths`: corpus files (default: the shipped ReDial training corpus). `layer_dialogues`: how many
    conversations to replay for the layer (None: all);
    `text_dialogues`: how many to fit text-to-item on (None: all). `assistant`: an open `Assistant` to replay with
    (opened from `settings` otherwise). `keep_replay`: a path to write the replayed requests to
    (`ReplayedTurns.save`; read by bench/bench_conversation_layer.py). `workers`: processes replaying the
    conversations (default: one per core, up to 2, for `MIN_WORKER_CONVERSATIONS` or more conversations and an
    assistant opened here; each opens its own from `settings`). `first_start`: the demo's first layer (recorded,
    so the background trainer later retrains it on every conversation). Raises `InputError` for bad corpora,
    `CheckpointError` / `StateMismatchError` when the index or ranker the replay needs is missing or stale.
    """
    from recassist.assistant.dialogue.features import FEATURES
    from recassist.assistant.dialogue.replay import SEEKER_LIKED, replay, replayed_requests

    t0 = time.perf_counter()
    opened_here = assistant is None
    if assistant is None:
        from recassist.assistant.conversation import Assistant

        assistant = Assistant.open(settings, use_llm=False)
    from recassist.foundation.catalog import load_catalog_cached

    catalog = assistant.catalog
    # The catalog folder's version, as for the ranker: items added through the API since score 0 here.
    version = load_catalog_cached(str(settings.catalog_dir)).version
    convs, stats = read_corpora(list(corpus_paths) or [SHIPPED_CORPUS], catalog)
    trust = trust_weights(convs, stats)
    ids = list(catalog.items)
    co = CoSuggestion(ids).fit(convs, trust)
    co.catalog_version = version
    cm = CoMention(ids).fit(convs, trust)
    cm.catalog_version = version
    words = ChatWords(ids).fit(convs, {x: catalog.items[x].title for x in ids}, trust)
    words.catalog_version = version
    models = Path(settings.models_dir)
    models.mkdir(parents=True, exist_ok=True)

    # A conversation the trust weights (nearly) silenced teaches the layer nothing either.
    usable = [c for c in convs if trust.conversation_weight(c) >= 0.5 and any(
        t.role == "recommender" and any(c.suggested(x) for x in t.items) for t in c.turns)]
    usable.sort(key=lambda c: hashlib.sha1(c.conversation_id.encode()).hexdigest())  # a fixed, spread sample
    chosen = usable[:layer_dialogues] if layer_dialogues else usable
    if sum(fold_of(c) == SELECT_FOLD for c in chosen) < 5 or len(chosen) < 25:
        raise InputError(f"only {len(chosen)} conversations with suggestions to train the layer on; a corpus "
                         "needs at least 25 (recommender turns naming items marked \"suggested\")")
    by_hash = sorted(convs, key=lambda c: hashlib.sha1(c.conversation_id.encode()).hexdigest())
    # The replay's request texts are embedded with text-to-item's (most are the same texts) and kept with them.
    replay_texts = [text for c in chosen for _, _, text in replayed_requests(c).values()]
    text_data = TextTraining.prepare(by_hash[:text_dialogues] if text_dialogues else convs, assistant, settings,
                                     progress, also_embed=replay_texts)
    text_data.trust = trust
    # The served models and one set per fold the replay needs: never the conversation's own data, and the
    # selection fold's never reaches the fitted requests. Text-to-item's item vectors carry co-mention's vectors
    # of the same conversations; its models are fitted side by side.
    folds_needed = sorted({fold_of(c) for c in chosen})
    fold_cm = {f: CoMention(ids, cm.config).fit((c for c in convs if fold_of(c) not in {f, SELECT_FOLD}), trust)
               for f in folds_needed}
    text_model, *fold_text = text_data.fit_many(
        ids, [set(), *({f, SELECT_FOLD} for f in folds_needed)], progress=progress,
        members=[text_data.config.members, *[min(REPLAY_TEXT_MEMBERS, text_data.config.members)] * len(folds_needed)],
        comentions=[cm, *(fold_cm[f] for f in folds_needed)])
    text_of_fold = dict(zip(folds_needed, fold_text, strict=True))
    text_model.catalog_version = version
    per_fold: dict[int, ChatModels] = {}

    def models_for(conv: Conversation) -> ChatModels:
        return models_of_fold(fold_of(conv))

    def models_of_fold(f: int) -> ChatModels:
        if f not in per_fold:
            per_fold[f] = ChatModels(
                CoSuggestion(ids, co.config).fit((c for c in convs if fold_of(c) not in {f, SELECT_FOLD}), trust),
                text_of_fold[f], fold_cm[f])
        return per_fold[f]

    if workers is None:
        workers = min(2, os.cpu_count() or 1) if opened_here and len(chosen) >= MIN_WORKER_CONVERSATIONS else 1
    if workers > 1:
        from recassist.assistant.dialogue.replay_workers import replay_in_workers

        fold_models = {f: models_of_fold(f) for f in sorted({fold_of(c) for c in chosen})}
        bar = _bar(len(chosen), f"replaying conversations ({workers} processes)", progress)
        turns = replay_in_workers(chosen, settings, fold_models, fold_of, workers, progress=bar.update,
                                  text_vectors=text_data.text_vectors)
    else:
        bar = _bar(len(chosen), "replaying conversations", progress)
        turns = replay(chosen, assistant, models_for, progress=bar.update, text_vectors=text_data.text_vectors)
    bar.close()
    if keep_replay:
        turns.save(keep_replay)
    rows = [i for i, y in enumerate(turns.y) if y.any()]  # requests with a positive among the candidates
    folds = [fold_of_id(turns.conversation[i]) for i in rows]
    seeker_liked = [turns.kind[i] == SEEKER_LIKED for i in rows]
    measured = {f for f, s in zip(folds, seeker_liked, strict=True) if not s}
    if SELECT_FOLD not in measured or measured == {SELECT_FOLD}:
        raise InputError("no replayed request had a suggested item among its candidates; the corpus cannot "
                         "train the layer")
    cfg = config or LayerConfig()
    # Cross-fitted: one model per fold, its trees chosen on that fold; fold 0's model alone never saw fold 0,
    # which is what `recassist eval conversation --holdout-redial` measures.
    # The seeker's liked mentions are fitted on; trees are chosen on recommender turns only, what is served.
    selection = sorted(measured) if cfg.cross_fit else [SELECT_FOLD]
    tree_bar = _bar(cfg.max_trees * len(selection) * cfg.models_per_fold,
                    "fitting the layer (trees, each model stops early)", progress)
    layer = LearnedLayer.fit_folds([turns.X[i] for i in rows], [turns.y[i] for i in rows], folds, selection,
                                   FEATURES, cfg, version, progress=lambda i: tree_bar.update(1),
                                   fit_only=seeker_liked)
    tree_bar.close()
    layer.info.update({"corpus_conversations": len(convs), "replayed_conversations": len(chosen),
                       "seeker_liked_requests": sum(seeker_liked),
                       "usable_conversations": len(usable),
                       "ranker": {k: assistant.served_ranker.get(k) for k in ("name", "kind")},
                       "first_start": first_start,
                       "corpora": [str(p) for p in (corpus_paths or [SHIPPED_CORPUS])]})
    co.save(models / COSUGGEST_FILE)
    text_model.save(models / TEXT_FILE)
    cm.save(models / COMENTION_FILE)
    words.save(models / CHAT_WORDS_FILE)
    # Written last, naming the other four by content: a run stopped between the files never serves a mix.
    layer.info["files"] = {name: file_digest(models / name)
                           for name in (COSUGGEST_FILE, TEXT_FILE, COMENTION_FILE, CHAT_WORDS_FILE)}
    layer.save(models / LAYER_FILE)
    return TrainReport(
        corpus=f"corpus: {stats}\n{trust}",
        cosuggest=f"co-suggestion: {co.pairs.nnz} item pairs from {co.conversations} conversations -> "
                  f"{models / COSUGGEST_FILE}",
        text=f"text-to-item: {text_model.info['examples']} examples from {text_model.info['conversations']} "
             f"conversations, loss per epoch {text_model.info['loss_per_epoch']} -> {models / TEXT_FILE}",
        comention=f"co-mention: {cm.config.dim}-wide item vectors from {cm.conversations} conversations -> "
                  f"{models / COMENTION_FILE}",
        words=f"chat words: {int((words.described > 0).sum())} items described in {words.conversations} "
              f"conversations, {int((words.counts >= words.config.quote_min_conversations).any(axis=1).sum())} "
              f"with a quotable word -> {models / CHAT_WORDS_FILE}",
        layer=f"layer: {len(layer.members)} models averaged, {layer.info['trees']} trees "
              f"({', '.join(str(m.info['trees']) for m in layer.members)}) on {len(rows) - sum(seeker_liked)} "
              f"recommender turns and {sum(seeker_liked)} seeker turns naming liked items, NDCG@10 on "
              f"each model's held-out fold {layer.info['selection_ndcg@10']:.4f} -> {models / LAYER_FILE}",
        seconds=time.perf_counter() - t0)


def conversation_layer_current(settings: Settings) -> bool:
    """Whether the data dir holds a complete conversation layer for the catalog folder's version."""
    from recassist.assistant.dialogue.scorer import ConversationScorer
    from recassist.foundation.catalog import load_catalog_cached

    version = load_catalog_cached(str(settings.catalog_dir)).version
    return ConversationScorer.open(settings.models_dir, version, quiet=True) is not None


def ensure_conversation_layer(settings: Settings, progress: bool = True,
                              layer_dialogues: int = PREPARE_LAYER_DIALOGUES) -> str:
    """Train a first layer on part of the shipped corpus unless a current one exists; returns a line saying
    which.

    What `recassist demo`'s background trainer runs first (`--wait` trains the final one instead)."""
    if conversation_layer_current(settings):
        return f"conversation layer: reused {Path(settings.models_dir) / LAYER_FILE}"
    report = train_conversation_layer(settings, [], progress, layer_dialogues=layer_dialogues,
                                      text_dialogues=PREPARE_TEXT_DIALOGUES, first_start=True)
    return f"conversation layer: trained ({report.layer})"


def ensure_full_conversation_layer(settings: Settings, progress: bool = True) -> str:
    """Train the layer with `recassist train conversations`' defaults (every conversation of the shipped corpus,
    the full ranker's scores as a feature) unless the current one is such a layer; returns a line saying which.

    What the background trainer runs after the full ranker: the first layer replayed a few hundred
    conversations and learned from the quick ranker's scores, which the full ranker then replaced."""
    if conversation_layer_state(settings) == "full":
        return f"conversation layer: reused {Path(settings.models_dir) / LAYER_FILE}"
    report = train_conversation_layer(settings, [], progress)
    return f"conversation layer: trained on every conversation ({report.layer})"


def conversation_layer_state(settings: Settings) -> str:
    """'none' (no complete, current layer in the data dir), 'first' (one the background trainer retrains on
    every conversation once the full ranker is there) or 'full'."""
    from recassist.assistant.dialogue.scorer import ConversationScorer
    from recassist.foundation.catalog import load_catalog_cached

    version = load_catalog_cached(str(settings.catalog_dir)).version
    scorer = ConversationScorer.open(settings.models_dir, version, quiet=True)
    if scorer is None:
        return "none"
    return "full" if is_full_layer(scorer.layer.info) else "first"


def is_full_layer(info: dict) -> bool:
    """Whether a layer (its `info`) is final: not the first start's, and trained with the full ranker's scores.
    A layer from other corpora is left as it is (someone trained it on purpose), as is one `recassist train
    conversations` trained with the full ranker, whatever its `--layer-dialogues`."""
    if info.get("corpora") != [str(SHIPPED_CORPUS)]:
        return True
    return not info.get("first_start", False) and info.get("ranker", {}).get("kind") == "full"


@dataclass
class TextTraining:
    """The text-to-item model's training data: examples, their text vectors, the catalog's item vectors."""

    examples: list[TextExample]
    text_vectors: dict[str, np.ndarray]
    item_vectors: np.ndarray  # float32 [n_items, d] in catalog order
    config: TextToItemConfig
    trust: CorpusTrust | None = None  # weights of (conversation, suggested item); None: all 1

    @classmethod
    def prepare(cls, convs: Sequence[Conversation], assistant, settings: Settings, progress: bool = True,
                config: TextToItemConfig | None = None, also_embed: Sequence[str] = ()) -> TextTraining:
        """Examples of `convs` with their text vectors (embedded once, cached under the data dir); the vectors
        of `also_embed` too."""
        from recassist.assistant.dialogue.text_vectors import text_vectors

        engine = assistant.engine
        examples = examples_from(convs)
        texts = list(dict.fromkeys(t for t in (*(e.text for e in examples), *also_embed) if t.strip()))
        bar = _bar(len(texts), "embedding dialogue texts (cached for next time)", progress)
        vectors = text_vectors(texts, engine.candidates.queries.embedder, settings.embedding_cache_dir,
                               engine.candidates.settings.max_text_chars, progress=bar.update)
        bar.close()
        item_vectors = engine.candidates.vectors[[engine.rows[i] for i in assistant.catalog.items]]
        return cls(examples, vectors, item_vectors, config or TextToItemConfig())

    def fit(self, ids: Sequence[str], without_folds: Collection[int] = (), progress: bool = True,
            comention: CoMention | None = None) -> TextToItem:
        """A model on the examples outside `without_folds` (conversation-id folds); `comention`: co-mention
        fitted on the same conversations, whose item vectors the model's item vectors carry."""
        return self.fit_many(ids, [without_folds], progress, comentions=[comention])[0]

    def fit_many(self, ids: Sequence[str], without: Sequence[Collection[int]], progress: bool = True,
                 members: Sequence[int] | None = None,
                 comentions: Sequence[CoMention | None] | None = None) -> list[TextToItem]:
        """One model per entry of `without`, each on the examples outside those folds, fitted side by side;
        `members`: each model's number of averaged members (default: the config's); `comentions`: each model's
        co-mention, fitted on the same conversations (None: text vectors alone)."""
        members = members or [self.config.members] * len(without)
        comentions = list(comentions) if comentions is not None else [None] * len(without)
        for cm in comentions:
            if cm is not None and list(cm.item_ids) != list(ids):
                raise ValueError("co-mention was fitted for other item ids than text-to-item's")
        jobs = [(TextToItem(ids, replace(self.config, members=m)),
                 [e for e in self.examples if fold_of_id(e.conversation_id) not in w])
                for w, m in zip(without, members, strict=True)]
        if len(without) > 1:
            what = f" ({len(without)} models)"
        else:
            what = f" without folds {sorted(without[0])}" if without[0] else ""
        bar = _bar(self.config.epochs * sum(max(1, m) for m in members),
                   f"fitting text-to-item{what} (epochs)", progress)
        models = fit_together(jobs, self.item_vectors, self.text_vectors, progress=bar.update, trust=self.trust,
                              corpus_vectors=[cm.vectors if cm is not None else None for cm in comentions])
        bar.close()
        return models


def fold_of_id(conversation_id: str) -> int:
    return int(hashlib.sha1(conversation_id.encode()).hexdigest(), 16) % FOLDS


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, mininterval=1.0)

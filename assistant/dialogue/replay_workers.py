"""Replaying conversations in worker processes, so the layer's training requests use every core.

The replay is the slowest step of `recassist train conversations` (tens of ms of CPU per request, on one
core). Workers are spawned, not forked: the embedder and torch keep thread pools that a forked child would
inherit without their threads. Each worker opens the catalog, item index and ranker from the settings (read
only; no profile store), loads the per-fold scorers from files the parent wrote, and replays chunks of
conversations; the parent joins the chunks in corpus order. The requests are those a single process replays:
a request text's vector is the text's alone (`retrieval.st_embedder`), so which worker took which chunk, and
what it embedded before, changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from recassist.assistant.dialogue.features import ChatModels
from recassist.assistant.dialogue.replay import ReplayedTurns, replay, replayed_requests
from recassist.foundation.settings import Settings
from recassist.ranking.dialogue.corpus import Conversation

#: Conversations per task: small enough to balance two workers and move the progress bar, large enough that
#: sending the features back costs little.
CHUNK = 50

_worker: dict = {}  # in a worker: its assistant and the scorers of each fold


def replay_in_workers(conversations: Sequence[Conversation], settings: Settings, models: dict[int, ChatModels],
                      fold_of: Callable[[Conversation], int], workers: int,
                      progress: Callable[[int], None] | None = None, chunk: int = CHUNK,
                      text_vectors: Mapping[str, np.ndarray] | None = None) -> ReplayedTurns:
    """`replay` of `conversations` in `workers` processes; `models[fold_of(conv)]` scores each conversation.
    `text_vectors`: as for `replay` (each task carries those of its conversations)."""
    with tempfile.TemporaryDirectory(prefix="recassist-replay-") as tmp:
        for fold, m in models.items():
            m.cosugg.save(Path(tmp) / f"{fold}-cosuggest.npz")
            m.text.save(Path(tmp) / f"{fold}-text.npz")
            m.comention.save(Path(tmp) / f"{fold}-comention.npz")
        chunks = [[(c, fold_of(c)) for c in conversations[i:i + chunk]]
                  for i in range(0, len(conversations), chunk)]
        vectors = [_vectors_of([c for c, _ in part], text_vectors or {}) for part in chunks]
        out = ReplayedTurns()
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start,
                                 initargs=(settings, tmp, sorted(models))) as pool:
            for part, got in zip(chunks, pool.map(_replay_chunk, chunks, vectors), strict=True):
                out.extend(got)
                if progress:
                    progress(len(part))
        return out


def _start(settings: Settings, model_dir: str, folds: list[int]) -> None:
    """The worker's assistant: what replay reads (catalog, candidates, ranker, extraction), and no more. It
    opens no profile store and repairs no index: a server may be using both in this data dir."""
    from recassist.assistant.conversation import Assistant
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.foundation.threads import pin_compute_threads
    from recassist.ranking.dialogue.comention import CoMention
    from recassist.ranking.dialogue.cosuggest import CoSuggestion
    from recassist.ranking.dialogue.text_to_item import TextToItem
    from recassist.ranking.serving import load_serving_ranker
    from recassist.retrieval.candidates import CandidateGenerator

    pin_compute_threads(1)  # one core per worker: the parallelism is the workers themselves
    base = load_catalog_cached(str(settings.catalog_dir))
    candidates = CandidateGenerator.open(settings, apply_updates(base, settings))
    ranker, served = load_serving_ranker(settings, base, text_encoder=candidates.queries.encode)
    assistant = Assistant(settings, candidates.catalog, None, candidates, ranker, None)
    assistant.served_ranker = served
    d = Path(model_dir)
    _worker["assistant"] = assistant
    _worker["models"] = {f: ChatModels(CoSuggestion.load(d / f"{f}-cosuggest.npz"),
                                       TextToItem.load(d / f"{f}-text.npz"),
                                       CoMention.load(d / f"{f}-comention.npz")) for f in folds}


def _vectors_of(conversations: Sequence[Conversation], text_vectors: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
    texts = {text for c in conversations for _, _, text in replayed_requests(c).values()}
    return {t: text_vectors[t] for t in texts if t in text_vectors}


def _replay_chunk(chunk: list[tuple[Conversation, int]], text_vectors: dict[str, np.ndarray]) -> ReplayedTurns:
    fold = {c.conversation_id: f for c, f in chunk}
    return replay([c for c, _ in chunk], _worker["assistant"],
                  lambda c: _worker["models"][fold[c.conversation_id]], text_vectors=text_vectors)

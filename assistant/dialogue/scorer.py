"""The conversation-trained scorer as the engine uses it: co-suggestion, text-to-item, co-mention, chat words
and the learned layer, hard rules kept.

`ConversationScorer.open` loads the five files from the data dir; when one is missing or stale it returns
None with a message saying which command rebuilds it, and the engine answers with its hand-tuned blend.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from recassist.assistant.dialogue.features import FEATURES, ChatModels, turn_features
from recassist.assistant.dialogue.ordering import layer_order
from recassist.foundation.errors import StateMismatchError
from recassist.foundation.profile import InterestProfile
from recassist.ranking.dialogue.chat_words import ChatWords
from recassist.ranking.dialogue.comention import CoMention
from recassist.ranking.dialogue.cosuggest import CoSuggestion
from recassist.ranking.dialogue.layer import LearnedLayer
from recassist.ranking.dialogue.text_to_item import TextToItem
from recassist.ranking.storage import CheckpointError
from recassist.retrieval.candidates import Candidate
from recassist.retrieval.filters import Filter

COSUGGEST_FILE = "cosuggest.npz"
LAYER_FILE = "conversation_layer.json"
TEXT_FILE = "text_to_item.npz"
COMENTION_FILE = "comention.npz"
CHAT_WORDS_FILE = "chat_words.npz"
#: An anchor is named in evidence ("people who mentioned Heat in a chat were often recommended it") only when
#: at least this many conversations (after the per-conversation cap) suggested the item after it.
MIN_EVIDENCE_PAIRS = 2.0


def file_digest(path: Path) -> str:
    """The content hash the layer file records for each file it was trained with."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class LayerRanking:
    candidates: list[Candidate]
    scores: np.ndarray  # float64 [len(candidates)]: the layer's score
    order: np.ndarray  # candidate positions, best first, hard rules applied (franchise cap: the engine's)


class ConversationScorer:
    def __init__(self, cosugg: CoSuggestion, layer: LearnedLayer, text_model: TextToItem | None = None,
                 comention: CoMention | None = None, words: ChatWords | None = None) -> None:
        self.cosugg = cosugg
        self.layer = layer
        self.text_model = text_model
        self.comention = comention
        self.words = words
        self.name = "conversation-trained layer"

    @classmethod
    def open(cls, models_dir: Path | str, catalog_version: str, *, quiet: bool = False) -> ConversationScorer | None:
        """The five files, or None (with a note on stderr naming the fix) when one is missing or stale."""
        models = Path(models_dir)
        try:
            cosugg = CoSuggestion.load(models / COSUGGEST_FILE, catalog_version)
            text_model = TextToItem.load(models / TEXT_FILE, catalog_version)
            comention = CoMention.load(models / COMENTION_FILE, catalog_version)
            words = ChatWords.load(models / CHAT_WORDS_FILE, catalog_version)
            layer = LearnedLayer.load(models / LAYER_FILE, catalog_version, FEATURES)
            for name, digest in layer.info.get("files", {}).items():
                if file_digest(models / name) != digest:
                    raise CheckpointError(f"{models / name} is not the file {models / LAYER_FILE} was trained with "
                                          "(a training run stopped part-way); run `recassist train conversations`")
        except (CheckpointError, StateMismatchError) as e:
            if not quiet:
                print(f"note: {e}; recommending with the hand-tuned scorer meanwhile", file=sys.stderr)
            return None
        return cls(cosugg, layer, text_model, comention, words)

    def rank(self, engine, profile: InterestProfile, history: Sequence[str], *, text: str | None,
             filters: Filter | None, exclude: Sequence[str], n_candidates: int,
             named_genres: set[str] | None = None) -> LayerRanking | None:
        feats = turn_features(engine, self.models, profile, history, text=text, exclude=exclude, filters=filters,
                              n_candidates=n_candidates, named_genres=named_genres)
        if feats is None:
            return None
        scores = self.layer.score(feats.X)
        return LayerRanking(feats.candidates, scores, layer_order(scores, feats.genre_share))

    @property
    def models(self) -> ChatModels:
        return ChatModels(self.cosugg, self.text_model, self.comention)

    def suggested_after(self, item_id: str, context: Sequence[str], top: int = 2) -> list[tuple[str, float]]:
        """(context item, conversations) after which people in chats most often suggested `item_id`."""
        weights = [(self.cosugg.pair_weight(c, item_id), c) for c in dict.fromkeys(context)]
        return [(c, w) for w, c in sorted(weights, reverse=True)[:top] if w >= MIN_EVIDENCE_PAIRS]

    def called(self, item_id: str, text: str | None) -> list[tuple[str, float]]:
        """(word, conversations): what people in chats called the item, the senses `text` asks for first."""
        return self.words.quotes(item_id, text) if self.words is not None else []

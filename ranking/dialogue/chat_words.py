"""What people call an item in conversations: descriptive words said next to its mentions ("Get Out is so
scary"), counted per conversation, as quotable evidence ("people in recommendation chats called it 'scary'").
As a feature of the ranking layer (the share of an item's describing conversations that used the senses a
request asks for) they did not help on the held-out fold of the training dialogues (Recall@10 / @50 0.286 /
0.527 with it, 0.291 / 0.533 without: 5% of seeker messages use a description at all), so they only explain.

Only words of a fixed lexicon of descriptions (`LEXICON`: funny, creepy, heartwarming, ...) are ever counted,
so nothing a corpus says beyond them reaches a feature or an explanation: no profanity, no instructions, no
names or other personal data. A word counts for an item when a message names that item alone (a message naming
several cannot say which one the word is about) or in the reply right after such a message that names no item
("Have you seen It?" / "yes, so creepy"); words of the item's own title ("Scary Movie") and words negated just
before ("not scary", "wasn't funny") are left out. Each (conversation, item, word) counts once, by the
conversation's trust weight (`ranking.dialogue.trust`), so one long or injected dialogue cannot make a word stick.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from recassist.ranking.dialogue.corpus import Conversation
from recassist.ranking.dialogue.files import config_from, load_current
from recassist.ranking.dialogue.trust import CorpusTrust
from recassist.ranking.storage import save_npz

NAME = "chat-words"
FORMAT = 1

#: sense -> the words that say it. Descriptions a viewer would quote to a friend; judgements without content
#: ("good", "great") say nothing about fit, and negative ones ("boring") are no reason to recommend.
LEXICON: dict[str, tuple[str, ...]] = {
    "funny": ("funny", "hilarious", "humorous", "comedic", "witty", "goofy", "silly"),
    "scary": ("scary", "creepy", "terrifying", "frightening", "spooky", "chilling", "horrifying", "eerie"),
    "gory": ("gory", "bloody", "gruesome", "violent", "brutal"),
    "dark": ("dark", "grim", "bleak", "gritty", "disturbing", "twisted"),
    "sad": ("sad", "tearjerker", "heartbreaking", "emotional", "moving", "touching"),
    "heartwarming": ("heartwarming", "uplifting", "inspiring", "inspirational", "wholesome", "sweet", "cute",
                     "charming", "adorable"),
    "romantic": ("romantic",),
    "suspenseful": ("suspenseful", "tense", "thrilling", "gripping", "intense"),
    "exciting": ("exciting", "epic", "fun", "action-packed", "fast-paced"),
    "clever": ("clever", "smart", "intelligent", "thought-provoking", "mind-bending", "twisty", "complex", "deep"),
    "weird": ("weird", "strange", "quirky", "bizarre", "surreal", "trippy"),
    "classic": ("classic", "iconic", "timeless"),
    "beautiful": ("beautiful", "gorgeous", "stunning"),
}
WORDS: tuple[str, ...] = tuple(w for words in LEXICON.values() for w in words)
SENSE_OF: dict[str, str] = {w: sense for sense, words in LEXICON.items() for w in words}
# Within three words before a description, these turn it around ("not scary", "wasn't that funny", "too dark").
_NEGATION = frozenset({"not", "no", "never", "nothing", "hardly", "too", "isnt", "wasnt", "arent", "werent",
                       "didnt", "dont", "doesnt", "aint", "couldnt", "wouldnt"})
_TOKEN = re.compile(r"[a-z][a-z'\-]*")
_CLAUSE = re.compile(r"[.!?;,:]+|\bbut\b")


def descriptions(text: str, skip: Iterable[str] = ()) -> list[str]:
    """Lexicon words `text` uses, in order, each once; negated ones ("not scary") and words in `skip` left out."""
    skip = set(skip)
    found: list[str] = []
    for clause in _CLAUSE.split(text.lower()):  # a negation reaches no further than its clause
        tokens = _TOKEN.findall(clause)
        for i, t in enumerate(tokens):
            if t in SENSE_OF and t not in skip and t not in found:
                if not {x.replace("'", "") for x in tokens[max(0, i - 3):i]} & _NEGATION:
                    found.append(t)
    return found


def senses(text: str) -> list[str]:
    """The senses of the descriptions `text` uses ("so creepy and funny" -> ["scary", "funny"])."""
    return list(dict.fromkeys(SENSE_OF[w] for w in descriptions(text)))


@dataclass(frozen=True)
class ChatWordsConfig:
    quote_min_conversations: float = 3.0  # a word is quoted as evidence only when this many said it


class ChatWords:
    """Per item and lexicon word, how many conversations (trust-weighted) used the word next to the item."""

    def __init__(self, item_ids: Sequence[str], config: ChatWordsConfig | None = None) -> None:
        self.config = config or ChatWordsConfig()
        self.item_ids = list(item_ids)
        self.index = {x: i for i, x in enumerate(self.item_ids)}
        self.counts = np.zeros((len(self.item_ids), len(WORDS)), np.float32)
        self.described = np.zeros(len(self.item_ids), np.float32)  # conversations using any word for the item
        self.conversations = 0
        self.catalog_version = ""

    def fit(self, conversations: Iterable[Conversation], titles: Mapping[str, str],
            trust: CorpusTrust | None = None) -> ChatWords:
        """`titles`: item id -> its title (its words are never counted for it)."""
        col = {w: j for j, w in enumerate(WORDS)}
        title_words: dict[str, set[str]] = {}
        n_conv = 0
        for conv in conversations:
            w = trust.conversation_weight(conv) if trust is not None else 1.0
            if w <= 0:
                continue
            n_conv += 1
            said: dict[int, set[str]] = {}
            turns = conv.turns
            for i, t in enumerate(turns):
                named = set(t.items) & self.index.keys()
                if len(set(t.items)) != 1 or not named:
                    continue
                item = next(iter(named))
                if item not in title_words:
                    title_words[item] = set(_TOKEN.findall(titles.get(item, "").lower()))
                words = descriptions(t.text, title_words[item])
                if i + 1 < len(turns) and not turns[i + 1].items and turns[i + 1].role != t.role:
                    words += descriptions(turns[i + 1].text, title_words[item])
                said.setdefault(self.index[item], set()).update(words)
            for row, words in said.items():
                for word in words:
                    self.counts[row, col[word]] += w
                if words:
                    self.described[row] += w
        self.conversations = n_conv
        return self

    def quotes(self, item_id: str, text: str | None = None, top: int = 2) -> list[tuple[str, float]]:
        """(word, conversations) people used for the item at least `quote_min_conversations` times, the senses
        `text` asks for first, then the most said."""
        row = self.index.get(item_id)
        if row is None:
            return []
        wanted = senses(text or "")
        said = [(WORDS[j], float(n)) for j, n in enumerate(self.counts[row])
                if n >= self.config.quote_min_conversations]
        said.sort(key=lambda wn: (SENSE_OF[wn[0]] not in wanted, -wn[1], wn[0]))
        out: list[tuple[str, float]] = []
        for word, n in said:  # one word per sense: "funny" and "hilarious" say the same
            if all(SENSE_OF[word] != SENSE_OF[w] for w, _ in out):
                out.append((word, n))
        return out[:top]

    # --- files --------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        meta = {"ranker": NAME, "format": FORMAT, "config": asdict(self.config), "words": list(WORDS),
                "catalog_version": self.catalog_version, "conversations": self.conversations}
        save_npz(path, meta, {"item_ids": np.array(self.item_ids), "counts": self.counts,
                              "described": self.described})

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> ChatWords:
        """Raises `CheckpointError` (missing / corrupt) or `StateMismatchError` (another catalog version or
        lexicon)."""
        from recassist.foundation.errors import StateMismatchError

        meta, a = load_current(path, NAME, "chat-words", catalog_version)
        if tuple(meta.get("words", ())) != WORDS:
            raise StateMismatchError(f"{path} counts another word list than this version; run "
                                     "`recassist train conversations`")
        self = cls([str(x) for x in a["item_ids"]], config_from(ChatWordsConfig, meta["config"], path))
        self.counts, self.described = a["counts"], a["described"]
        self.conversations, self.catalog_version = int(meta["conversations"]), meta["catalog_version"]
        return self


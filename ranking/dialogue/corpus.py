"""The conversation-corpus format (JSONL) and its reader.

One conversation per line::

    {"id": "c-17",                       # unique within the file
     "source": "redial",                 # optional, free text
     "messages": [
        {"role": "seeker", "text": "I loved Heat", "mentions": [{"id": "6"}]},
        {"role": "recommender", "text": "Try Ronin!", "mentions": [{"title": "Ronin (1998)"}]}],
     "outcomes": [{"id": "6", "outcome": ["liked", "seen"]},
                  {"title": "Ronin (1998)", "outcome": ["suggested"]}]}

- `role`: "seeker" (the person asking) or "recommender" (the person or system answering).
- `mentions`: the items a message names, each `{"id": catalog id}` or `{"title": "Title (Year)"}`; titles are
  mapped to the catalog by the caller's `resolve_title`.
- `outcomes` (optional): per item, any of "suggested" (the recommender proposed it), "liked", "disliked",
  "seen" — the seeker's own verdicts where known.

Bad rows raise `DataFormatError` naming file, line and field. Items that are not in the catalog (unknown ids,
titles that do not map) are dropped and counted, as are conversations with no messages; the counts are in
`CorpusStats`, so a caller can report the share mapped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recassist.foundation.errors import DataFormatError, InputError

ROLES = ("seeker", "recommender")
OUTCOMES = frozenset({"suggested", "liked", "disliked", "seen"})
#: A longer line is refused before it is parsed: a conversation is a few KB, a 10 MB line is a broken file.
MAX_LINE_BYTES = 1_000_000
MAX_MESSAGES = 500


@dataclass(frozen=True)
class Turn:
    role: str  # "seeker" | "recommender"
    text: str
    items: tuple[str, ...]  # catalog ids, in the order named, unmapped ones dropped


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    turns: tuple[Turn, ...]
    outcomes: dict[str, frozenset[str]]  # catalog id -> subset of OUTCOMES
    source: str = ""

    def suggested(self, item_id: str) -> bool:
        return "suggested" in self.outcomes.get(item_id, ())

    def polarity(self, item_id: str) -> int:
        """+1 the seeker liked it, -1 disliked it, 0 unknown."""
        o = self.outcomes.get(item_id, ())
        return 1 if "liked" in o else -1 if "disliked" in o else 0


@dataclass
class CorpusStats:
    conversations: int = 0
    skipped_empty: int = 0
    mentions: int = 0
    mentions_mapped: int = 0
    #: conversation id -> the corpus file it came from (filled by readers of several corpora)
    source_of: dict[str, str] = field(default_factory=dict)

    @property
    def share_mapped(self) -> float:
        return self.mentions_mapped / self.mentions if self.mentions else 0.0

    def __str__(self) -> str:
        return (f"{self.conversations} conversations ({self.skipped_empty} empty skipped), "
                f"{self.mentions_mapped}/{self.mentions} mentions mapped to the catalog ({self.share_mapped:.1%})")


def read_corpus(path: Path | str, known_ids: Iterable[str] | set[str],
                resolve_title: Callable[[str], str | None] | None = None,
                stats: CorpusStats | None = None) -> list[Conversation]:
    """All conversations of one corpus file; see the module docstring for the format and errors.

    `known_ids`: the catalog's item ids. `resolve_title`: title -> catalog id or None; a corpus naming items by
    title without one raises `InputError`. Raises `InputError` if the file is missing, `DataFormatError` for a
    bad row or a repeated conversation id.
    """
    return list(iter_corpus(path, known_ids, resolve_title, stats))


def iter_corpus(path: Path | str, known_ids: Iterable[str] | set[str],
                resolve_title: Callable[[str], str | None] | None = None,
                stats: CorpusStats | None = None) -> Iterator[Conversation]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"conversation corpus {p} not found; pass the path of a JSONL file in the corpus format "
                         "(docs/conversations.md)")
    known = known_ids if isinstance(known_ids, set) else set(known_ids)
    stats = stats if stats is not None else CorpusStats()
    ids_seen: set[str] = set()
    with p.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise DataFormatError(str(p), n, "(line)", f"a line under {MAX_LINE_BYTES} bytes",
                                      f"{len(raw)} bytes")
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise DataFormatError(str(p), n, "(line)", "one JSON object", str(e)) from None
            conv = _parse(row, str(p), n, known, resolve_title, stats)
            if conv.conversation_id in ids_seen:
                raise DataFormatError(str(p), n, "id", "a conversation id not used before in the file",
                                      conv.conversation_id)
            ids_seen.add(conv.conversation_id)
            if not any(t.text.strip() or t.items for t in conv.turns):
                stats.skipped_empty += 1
                continue
            stats.conversations += 1
            yield conv


def _parse(row: object, path: str, n: int, known: set[str], resolve, stats: CorpusStats) -> Conversation:
    if not isinstance(row, dict):
        raise DataFormatError(path, n, "(line)", "a JSON object", type(row).__name__)
    cid = row.get("id")
    if not isinstance(cid, str | int) or isinstance(cid, bool) or not str(cid).strip():
        raise DataFormatError(path, n, "id", "a non-empty string", cid)
    messages = row.get("messages")
    if not isinstance(messages, list):
        raise DataFormatError(path, n, "messages", "a list of messages", type(messages).__name__)
    if len(messages) > MAX_MESSAGES:
        raise DataFormatError(path, n, "messages", f"at most {MAX_MESSAGES} messages", len(messages))
    turns = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise DataFormatError(path, n, where, "an object with role and text", m)
        role, text = m.get("role"), m.get("text", "")
        if role not in ROLES:
            raise DataFormatError(path, n, f"{where}.role", " or ".join(ROLES), role)
        if not isinstance(text, str):
            raise DataFormatError(path, n, f"{where}.text", "a string", type(text).__name__)
        items = []
        for j, ref in enumerate(_list(m.get("mentions", []), path, n, f"{where}.mentions")):
            stats.mentions += 1
            item = _item(ref, path, n, f"{where}.mentions[{j}]", known, resolve)
            if item is not None:
                stats.mentions_mapped += 1
                items.append(item)
        turns.append(Turn(role, text, tuple(dict.fromkeys(items))))
    outcomes: dict[str, frozenset[str]] = {}
    for j, o in enumerate(_list(row.get("outcomes", []), path, n, "outcomes")):
        where = f"outcomes[{j}]"
        item = _item(o, path, n, where, known, resolve)
        labels = o.get("outcome")
        if not isinstance(labels, list) or not set(labels) <= OUTCOMES:
            raise DataFormatError(path, n, f"{where}.outcome", f"a list of {sorted(OUTCOMES)}", labels)
        if item is not None:
            outcomes[item] = outcomes.get(item, frozenset()) | frozenset(labels)
    return Conversation(str(cid), tuple(turns), outcomes, str(row.get("source", "")))


def _list(value: object, path: str, n: int, where: str) -> list:
    if not isinstance(value, list):
        raise DataFormatError(path, n, where, "a list", type(value).__name__)
    return value


def _item(ref: object, path: str, n: int, where: str, known: set[str], resolve) -> str | None:
    """Catalog id of an `{"id": ...}` or `{"title": ...}` reference, None if it is not in the catalog."""
    if not isinstance(ref, dict) or not ({"id", "title"} & ref.keys()):
        raise DataFormatError(path, n, where, 'an object with "id" or "title"', ref)
    if "id" in ref:
        return str(ref["id"]) if str(ref["id"]) in known else None
    title = ref["title"]
    if not isinstance(title, str):
        raise DataFormatError(path, n, f"{where}.title", "a string", title)
    if resolve is None:
        raise InputError(f"{path}, line {n}, field '{where}': items named by title need the catalog's title "
                         "matcher; read the corpus through recassist.assistant.dialogue")
    return resolve(title)


def write_corpus(conversations: Iterable[dict], path: Path | str) -> int:
    """Write conversation rows (dicts in the format above) as JSONL atomically; returns how many."""
    from recassist.ranking.storage import atomic_write

    rows = [json.dumps(c, ensure_ascii=False) + "\n" for c in conversations]
    atomic_write(path, lambda f: f.writelines(r.encode("utf-8") for r in rows))
    return len(rows)


@dataclass
class RecommendationTurn:
    """One training example: the context before a recommender turn and the new items it suggested."""

    conversation_id: str
    index: int  # turn index in the conversation
    context: tuple[str, ...]  # items mentioned before, in order
    polarity: dict[str, int] = field(default_factory=dict)  # context item -> +1 / -1 / 0
    targets: tuple[str, ...] = ()


def recommendation_turns(conv: Conversation) -> Iterator[RecommendationTurn]:
    """Recommender turns that name items not mentioned before and marked suggested (the dedup protocol)."""
    seen: dict[str, None] = {}
    for i, t in enumerate(conv.turns):
        if t.role == "recommender":
            new = tuple(x for x in t.items if x not in seen and conv.suggested(x))
            if new:
                ctx = tuple(seen)
                yield RecommendationTurn(conv.conversation_id, i, ctx, {c: conv.polarity(c) for c in ctx}, new)
        for x in t.items:
            seen.setdefault(x)

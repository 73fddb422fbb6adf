"""Reading ReDial dialogues (CC BY 4.0, Li et al. 2018) for evaluation only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recassist.foundation.errors import InputError

_PLACEHOLDER = re.compile(r"@(\d+)")
_ESCAPE = re.compile(r"%([2-7][0-9A-Fa-f])")  # printable ASCII only


@dataclass(frozen=True)
class Message:
    text: str  # raw, with @id placeholders
    is_seeker: bool

    def mentioned_ids(self) -> list[str]:
        return _PLACEHOLDER.findall(self.text)


@dataclass(frozen=True)
class Dialogue:
    conversation_id: str
    messages: list[Message]
    movie_names: dict[str, str]  # ReDial id -> "Title (Year)"
    seeker_answers: dict[str, dict[str, int]]  # ReDial id -> {"suggested", "seen", "liked"}
    recommender_answers: dict[str, dict[str, int]]

    def render(self, text: str) -> str:
        """Replace @id placeholders by the movie's name, as a person would have typed it."""
        return _PLACEHOLDER.sub(lambda m: (self.movie_names.get(m.group(1)) or "").strip() or m.group(0), text)

    def seeker_mentioned_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.messages:
            if m.is_seeker:
                for mid in m.mentioned_ids():
                    seen.setdefault(mid)
        return list(seen)


def load_dialogues(path: Path | str | None, limit: int | None = None) -> list[Dialogue]:
    """Parse dialogues.jsonl; malformed fields (lists where dicts are expected) become empty dicts."""
    if not path:
        raise InputError("no ReDial dialogues given; pass --redial PATH (a dialogues.jsonl in ReDial's format)")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"ReDial dialogues not found at {p}; ReDial is not shipped with recassist: download it "
                         "(CC BY 4.0, https://redialdata.github.io/website/) and pass --redial PATH/TO/dialogues.jsonl")
    out: list[Dialogue] = []
    with p.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            seeker = d["initiatorWorkerId"]
            out.append(Dialogue(
                conversation_id=str(d["conversationId"]),
                messages=[Message(m["text"], m["senderWorkerId"] == seeker) for m in d["messages"]],
                movie_names=_names(d.get("movieMentions")),
                seeker_answers=_as_dict(d.get("initiatorQuestions")),
                recommender_answers=_as_dict(d.get("respondentQuestions")),
            ))
            if limit and len(out) >= limit:
                break
    return out


def _names(value) -> dict[str, str]:
    """ReDial id -> name, with the URL escapes some names hold decoded ("Why Him%3F (2016)" -> "Why Him?")."""
    return {k: _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), v) if isinstance(v, str) else v
            for k, v in _as_dict(value).items()}


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def iter_seeker_texts(d: Dialogue) -> Iterator[str]:
    for m in d.messages:
        if m.is_seeker:
            yield d.render(m.text)

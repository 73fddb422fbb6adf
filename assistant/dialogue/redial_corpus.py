"""ReDial dialogues (Li et al. 2018, CC BY 4.0) -> the conversation-corpus format (`ranking.dialogue.corpus`).

Movie names are mapped to the catalog with the title matcher; unmapped ones are kept as titles (the corpus
reader counts them as unmapped). Seeker verdicts (`initiatorQuestions`) give liked / disliked / seen; either
side's "suggested" marks suggestions, as in the evaluation protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from recassist.assistant.evaluation.redial import Dialogue
from recassist.assistant.extraction.mentions import TitleMatcher

_PLACEHOLDER = re.compile(r"@(\d+)")


def redial_rows(dialogues: list[Dialogue], matcher: TitleMatcher | None = None) -> Iterator[dict]:
    """One corpus row per dialogue; text has `@id` placeholders replaced by the movie's name.

    With a `matcher`, movies are named by catalog id where they map (titles otherwise); without one, by title
    only, so the corpus serves any movie catalog (the shipped corpus is written that way).
    """
    for d in dialogues:
        cache: dict[str, dict] = {}

        def ref(mid: str, d=d, cache=cache) -> dict:
            if mid not in cache:
                name = (d.movie_names.get(mid) or "").strip()
                item = matcher.match_name(name) if name and matcher is not None else None
                cache[mid] = {"id": item} if item else {"title": name or f"@{mid}"}
            return cache[mid]

        messages = [{"role": "seeker" if m.is_seeker else "recommender", "text": d.render(m.text),
                     "mentions": [ref(x) for x in dict.fromkeys(m.mentioned_ids())]} for m in d.messages]
        outcomes = []
        for mid in dict.fromkeys([*d.movie_names, *d.seeker_answers, *d.recommender_answers]):
            labels = _labels(d, mid)
            if labels:
                outcomes.append({**ref(mid), "outcome": labels})
        yield {"id": f"redial-{d.conversation_id}", "source": "redial", "messages": messages, "outcomes": outcomes}


def _labels(d: Dialogue, mid: str) -> list[str]:
    seeker = d.seeker_answers.get(mid) if isinstance(d.seeker_answers.get(mid), dict) else {}
    rec = d.recommender_answers.get(mid) if isinstance(d.recommender_answers.get(mid), dict) else {}
    out = []
    if seeker.get("suggested") == 1 or rec.get("suggested") == 1:
        out.append("suggested")
    liked = seeker.get("liked", rec.get("liked"))
    if liked == 1:
        out.append("liked")
    elif liked == 0:
        out.append("disliked")
    if seeker.get("seen", rec.get("seen")) == 1:
        out.append("seen")
    return out

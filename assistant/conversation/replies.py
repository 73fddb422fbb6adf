"""Fixed sentences the assistant says (UI text, not LLM prompts), and the short lines naming a turn's changes."""

from __future__ import annotations

from collections.abc import Sequence

from recassist.assistant.conversation.models import RecommendedItem
from recassist.foundation.profile import InterestProfile

#: What a list of one catalog's items is called ("films and books you might like").
PLURALS = {None: "films", "movies": "films", "books": "books"}

OUT_OF_SCOPE = ("I can only help with movie recommendations from this catalog. Tell me a movie you liked, "
                "a genre, or a mood, and I'll suggest something.")
EMPTY = "Tell me what you feel like watching: a movie you loved, a genre, a mood, or a time period."
GREETING = "Hi! Tell me a movie you loved or what you're in the mood for, and I'll find something for you."
NOTHING_FOUND = ("I couldn't find anything that fits all your limits. Try removing a constraint from your "
                 "profile, or tell me something else you like.")
NO_REFERENCE = "Which one do you mean? Say its title or its position, like \"the second one\"."
UNDO_NOTHING = "There is nothing to undo."


def describe(delta: InterestProfile) -> list[str]:
    """What a turn's extracted profile adds, one short phrase per entry ("liked Heat", "years 1990–…")."""
    out = [f"liked {p.title}" for p in delta.liked_items]
    out += [f"disliked {p.title}" for p in delta.disliked_items]
    out += [f"wants {a.aspect}" for a in delta.liked_aspects]
    out += [f"avoids {a.aspect}" for a in delta.disliked_aspects]
    out += [f"likes the author {a.name}" for a in delta.liked_authors]
    out += [f"avoids the author {a.name}" for a in delta.disliked_authors]
    out += [f"theme: {t.text}" for t in delta.themes]
    c = delta.constraints
    if c.years:
        out.append(f"years {c.years.min_year or '…'}–{c.years.max_year or '…'}")
    out += [f"seen {p.title}" for p in c.seen_items]
    out += [f"excluded {p.title}" for p in c.excluded_items]
    out += [f"no {g.aspect}" for g in c.excluded_genres]
    return out


def what(items: Sequence[RecommendedItem]) -> str:
    """'' for a list of the first catalog's items only; else its catalogs named: 'books', 'films and books'."""
    domains = list(dict.fromkeys(i.domain for i in items))
    if domains in ([], [None]):
        return ""
    names = [PLURALS.get(d, d or "films") for d in domains]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def intro(intent: str, changes: list[str], what: str = "") -> str:
    """The sentence before a list of items; `what` names its catalogs when there are several."""
    these = f" these {what}" if what else ""
    if intent == "refine" and changes:
        return f"Updated ({'; '.join(changes)}). Here is what fits now{f' ({what})' if what else ''}:"
    if changes:
        return f"Noted: {'; '.join(changes)}. You might like{these}:"
    return f"You might like{these}:"

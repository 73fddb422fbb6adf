"""The profile panel: every profile entry as a removable choice whose value is the patch op removing it.

Choices are (label, value) pairs for a `gr.CheckboxGroup`; Gradio renders labels as text, not markup.
The value is the JSON of one `assistant.store` patch op, so removing the selected entries is one
`patch_profile` call and one undoable revision.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from recassist.assistant.domains.explain import NOUNS
from recassist.foundation.profile import InterestProfile, ItemPreference


def _op(**fields: object) -> str:
    return json.dumps(fields, sort_keys=True)


def profile_choices(profile: InterestProfile) -> list[tuple[str, str]]:
    """(label, remove-op JSON) for each entry, in the order the panel shows them."""
    choices: list[tuple[str, str]] = []
    for name, label in (("liked_items", "liked"), ("disliked_items", "disliked")):
        for e in getattr(profile, name):
            choices.append((f"{label}: {e.title}{_domain(e.domain)}", _remove_item(name, e)))
    for name, label in (("liked_aspects", "likes"), ("disliked_aspects", "dislikes")):
        for a in getattr(profile, name):
            choices.append((f"{label} {a.kind}: {a.aspect}", _op(op="remove_aspect", list=name, aspect=a.aspect)))
    for name, label in (("liked_authors", "likes author"), ("disliked_authors", "avoids author")):
        for a in getattr(profile, name):
            choices.append((f"{label}: {a.name}{_domain(a.domain)}",
                            _op(op="remove_author", list=name, name=a.name, domain=a.domain)))
    for t in profile.themes:
        choices.append((f"wish: {t.text}", _op(op="remove_theme", text=t.text)))
    c = profile.constraints
    if c.years is not None:
        span = f"{c.years.min_year or '…'}–{c.years.max_year or '…'}"
        choices.append((f"years: {span}", _op(op="clear", constraint="years")))
    if c.max_runtime_minutes is not None:
        choices.append((f"at most {c.max_runtime_minutes} min", _op(op="clear", constraint="max_runtime_minutes")))
    for g in c.excluded_genres:
        choices.append((f"no {g.aspect}", _op(op="remove_aspect", list="excluded_genres", aspect=g.aspect)))
    for name, label in (("excluded_items", "not interested"), ("seen_items", "seen")):
        for e in getattr(c, name):
            choices.append((f"{label}: {e.title}{_domain(e.domain)}", _remove_item(name, e)))
    return choices


def _remove_item(name: str, e: ItemPreference) -> str:
    """The op removing exactly this entry: another catalog's entry names its domain (book 1 is not film 1)."""
    if e.domain:
        return _op(op="remove_item", list=name, item_id=e.item_id, domain=e.domain)
    return _op(op="remove_item", list=name, item_id=e.item_id)


def _domain(domain: str | None) -> str:
    """' (book)' for an entry of another catalog than the first; entries of the first say nothing, as before."""
    return f" ({NOUNS.get(domain, domain)})" if domain else ""


def selected_ops(values: Iterable[str]) -> list[dict]:
    """The patch ops for the selected choice values (invalid JSON is dropped: it did not come from us)."""
    ops = []
    for value in values:
        try:
            op = json.loads(value)
        except (TypeError, ValueError):
            continue
        if isinstance(op, dict):
            ops.append(op)
    return ops


def profile_summary(profile: InterestProfile) -> str:
    """One line over the panel: how much the assistant knows."""
    n = len(profile_choices(profile))
    if n == 0:
        return "Nothing yet: tell me what you like, or react to the cards."
    return f"{n} thing{'s' if n != 1 else ''} I know about your taste. Select entries to remove them."

"""Helpers shared by the foundation tests (imported by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

from llm_doubles import ScriptedLLM  # noqa: F401  (re-exported for the foundation tests)


def item_id(catalog, label: str) -> str:
    hits = [i.item_id for i in catalog.items.values() if i.label == label]
    assert len(hits) == 1, f"{label!r} not unique in the demo catalog: {hits}"
    return hits[0]



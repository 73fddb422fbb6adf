"""Item documents: the text each catalog item is embedded as.

The recipe is versioned: changing how documents are built must change
`DOC_RECIPE`, which is recorded in the index manifest, so an old index is
detected and rebuilt instead of silently mixing two recipes. (Per-document
vector caching keys on the document text itself, so it follows automatically.)
"""

from __future__ import annotations

import hashlib

from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.errors import InputError

DOC_RECIPE = "doc-v1:title+aliases+year+genres+tags12+description600"

MAX_TAGS = 12
MAX_DESCRIPTION_CHARS = 600


def item_document(item: Item) -> str:
    """'Title (aka ...) (1999). Genres: a, b. Tags: x, y. <description>'.

    Raises `InputError` naming the item when it has no text at all.
    """
    title = item.title.strip()
    if not title:
        raise InputError(f"item {item.item_id!r} has no title; every item needs text to be embedded")
    parts = [title]
    if item.aliases:
        parts[0] += f" (also known as {'; '.join(a.strip() for a in item.aliases if a.strip())})"
    if item.year:
        parts[0] += f" ({item.year})"
    parts[0] += "."
    if item.genres:
        parts.append(f"Genres: {', '.join(item.genres)}.")
    tags = [t.strip() for t in item.tags[:MAX_TAGS] if t.strip()]
    if tags:
        parts.append(f"Tags: {', '.join(tags)}.")
    if item.description and item.description.strip():
        parts.append(" ".join(item.description.split())[:MAX_DESCRIPTION_CHARS])
    return " ".join(parts)


def catalog_documents(catalog: Catalog) -> tuple[list[str], list[str]]:
    """(item ids in catalog order, their documents). Raises `InputError` on an empty catalog."""
    if not catalog.items:
        raise InputError(f"catalog '{catalog.name}' has no items; nothing to index")
    ids = list(catalog.item_ids)
    return ids, [item_document(catalog.items[i]) for i in ids]


def document_hash(text: str) -> str:
    """Cache key of one document: 32 hex chars of SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def aspect_query(aspect: str, kind: str) -> str:
    """Search text for a liked genre or tag, phrased like the documents so it lands near them."""
    return f"Genres: {aspect}." if kind == "genre" else f"Tags: {aspect}."

"""Typed catalog records: what every other part of recassist reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field
from recassist.foundation.errors import UnknownItemError


class Item(BaseModel):
    """One catalog item. `title` is the display title ("The Matrix", article in front)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    year: int | None = None
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = Field(default=(), description="User tags, most frequent first.")
    aliases: tuple[str, ...] = Field(default=(), description="Alternative / original-language titles.")
    description: str | None = None
    authors: tuple[str, ...] = Field(default=(), description="Who wrote it (books), as the catalog names them.")

    @property
    def label(self) -> str:
        """'The Matrix (1999)': how the item is shown to people."""
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass(frozen=True, slots=True)
class Interaction:
    """A user's rating / click / view of an item. `value` is on the catalog's own scale.

    A slotted dataclass rather than a pydantic model: catalogs hold 10^5+ of
    these, and loaders validate each field themselves (see `files.py`).
    """

    user_id: str
    item_id: str
    value: float = 1.0
    timestamp: int = 0


@dataclass
class Catalog:
    """Items plus interactions, with the lookups every component needs.

    `version` is a content hash: stored artefacts (index, checkpoints) record
    it so a changed catalog is detected instead of silently mixed.
    `domain` names what the items are ("movies", "books"): several catalogs are served side by side
    and profile entries say which one they came from. `timed` is False when the interactions carry
    no timestamps (goodbooks): evaluation then holds out a random event per user, not the last one.
    """

    name: str
    items: dict[str, Item]
    interactions: list[Interaction] = field(default_factory=list)
    domain: str = "items"
    timed: bool = True

    def __post_init__(self) -> None:
        self.item_ids: list[str] = list(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: str) -> Item:
        try:
            return self.items[str(item_id)]
        except KeyError:
            raise UnknownItemError(
                f"item id {item_id!r} is not in catalog '{self.name}'; look it up by title first"
            ) from None

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self.items

    @cached_property
    def version(self) -> str:
        h = hashlib.sha256()
        for it in self.items.values():
            # Items without authors hash as they did before the field existed: their artefacts stay current.
            h.update(it.model_dump_json(exclude=None if it.authors else {"authors"}).encode())
        h.update(str(len(self.interactions)).encode())
        for x in self.interactions[:: max(1, len(self.interactions) // 1000)]:
            h.update(f"{x.user_id}|{x.item_id}|{x.value}|{x.timestamp}".encode())
        return h.hexdigest()[:16]

    @cached_property
    def genres(self) -> list[str]:
        """Genre vocabulary, most common first."""
        return _by_frequency(g for it in self.items.values() for g in it.genres)

    @cached_property
    def tags(self) -> list[str]:
        """Tag vocabulary (lower-cased), most common first."""
        return _by_frequency(t.lower() for it in self.items.values() for t in it.tags)

    @cached_property
    def popularity(self) -> dict[str, int]:
        """Interaction count per item id (items without interactions absent)."""
        counts: dict[str, int] = {}
        for x in self.interactions:
            counts[x.item_id] = counts.get(x.item_id, 0) + 1
        return counts

    def history(self, user_id: str) -> list[Interaction]:
        """A user's interactions, oldest first."""
        return sorted((x for x in self.interactions if x.user_id == user_id), key=lambda x: x.timestamp)

    def with_items(self, items: Sequence[Item]) -> Catalog:
        """A copy with items added or replaced (catalog updates)."""
        merged = dict(self.items)
        for it in items:
            merged[it.item_id] = it
        return Catalog(self.name, merged, self.interactions, self.domain, self.timed)

    def without_items(self, item_ids: Sequence[str]) -> Catalog:
        """A copy without these items and their interactions."""
        drop = set(item_ids)
        return Catalog(
            self.name,
            {k: v for k, v in self.items.items() if k not in drop},
            [x for x in self.interactions if x.item_id not in drop],
            self.domain,
            self.timed,
        )


def _by_frequency(values: Iterable[str]) -> list[str]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts, key=lambda v: (-counts[v], v))

"""`InterestProfile`: what the system believes a user wants, each belief traceable to words.

Entries are grounded: item entries carry catalog ids, aspect entries carry
catalog vocabulary (genres, tags). Every entry keeps the span of text it came
from and the turn it was said in, so it can be shown, explained and undone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Origin = Literal["explicit", "inferred", "feedback"]
AspectKind = Literal["genre", "tag"]


class Source(BaseModel):
    """Where an entry came from: the exact words, their offsets in that turn's text, the turn."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The user's words this entry was read from.")
    start: int = Field(default=0, ge=0)
    end: int = Field(default=0, ge=0)
    turn: int = Field(default=0, ge=0)


class ItemPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str = Field(description="Catalog label, e.g. 'Arrival (2016)'.")
    domain: str | None = Field(default=None, description="The catalog the id belongs to ('books'); None: the "
                               "first catalog served (the only one before several were).")
    source: Source
    origin: Origin = "explicit"
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class AspectPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect: str = Field(description="A catalog genre or tag, exactly as in the catalog vocabulary.")
    kind: AspectKind
    source: Source
    origin: Origin = "explicit"
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class AuthorPreference(BaseModel):
    """An author the user named ("Agatha Christie"): a name of a catalog's `Item.authors`, found in their words."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="As the catalog writes it, e.g. 'Agatha Christie'.")
    domain: str = Field(description="The catalog whose items carry this author ('books').")
    aspects: list[str] = Field(default_factory=list, description="Shared-vocabulary aspects most of the author's "
                               "items carry ('mystery', 'crime'): what the author's taste means in other catalogs.")
    source: Source
    origin: Origin = "explicit"
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class Theme(BaseModel):
    """Free-text wish that maps to no single vocabulary term ('something thoughtful'); used for search."""

    model_config = ConfigDict(extra="forbid")

    text: str
    source: Source


class YearRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_year: int | None = Field(default=None, ge=1800, le=2100)
    max_year: int | None = Field(default=None, ge=1800, le=2100)
    source: Source


class Constraints(BaseModel):
    """Hard constraints: candidates violating them are never shown."""

    model_config = ConfigDict(extra="forbid")

    years: YearRange | None = None
    max_runtime_minutes: int | None = Field(default=None, ge=1, description="Kept even if the catalog lacks runtimes.")
    runtime_source: Source | None = None
    excluded_genres: list[AspectPreference] = Field(default_factory=list)
    excluded_items: list[ItemPreference] = Field(default_factory=list)
    seen_items: list[ItemPreference] = Field(default_factory=list)


class InterestProfile(BaseModel):
    """A user's grounded interests. `status` says whether it is trustworthy."""

    model_config = ConfigDict(extra="forbid")

    liked_items: list[ItemPreference] = Field(default_factory=list)
    disliked_items: list[ItemPreference] = Field(default_factory=list)
    liked_aspects: list[AspectPreference] = Field(default_factory=list)
    disliked_aspects: list[AspectPreference] = Field(default_factory=list)
    liked_authors: list[AuthorPreference] = Field(default_factory=list)
    disliked_authors: list[AuthorPreference] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    constraints: Constraints = Field(default_factory=Constraints)

    status: Literal["ok", "empty", "degraded"] = "ok"
    notes: list[str] = Field(default_factory=list, description="Why the profile is empty/degraded, truncation, etc.")
    truncated: bool = False

    # --- conveniences -------------------------------------------------
    # `domain`: entries of that catalog only; None, the first catalog's (entries without a domain).
    def liked_ids(self, domain: str | None = None) -> list[str]:
        return [p.item_id for p in self.liked_items if p.domain == domain]

    def disliked_ids(self, domain: str | None = None) -> list[str]:
        return [p.item_id for p in self.disliked_items if p.domain == domain]

    def liked_genres(self) -> set[str]:
        """Lower-case genres the profile likes (tags excluded)."""
        return {a.aspect.lower() for a in self.liked_aspects if a.kind == "genre"}

    def blocked_ids(self, domain: str | None = None) -> set[str]:
        """Items never to recommend: disliked, excluded or already seen."""
        c = self.constraints
        return {p.item_id for p in (*self.disliked_items, *c.excluded_items, *c.seen_items) if p.domain == domain}

    def is_empty(self) -> bool:
        c = self.constraints
        return not (
            self.liked_items or self.disliked_items or self.liked_aspects or self.disliked_aspects
            or self.liked_authors or self.disliked_authors or self.themes or c.years or c.max_runtime_minutes
            or c.excluded_genres or c.excluded_items or c.seen_items
        )

    def merged_with(self, newer: InterestProfile) -> InterestProfile:
        """Combine turn by turn: newer beats older, explicit beats inferred.

        An item or aspect the newer profile states flips any older opposite
        entry; an inferred entry never overrides an explicit one.
        """
        return merge_profiles(self, newer)


# --- merge rules: newer beats older, explicit beats inferred ---------------------------------------

_RANK = {"inferred": 0, "explicit": 1, "feedback": 2}


def _wins(new: ItemPreference | AspectPreference, old: ItemPreference | AspectPreference) -> bool:
    """A newer entry replaces an older one unless it is weaker in kind (inferred vs explicit)."""
    return _RANK[new.origin] >= _RANK[old.origin]


def _merge_sides(old_pos, old_neg, new_pos, new_neg, key):
    pos = {key(p): p for p in old_pos}
    neg = {key(p): p for p in old_neg}
    for side, other, entries in ((pos, neg, new_pos), (neg, pos, new_neg)):
        for e in entries:
            k = key(e)
            if k in other and not _wins(e, other[k]):
                continue
            other.pop(k, None)
            if k in side and not _wins(e, side[k]):
                continue
            side[k] = e
    return list(pos.values()), list(neg.values())


def merge_profiles(old: InterestProfile, new: InterestProfile) -> InterestProfile:
    liked, disliked = _merge_sides(
        old.liked_items, old.disliked_items, new.liked_items, new.disliked_items, lambda p: (p.domain, p.item_id)
    )
    liked_a, disliked_a = _merge_sides(
        old.liked_aspects, old.disliked_aspects, new.liked_aspects, new.disliked_aspects,
        lambda p: (p.kind, p.aspect.lower()),
    )
    liked_p, disliked_p = _merge_sides(
        old.liked_authors, old.disliked_authors, new.liked_authors, new.disliked_authors,
        lambda p: (p.domain, p.name.lower()),
    )
    oc, nc = old.constraints, new.constraints
    excluded_genres = {g.aspect: g for g in oc.excluded_genres}
    for g in nc.excluded_genres:
        excluded_genres[g.aspect] = g
    # A genre the user now asks for is no longer excluded.
    for a in new.liked_aspects:
        if a.kind == "genre":
            excluded_genres.pop(a.aspect, None)
    constraints = Constraints(
        years=nc.years or oc.years,
        max_runtime_minutes=nc.max_runtime_minutes or oc.max_runtime_minutes,
        runtime_source=nc.runtime_source or oc.runtime_source,
        excluded_genres=list(excluded_genres.values()),
        excluded_items=list({(p.domain, p.item_id): p for p in (*oc.excluded_items, *nc.excluded_items)}.values()),
        seen_items=list({(p.domain, p.item_id): p for p in (*oc.seen_items, *nc.seen_items)}.values()),
    )
    themes = list({t.text.lower(): t for t in (*old.themes, *new.themes)}.values())
    merged = InterestProfile(
        liked_items=liked,
        disliked_items=disliked,
        liked_aspects=liked_a,
        disliked_aspects=disliked_a,
        liked_authors=liked_p,
        disliked_authors=disliked_p,
        themes=themes,
        constraints=constraints,
        notes=list(new.notes),
        truncated=new.truncated,
        status="degraded" if new.status == "degraded" else "ok",
    )
    if merged.is_empty():
        merged.status = "empty"
    return merged

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
    themes: list[Theme] = Field(default_factory=list)
    constraints: Constraints = Field(default_factory=Constraints)

    status: Literal["ok", "empty", "degraded"] = "ok"
    notes: list[str] = Field(default_factory=list, description="Why the profile is empty/degraded, truncation, etc.")
    truncated: bool = False

    # --- conveniences -------------------------------------------------
    def liked_ids(self) -> list[str]:
        return [p.item_id for p in self.liked_items]

    def disliked_ids(self) -> list[str]:
        return [p.item_id for p in self.disliked_items]

    def blocked_ids(self) -> set[str]:
        """Items never to recommend: disliked, excluded or already seen."""
        c = self.constraints
        return {p.item_id for p in (*self.disliked_items, *c.excluded_items, *c.seen_items)}

    def is_empty(self) -> bool:
        c = self.constraints
        return not (
            self.liked_items or self.disliked_items or self.liked_aspects or self.disliked_aspects
            or self.themes or c.years or c.max_runtime_minutes or c.excluded_genres
            or c.excluded_items or c.seen_items
        )

    def merged_with(self, newer: InterestProfile) -> InterestProfile:
        """Combine turn by turn: newer beats older, explicit beats inferred.

        An item or aspect the newer profile states flips any older opposite
        entry; an inferred entry never overrides an explicit one.
        """
        from assistant.profile_merge import merge_profiles

        return merge_profiles(self, newer)

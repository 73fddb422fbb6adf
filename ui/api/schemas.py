"""Request bodies of the HTTP API: strict (unknown fields are a 422), bounded, documented in /docs.

Responses reuse the engine's own models (`ChatReply`, `InterestProfile`, `Item`), so the API and the
chat UI describe the same objects the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from recassist.assistant.conversation.models import FeedbackKind
from recassist.assistant.store import PatchOp
from recassist.ui.ids import ID_PATTERN, ID_RULE

UserId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(
        description=f"Your id for the user: {ID_RULE}.",
        examples=["u-42"],
    ),
]
ItemId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="A catalog item id.", examples=["2571"]),
]
Domain = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$"),
    Field(description="The catalog: 'movies', 'books', ... (GET /v1/catalogs); default the first. Recommendations "
          "without one follow the text's words ('a book like ...').", examples=["books"]),
]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# The engine truncates text over RECASSIST_MAX_TEXT_CHARS itself (and says so); this only bounds the body.
UserText = Annotated[str, StringConstraints(max_length=20_000)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Clause(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class YearClause(_Clause):
    eq: int | None = Field(default=None, alias="$eq")
    ne: int | None = Field(default=None, alias="$ne")
    gt: int | None = Field(default=None, alias="$gt")
    gte: int | None = Field(default=None, alias="$gte")
    lt: int | None = Field(default=None, alias="$lt")
    lte: int | None = Field(default=None, alias="$lte")


class SetClause(_Clause):
    eq: Label | None = Field(default=None, alias="$eq")
    ne: Label | None = Field(default=None, alias="$ne")
    in_: list[Label] | None = Field(default=None, alias="$in", max_length=100)
    nin: list[Label] | None = Field(default=None, alias="$nin", max_length=1000)


class TagClause(_Clause):
    nin: list[Label] = Field(alias="$nin", max_length=100)


class Filters(_Strict):
    """Hard filters (the retrieval allow-list): every returned item satisfies all of them.

    Example: `{"year": {"$gte": 1990, "$lt": 2000}, "genre": {"$nin": ["Horror"]}}`.
    """

    year: int | YearClause | None = Field(default=None, description="A year, or operators $eq $ne $gt $gte $lt $lte.")
    genre: Label | SetClause | None = Field(default=None, description="A genre, or $eq $ne $in $nin.")
    item_id: ItemId | SetClause | None = Field(default=None, description="An item id, or $eq $ne $in $nin.")
    tag: TagClause | None = Field(default=None, description="Tags to avoid: $nin.")

    def to_spec(self) -> dict[str, Any]:
        """The filter spec the engine's `parse_filter` reads (operators spelled with `$`)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class RecommendationRequest(_Strict):
    """Recommendations for a stored user, for a text, or both (the text refines the stored profile)."""

    user_id: UserId | None = None
    text: UserText | None = Field(default=None, examples=["I loved Arrival and Interstellar, nothing before 1990"])
    k: int = Field(default=10, ge=1, le=50, description="How many items.")
    filters: Filters | None = None
    explain: bool = Field(default=True, description="Write a reason per item (LLM); off is much faster.")
    domain: Domain | None = None

    @model_validator(mode="after")
    def _needs_someone(self) -> RecommendationRequest:
        if self.user_id is None and not (self.text or "").strip():
            raise ValueError("give user_id, text, or both")
        return self


class ExtractRequest(_Strict):
    text: UserText = Field(examples=["I loved Arrival and Interstellar, Gravity bored me"])


class ProfilePatch(_Strict):
    """Edits applied in order, atomically; each becomes one undoable revision of the profile."""

    ops: list[PatchOp] = Field(min_length=1, max_length=100)


class FeedbackRequest(_Strict):
    user_id: UserId
    item_id: ItemId
    kind: FeedbackKind = Field(description="like, dislike, seen (never shown again) or not_interested.")
    session_id: SessionId | None = None
    domain: Domain | None = None


class ChatRequest(_Strict):
    user_id: UserId
    message: UserText = Field(examples=["Something like Moon, but older"])
    session_id: SessionId | None = Field(default=None, description="Omit to start a new session.")
    k: int = Field(default=5, ge=1, le=20)
    domain: Domain | None = Field(default=None, description="The catalog to answer from; omitted: the words "
                                  "choose ('a book like ...'), else every catalog the turn names, else all.")


class ItemBody(_Strict):
    """A catalog item's fields; the id is in the path. The item is (re)indexed before the call returns."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    year: int | None = Field(default=None, ge=1800, le=2100)
    genres: list[Label] = Field(default_factory=list, max_length=50)
    tags: list[Label] = Field(default_factory=list, max_length=200)
    aliases: list[Label] = Field(default_factory=list, max_length=50)
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    authors: list[Label] = Field(default_factory=list, max_length=50, description="Who wrote it (books): a "
                                 "name the user writes grounds this item's catalog by its author.")


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = Field(description="'ready' when the catalog, index, ranker and store are loaded.")
    catalog: str
    items: int
    indexed_items: int = Field(description="Items in the vector index (read from it by this probe).")
    catalog_version: int = Field(0, description="Version of the shared catalog-updates log (Redis) this worker's "
                                 "catalog includes.")
    catalog_swap: dict[str, float] = Field(default_factory=dict, description="This worker's last catalog swap "
                                           "(an item update applied): log version, wall_ms, cpu_ms.")
    llm_backend: str
    ranker: dict[str, Any] = Field(default_factory=dict, description="The ranker serving now: name, kind "
                                   "('quick' until the full model is ready, then 'full'), validation NDCG@10.")
    training: dict[str, Any] = Field(default_factory=dict, description="Background training: state "
                                     "('none', 'training', 'interrupted', 'failed', 'done') and progress.")
    conversation_layer: str = Field("", description="What ranks chat requests: 'serving' (the conversation-"
                                    "trained layer) or the hand-set blend while the layer is missing or training.")
    conversation_layer_trained_on: dict[str, Any] = Field(
        default_factory=dict, description="What the served layer learned from: replayed_conversations (of "
        "usable_conversations in its corpora) and the ranker whose scores it read ('quick' or 'full').")
    llm: dict[str, str] = Field(default_factory=dict, description="The LLM: backend, model and state ('ready', "
                                "'loading' while the embedded model loads in the background, 'failed: ...', 'off').")

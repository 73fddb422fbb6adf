"""What the assistant returns: shared by the chat CLI, the Gradio UI and the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from recassist.foundation.profile import InterestProfile

Intent = Literal[
    "recommend", "explain", "refine", "feedback", "undo", "onboarding", "smalltalk", "out_of_scope", "empty"
]
FeedbackKind = Literal["like", "dislike", "seen", "not_interested"]


class SimilarItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str
    similarity: float = Field(description="Cosine similarity of item text embeddings, -1..1.")


class ChatSuggestion(BaseModel):
    """An item the user named after which people in recommendation chats were often suggested the item."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str
    conversations: float = Field(description="How many corpus conversations did (each counted at most once).")


class ChatWord(BaseModel):
    """A word people in recommendation chats used for the item ("creepy"), from a fixed lexicon of
    descriptions (`ranking.dialogue.chat_words`): never free text from a corpus."""

    model_config = ConfigDict(extra="forbid")

    word: str
    conversations: float = Field(description="How many corpus conversations said it next to the item.")


class CrossDomainLink(BaseModel):
    """A liked item of another catalog whose shared aspects this item carries ('the film Arrival')."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str
    domain: str = Field(description="The liked item's catalog, e.g. 'movies'.")
    shared_aspects: list[str] = Field(default_factory=list, description="Shared-vocabulary aspects both carry.")


class AuthorLink(BaseModel):
    """An author the user named whose work this item is, or whose items' aspects it carries."""

    model_config = ConfigDict(extra="forbid")

    name: str
    domain: str = Field(description="The catalog of the author's items, e.g. 'books'.")
    aspects: list[str] = Field(default_factory=list, description="Shared aspects most of the author's items carry.")
    shared_aspects: list[str] = Field(default_factory=list, description="Those of them this item carries.")
    by_author: bool = Field(default=False, description="This item is one of the author's.")


class Evidence(BaseModel):
    """Everything the system really knows about why an item was proposed. Explanations may state only this."""

    model_config = ConfigDict(extra="forbid")

    matched_aspects: list[str] = Field(default_factory=list, description="Liked genres/tags the item carries.")
    matched_themes: list[str] = Field(default_factory=list, description="Free-text wishes it matched semantically.")
    similar_to_liked: list[SimilarItem] = Field(default_factory=list, description="Liked items it is closest to.")
    co_liked_with: list[SimilarItem] = Field(
        default_factory=list, description="Liked items that people who rated this item also rated highly."
    )
    sources: list[str] = Field(default_factory=list, description="Candidate sources that proposed it.")
    suggested_in_chats_after: list[ChatSuggestion] = Field(
        default_factory=list, description="Items you named after which people in recommendation chats were often "
        "suggested this one (in the corpora the conversation layer was trained on)."
    )
    called_in_chats: list[ChatWord] = Field(
        default_factory=list, description="Words people in recommendation chats used for it (\"creepy\"), in "
        "the corpora the conversation layer was trained on."
    )
    popular_now: bool = Field(
        default=False, description="Among the titles gathering interactions fastest lately (top 1% by trend)."
    )
    new_release: bool = Field(
        default=False, description="Released in the catalog's current year or the one before."
    )
    ranker: str = Field(default="", description="The ranker whose scores counted; empty when nothing was known "
                        "about the user (no history, no liked items) and its scores were left out.")
    ranker_rank: int | None = Field(default=None, description="1-based rank among the candidates.")
    ranker_score: float | None = None
    satisfies: list[str] = Field(default_factory=list, description="Constraints it was checked against.")
    cross_domain: list[CrossDomainLink] = Field(
        default_factory=list, description="Liked items of other catalogs it shares aspects with."
    )
    authors: list[AuthorLink] = Field(
        default_factory=list, description="Authors you named: it is theirs, or carries what their items carry."
    )


class RecommendedItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str
    domain: str | None = Field(default=None, description="The item's catalog ('books'); None: the first catalog.")
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    score: float
    rank: int
    explanation: str = ""
    explanation_source: Literal["llm", "template", "none"] = "none"
    evidence: Evidence = Field(default_factory=Evidence)


class OnboardingStep(BaseModel):
    """A cold-start question: free text and/or a few diverse items to react to."""

    model_config = ConfigDict(extra="forbid")

    question: str
    items: list[RecommendedItem] = Field(default_factory=list)
    asked: list[str] = Field(default_factory=list, description="Question kinds asked so far (never repeated).")
    done: bool = False


class ChatReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str
    user_id: str
    intent: Intent
    text: str = Field(description="The assistant's message to show.")
    items: list[RecommendedItem] = Field(default_factory=list)
    profile: InterestProfile
    profile_changes: list[str] = Field(default_factory=list, description="Human-readable changes this turn made.")
    onboarding: OnboardingStep | None = None
    notes: list[str] = Field(default_factory=list, description="Degradations (LLM timeout, truncation, ...).")


class ChatEvent(BaseModel):
    """One piece of a streamed reply: the list arrives first, explanations after."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["reply", "explanation", "done"]
    reply: ChatReply | None = None  # type == "reply": items without (or with template) explanations
    item_id: str | None = None  # type == "explanation"
    explanation: str | None = None
    explanation_source: Literal["llm", "template"] | None = None


class ReadyState(BaseModel):
    """What a readiness probe reports once the store and the index have answered."""

    catalog: str
    items: int = Field(description="Items in the catalog now.")
    indexed_items: int = Field(description="Items in the vector index.")
    catalog_version: int = Field(0, description="Version of the shared catalog-updates log this catalog includes.")
    catalog_swap: dict[str, float] = Field(default_factory=dict, description="The last catalog swap: its "
                                           "log version, wall_ms and cpu_ms (of the swapping thread).")

"""HTTP routes: each a few lines calling the one `Assistant` the app was built with.

Handlers are plain `def`: the engine is blocking (SQLite, Chroma, torch, llama.cpp), so FastAPI runs
them in its thread pool. Errors are not caught here: `ui.api.errors` maps them in one place.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from recassist.assistant.conversation.models import ChatReply
from recassist.foundation.catalog import Item
from recassist.foundation.profile import InterestProfile
from recassist.ui.api.errors import ERROR_RESPONSES
from recassist.ui.api.schemas import (
    ChatRequest,
    ExtractRequest,
    FeedbackRequest,
    Health,
    ItemBody,
    ProfilePatch,
    Readiness,
    RecommendationRequest,
)
from recassist.ui.api.security import rate_limit
from recassist.ui.ids import ID_PATTERN

UserPath = Annotated[str, Path(pattern=ID_PATTERN, description="The user's id.")]
ItemPath = Annotated[str, Path(pattern=ID_PATTERN, description="The item's id.")]


async def get_assistant(request: Request) -> Any:
    # async: a plain `def` dependency would cost every request a trip through the thread pool.
    return request.app.state.assistant


Engine = Annotated[Any, Depends(get_assistant)]

v1 = APIRouter(prefix="/v1", dependencies=[Depends(rate_limit)], responses=ERROR_RESPONSES)
probes = APIRouter(tags=["health"])


@v1.post("/recommendations", response_model=ChatReply, tags=["recommendations"])
def recommend(body: RecommendationRequest, engine: Engine) -> ChatReply:
    """Top-k catalog items for a user and/or a text, with scores, reasons and the evidence behind them."""
    filters = body.filters.to_spec() if body.filters else None
    return engine.recommend(body.user_id, body.text, k=body.k, filters=filters, explain=body.explain)


@v1.post("/profiles/extract", response_model=InterestProfile, tags=["profiles"])
def extract(body: ExtractRequest, engine: Engine) -> InterestProfile:
    """Read a text into a grounded profile; nothing is stored."""
    return engine.extract(body.text)


@v1.get("/users/{user_id}/profile", response_model=InterestProfile, tags=["profiles"])
def get_profile(user_id: UserPath, engine: Engine) -> InterestProfile:
    """The user's stored profile."""
    return engine.get_profile(user_id)


@v1.patch("/users/{user_id}/profile", response_model=InterestProfile, tags=["profiles"])
def patch_profile(user_id: UserPath, body: ProfilePatch, engine: Engine) -> InterestProfile:
    """Apply edits (remove an entry, add a liked item, set years, ...); one undoable revision."""
    return engine.patch_profile(user_id, body.ops)


@v1.delete("/users/{user_id}/profile", status_code=204, tags=["profiles"])
def delete_profile(user_id: UserPath, engine: Engine) -> Response:
    """Forget the user: profile, history, feedback and sessions."""
    engine.delete_profile(user_id)
    return Response(status_code=204)


@v1.post("/feedback", response_model=InterestProfile, tags=["profiles"])
def feedback(body: FeedbackRequest, engine: Engine) -> InterestProfile:
    """Record like / dislike / seen / not_interested; returns the updated profile."""
    return engine.feedback(body.user_id, body.item_id, body.kind, session_id=body.session_id)


@v1.post("/chat", response_model=ChatReply, tags=["chat"])
def chat(body: ChatRequest, engine: Engine) -> ChatReply:
    """One chat turn: the reply, items, and the profile changes the turn made."""
    return engine.chat(body.user_id, body.message, session_id=body.session_id, k=body.k)


@v1.put("/items/{item_id}", response_model=Item, tags=["catalog"])
def put_item(item_id: ItemPath, body: ItemBody, engine: Engine) -> Item:
    """Add or replace a catalog item; it is searchable and rankable when this returns."""
    item = Item(item_id=item_id, **body.model_dump())
    engine.upsert_item(item)
    return engine.catalog.get(item_id)


@v1.delete("/items/{item_id}", status_code=204, tags=["catalog"])
def delete_item(item_id: ItemPath, engine: Engine) -> Response:
    """Remove a catalog item; it is never recommended again."""
    engine.delete_item(item_id)
    return Response(status_code=204)


@probes.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health()


@probes.get("/readyz", response_model=Readiness)
def readyz(request: Request, engine: Engine) -> Readiness:
    """The engine is loaded and its backends answer: the profile store and the vector index are
    each read once (a failure answers 503 with the backend's message)."""
    catalog = engine.catalog
    settings = request.app.state.settings
    engine.store.ping()
    indexed = engine.engine.candidates.store.count()
    from recassist.ui.status import training_summary

    return Readiness(status="ready", catalog=catalog.name, items=len(catalog), indexed_items=indexed,
                     llm_backend=settings.resolved_llm_backend, ranker=dict(engine.served_ranker),
                     training=training_summary(settings))

"""HTTP routes: each a few lines calling the one `Assistant` the app was built with.

Handlers are plain `def`: the engine is blocking (SQLite, Chroma, torch, llama.cpp), so FastAPI runs
them in its thread pool. Errors are not caught here: `ui.api.errors` maps them in one place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from recassist.assistant.conversation import Assistant
from recassist.assistant.conversation.models import ChatReply
from recassist.assistant.domains.catalogs import CatalogInfo, Catalogs
from recassist.assistant.domains.chat import DomainChat
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

DomainQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                                           description="The catalog (GET /v1/catalogs); default the first.")]
UserPath = Annotated[str, Path(pattern=ID_PATTERN, description="The user's id.")]
ItemPath = Annotated[str, Path(pattern=ID_PATTERN, description="The item's id.")]


async def get_assistant(request: Request) -> Assistant:
    # async: a plain `def` dependency would cost every request a trip through the thread pool.
    return request.app.state.assistant


Engine = Annotated[Assistant, Depends(get_assistant)]


async def get_catalogs(request: Request) -> Catalogs:
    """Every served catalog by domain (built on first use from the app's assistant and settings)."""
    state = request.app.state
    if getattr(state, "catalogs", None) is None:
        state.catalogs = Catalogs(state.assistant, state.settings)
    return state.catalogs


AllCatalogs = Annotated[Catalogs, Depends(get_catalogs)]

v1 = APIRouter(prefix="/v1", dependencies=[Depends(rate_limit)], responses=ERROR_RESPONSES)
probes = APIRouter(tags=["health"])


@v1.post("/recommendations", response_model=ChatReply, tags=["recommendations"])
def recommend(body: RecommendationRequest, catalogs: AllCatalogs) -> ChatReply:
    """Top-k catalog items for a user and/or a text, with scores, reasons and the evidence behind them."""
    filters = body.filters.to_spec() if body.filters else None
    return catalogs.recommend(body.user_id, body.text, k=body.k, domain=body.domain, filters=filters,
                              explain=body.explain)


@v1.get("/catalogs", response_model=list[CatalogInfo], tags=["catalog"])
def list_catalogs(catalogs: AllCatalogs) -> list[CatalogInfo]:
    """The catalogs served, by domain, with their sizes and trained models (the first is the default)."""
    return catalogs.describe()


@v1.post("/profiles/extract", response_model=InterestProfile, tags=["profiles"])
def extract(body: ExtractRequest, engine: Engine) -> InterestProfile:
    """Read a text into a grounded profile; nothing is stored."""
    return engine.extract(body.text)


@v1.get("/users/{user_id}/profile", response_model=InterestProfile, tags=["profiles"])
def get_profile(user_id: UserPath, engine: Engine) -> InterestProfile:
    """The user's stored profile."""
    return engine.store.get_profile(user_id)


@v1.patch("/users/{user_id}/profile", response_model=InterestProfile, tags=["profiles"])
def patch_profile(user_id: UserPath, body: ProfilePatch, engine: Engine) -> InterestProfile:
    """Apply edits (remove an entry, add a liked item, set years, ...); one undoable revision."""
    engine.store.patch_profile(user_id, body.ops)
    return engine.store.get_profile(user_id)


@v1.delete("/users/{user_id}/profile", status_code=204, tags=["profiles"])
def delete_profile(user_id: UserPath, engine: Engine) -> Response:
    """Forget the user: profile, history, feedback and sessions."""
    engine.store.delete_profile(user_id)
    return Response(status_code=204)


@v1.post("/feedback", response_model=InterestProfile, tags=["profiles"])
def feedback(body: FeedbackRequest, catalogs: AllCatalogs) -> InterestProfile:
    """Record like / dislike / seen / not_interested on an item of `domain`; returns the updated profile."""
    return catalogs.feedback(body.user_id, body.item_id, body.kind, domain=body.domain, session_id=body.session_id)


@v1.post("/chat", response_model=ChatReply, tags=["chat"])
def chat(body: ChatRequest, catalogs: AllCatalogs) -> ChatReply:
    """One chat turn: the reply, items (each with its `domain`), and the profile changes the turn made."""
    return DomainChat(catalogs).chat(body.user_id, body.message, session_id=body.session_id, k=body.k,
                                     domain=body.domain)


@v1.put("/items/{item_id}", response_model=Item, tags=["catalog"])
def put_item(item_id: ItemPath, body: ItemBody, catalogs: AllCatalogs, domain: DomainQuery = None) -> Item:
    """Add or replace an item of `domain` (default the first catalog); searchable and rankable on return."""
    return catalogs.upsert_item(Item(item_id=item_id, **body.model_dump()), domain)


@v1.delete("/items/{item_id}", status_code=204, tags=["catalog"])
def delete_item(item_id: ItemPath, catalogs: AllCatalogs, domain: DomainQuery = None) -> Response:
    """Remove an item of `domain` (default the first catalog); it is never recommended again."""
    catalogs.delete_item(item_id, domain)
    return Response(status_code=204)


@probes.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health()


@probes.get("/readyz", response_model=Readiness)
def readyz(request: Request, engine: Engine) -> Readiness:
    """The engine is loaded and its backends answer: the profile store and the vector index are
    each read once (a failure answers 503 with the backend's message)."""
    ready = engine.ready()
    settings = request.app.state.settings
    from recassist.ui.status import serving_summary

    return Readiness(status="ready", catalog=ready.catalog, items=ready.items, indexed_items=ready.indexed_items,
                     catalog_version=ready.catalog_version, catalog_swap=ready.catalog_swap,
                     llm_backend=settings.resolved_llm_backend, **serving_summary(engine, settings))

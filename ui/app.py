"""`create_app`: the HTTP API and the Gradio chat UI on one FastAPI application.

    app = create_app(Assistant.open(settings), settings)      # then: uvicorn.run(app, host="127.0.0.1")

Routes: /v1/* (API, Bearer keys when configured), /docs (OpenAPI), /healthz, /readyz, /ui (chat UI).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from recassist.assistant.conversation import Assistant
from recassist.assistant.domains.catalogs import Catalogs
from recassist.foundation.settings import Settings
from recassist.ui.api.errors import install_error_handlers
from recassist.ui.api.limits import BodyLimitMiddleware
from recassist.ui.api.redis_limiter import rate_limiter_for
from recassist.ui.api.routes import probes, v1
from recassist.ui.api.security import ApiKeys

UI_PATH = "/ui"
# Gradio's own routes carry the whole chat history on every event, so they get more room than /v1.
UI_MIN_BODY_BYTES = 2 * 1024 * 1024

DESCRIPTION = """\
Recommendations from a real catalog, each with a reason built from evidence. The same engine and the
same stored profiles as the chat UI at `/ui`. Errors: `{"error": {"status", "code", "message", "details"}}`.
When the server has API keys (`RECASSIST_API_KEYS`), send `Authorization: Bearer <key>`.
"""


def create_app(assistant: Assistant, settings: Settings, *, ui: bool = True, defer_ui: bool = False,
               on_ui_ready: Callable[[], None] | None = None) -> FastAPI:
    """Build the app around an opened `Assistant`.

    `ui=False` leaves out the Gradio UI (an API-only worker). `defer_ui`: the server starts without it and
    mounts it from a background thread (`ui.deferred_ui`), calling `on_ui_ready()` then. Security settings
    come from `settings`: `api_keys`, `api_max_body_bytes`, `api_rate_limit_per_minute`, `api_cors_origins`.
    """
    app = FastAPI(title="recassist", version="0.1.0", description=DESCRIPTION, docs_url="/docs", redoc_url=None)
    app.state.assistant = assistant
    app.state.settings = settings
    app.state.catalogs = Catalogs(assistant, settings)  # cheap: each extra catalog loads on first use
    app.state.api_keys = ApiKeys(settings.api_keys)
    app.state.rate_limiter = rate_limiter_for(settings)  # shared by all workers when Redis is configured

    install_error_handlers(app)
    app.include_router(v1)
    app.include_router(probes)

    api_limit = settings.api_max_body_bytes
    ui_limit = max(api_limit, UI_MIN_BODY_BYTES)
    app.add_middleware(BodyLimitMiddleware, limit_for=lambda path: api_limit if path.startswith("/v1") else ui_limit)
    if settings.api_cors_origins:
        # Off unless origins are listed: a browser page elsewhere must not drive this API by default.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )

    if ui and defer_ui:
        from recassist.ui.deferred_ui import defer_ui as mount_later

        mount_later(app, UI_PATH, lambda: _mount_ui(app, assistant, settings), on_ui_ready)
    elif ui:
        _mount_ui(app, assistant, settings)
    return app


def _mount_ui(app: FastAPI, assistant: Assistant, settings: Settings) -> None:
    import gradio as gr
    from recassist.ui.web.blocks import build_blocks
    from recassist.ui.web.theme import CSS

    @app.get("/", include_in_schema=False)
    async def _root() -> RedirectResponse:
        return RedirectResponse(UI_PATH + "/")

    auth = _ui_login(ApiKeys(settings.api_keys)) if settings.api_keys else None
    gr.mount_gradio_app(
        app,
        build_blocks(assistant, app.state.catalogs),
        path=UI_PATH,
        auth=auth,
        auth_message="Log in with any user name and an API key from RECASSIST_API_KEYS as the password.",
        footer_links=["api"],
        css=CSS,
    )


def _ui_login(keys: ApiKeys):
    """With API keys configured, the UI (and gradio_client) log in with a key as the password."""

    def check(username: str, password: str) -> bool:
        return keys.identify(password) is not None

    return check

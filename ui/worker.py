"""One API worker: the opened `Assistant`, its app, and (with Redis) its catalog follower.

`recassist serve` builds one in-process; `recassist serve --workers N` has uvicorn start N
processes that each call `create_worker_app` (the options travel in an environment variable,
since a spawned worker re-reads its configuration from the environment like any process).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable

from fastapi import FastAPI
from recassist.foundation.errors import ConfigError
from recassist.foundation.settings import Settings

OPTIONS_ENV = "RECASSIST_WORKER_OPTIONS"


def open_app(settings: Settings, *, use_llm: bool, ui: bool, defer_ui: bool = False,
             on_ui_ready: Callable[[], None] | None = None) -> FastAPI:
    """Open the engine and build the app; with `settings.redis_url`, follow other workers' catalog updates.
    `defer_ui`, `on_ui_ready`: see `create_app`."""
    from recassist.assistant.conversation import Assistant
    from recassist.ui.app import create_app

    start_version = None
    if settings.redis_url:
        from recassist.foundation.catalog.updates_redis import log_version

        start_version = log_version(settings.redis_url)  # before opening: nothing appended meanwhile is missed
    assistant = Assistant.open(settings, use_llm=use_llm)
    assistant.catalog_version = start_version or 0  # it replayed the log at least that far
    if assistant.served_ranker.get("kind") == "quick":
        _adopt_the_full_ranker_when_ready(settings, assistant)
    _adopt_each_new_conversation_layer(settings, assistant)
    app = create_app(assistant, settings, ui=ui, defer_ui=defer_ui, on_ui_ready=on_ui_ready)
    if settings.redis_url:
        from recassist.assistant.catalog_sync import CatalogFollower

        app.state.catalog_follower = CatalogFollower(assistant, settings.redis_url, start_version=start_version,
                                                     catalogs=app.state.catalogs).start()
    _freeze_startup_objects()
    return app


def _adopt_the_full_ranker_when_ready(settings: Settings, assistant) -> None:
    """Serving the quick ranker while the full one trains (`recassist demo`): swap it in once it is complete
    and at least as good on validation (each worker on its own; the file is written atomically)."""
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.ranking.serving import FullRankerWatcher

    # The ranker trains on the catalog folder (items added through the API since score by text).
    base = load_catalog_cached(str(settings.catalog_dir))
    FullRankerWatcher(settings, base, assistant.served_ranker.get("valid_ndcg"), assistant.swap_ranker,
                      assistant.engine.candidates.queries.encode).start()


def _adopt_each_new_conversation_layer(settings: Settings, assistant) -> None:
    """Chatting with the hand-set blend (or a first layer) while the conversation layer trains: swap each new
    one in once its files are complete and current (each worker on its own)."""
    from recassist.assistant.dialogue.adoption import ConversationLayerWatcher
    from recassist.foundation.catalog import load_catalog_cached

    version = load_catalog_cached(str(settings.catalog_dir)).version
    ConversationLayerWatcher(settings.models_dir, version, assistant.swap_conversation).start()


def worker_options(*, use_llm: bool, ui: bool) -> str:
    return json.dumps({"use_llm": use_llm, "ui": ui})


def create_worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process of `recassist serve --workers N`."""
    raw = os.environ.get(OPTIONS_ENV)
    if raw is None:
        raise ConfigError(f"{OPTIONS_ENV} is not set: start workers with `recassist serve --workers N`")
    options = json.loads(raw)
    return open_app(Settings(), use_llm=bool(options["use_llm"]), ui=bool(options["ui"]))


def check_scale_out(settings: Settings, workers: int) -> None:
    """Several workers need shared servers: `ConfigError` naming each setting still missing."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        return
    missing = []
    if settings.resolved_store_backend == "sqlite":
        missing.append("RECASSIST_DATABASE_URL=postgresql://user:password@host:5432/db (profiles, sessions, "
                       "feedback; now an SQLite file of one process)")
    if not settings.redis_url:
        missing.append("RECASSIST_REDIS_URL=redis://host:6379/0 (rate limits and catalog updates shared by workers)")
    if not settings.chroma_url:
        missing.append("RECASSIST_CHROMA_URL=http://host:8000 (a Chroma server from `chroma run`; the embedded "
                       "index allows one writer process)")
    if missing:
        raise ConfigError(f"--workers {workers} needs shared servers instead of the embedded stores; set:\n  "
                          + "\n  ".join(missing) + "\n(see docs/deployment.md), or run one worker.")


def _freeze_startup_objects() -> None:
    """Exempt everything loaded so far (catalog, interactions, models: ~670k objects) from garbage
    collection. They live as long as the process, yet every full collection walked them all: a
    ~300-350 ms pause here, holding the GIL, that stalled every request in flight."""
    gc.collect()
    gc.freeze()

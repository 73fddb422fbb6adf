"""Where users' profiles (with undoable history), feedback and chat sessions live.

Three seams (`base.py`): `ProfileStore` (profiles, history, undo), `FeedbackLog` (feedback
events folded into the profile) and `SessionStore` (sessions, turns). A backend opens all
three over one database as a `Stores` object: SQLite in the data dir by default, PostgreSQL
when `RECASSIST_DATABASE_URL` is set (several API workers share it). The chat UI, the HTTP
API and the `Assistant` all go through the one `open_store(settings)` returns::

    store = open_store(settings, catalog)
    store.merge_profile(uid, extracted, "turn 3: extracted")        # newer beats older, atomically
    store.record_feedback(uid, "2571", "like", session_id=sid)      # logged + folded into the profile
    store.patch_profile(uid, [{"op": "remove_aspect", "list": "liked_aspects", "aspect": "Horror"}])
    store.undo(uid)                                                 # back one change; see store.history(uid)
    sid = store.start_session(uid); store.append_turn(sid, "assistant", text, items=shown)
    store.last_shown_items(sid)[1]                                  # "the second one"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recassist.assistant.store.base import FeedbackLog, ProfileStore, SessionStore, Stores
from recassist.assistant.store.edits import (
    AddAspect,
    AddItem,
    ClearConstraint,
    PatchOp,
    RemoveAspect,
    RemoveAuthor,
    RemoveItem,
    RemoveTheme,
    SetYears,
)
from recassist.assistant.store.models import (
    FEEDBACK_KINDS,
    FeedbackKind,
    FeedbackRecord,
    Revision,
    SessionRecord,
    ShownItem,
    Turn,
    UndoResult,
)
from recassist.assistant.store.sqlite import SQLiteStores
from recassist.foundation.errors import ConfigError

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings



def _postgres() -> type[Stores]:
    # Imported only when chosen: psycopg is an optional dependency (the `postgres` extra).
    from recassist.assistant.store.postgres import PostgresStores

    return PostgresStores


# Backends by name, each a loader so an optional driver is imported only when its backend is chosen.
STORES: dict[str, Callable[[], type[Stores]]] = {"sqlite": lambda: SQLiteStores, "postgres": _postgres}

__all__ = [
    "FEEDBACK_KINDS",
    "STORES",
    "AddAspect",
    "AddItem",
    "ClearConstraint",
    "FeedbackKind",
    "FeedbackLog",
    "FeedbackRecord",
    "PatchOp",
    "ProfileStore",
    "RemoveAspect",
    "RemoveAuthor",
    "RemoveItem",
    "RemoveTheme",
    "Revision",
    "SQLiteStores",
    "SessionRecord",
    "SessionStore",
    "SetYears",
    "ShownItem",
    "Stores",
    "Turn",
    "UndoResult",
    "open_store",
]


def open_store(
    settings: Settings, catalog: Catalog | None = None, *, backend: str | None = None
) -> Stores:
    """Open the stores the settings name: `settings.resolved_store_backend` ("postgres" when
    `RECASSIST_DATABASE_URL` is set, else SQLite at `settings.sqlite_path`), or `backend`.

    `catalog` is used to check item ids in feedback and edits. Raises `ConfigError` for an
    unknown backend name and `StoreError` when the store cannot be opened.
    """
    name = backend or getattr(settings, "resolved_store_backend", None) or "sqlite"
    try:
        loader = STORES[name]
    except KeyError:
        raise ConfigError(
            f"unknown profile store backend {name!r}; choose one of {', '.join(STORES)}"
        ) from None
    return loader().from_settings(settings, catalog)

"""Where users' profiles (with undoable history), feedback and chat sessions live.

The chat UI, the HTTP API and the `Assistant` all go through one `ProfileStore`
opened with `open_store(settings)`, so they share profiles and apply edits and
feedback the same way::

    store = open_store(settings, catalog)
    store.merge_profile(uid, extracted, "turn 3: extracted")        # newer beats older, atomically
    store.record_feedback(uid, "2571", "like", session_id=sid)      # logged + folded into the profile
    store.patch_profile(uid, [{"op": "remove_aspect", "list": "liked_aspects", "aspect": "Horror"}])
    store.undo(uid)                                                 # back one change; see store.history(uid)
    sid = store.start_session(uid); store.append_turn(sid, "assistant", text, items=shown)
    store.last_shown_items(sid)[1]                                  # "the second one"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recassist.assistant.store.base import ProfileStore
from recassist.assistant.store.edits import (
    AddAspect,
    AddItem,
    ClearConstraint,
    PatchOp,
    RemoveAspect,
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
from recassist.assistant.store.sqlite import SQLiteProfileStore
from recassist.foundation.errors import ConfigError

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings

# Backends by name. A server database (DESIGN "Components") registers here next to SQLite.
STORES: dict[str, type[ProfileStore]] = {"sqlite": SQLiteProfileStore}

__all__ = [
    "FEEDBACK_KINDS",
    "STORES",
    "AddAspect",
    "AddItem",
    "ClearConstraint",
    "FeedbackKind",
    "FeedbackRecord",
    "PatchOp",
    "ProfileStore",
    "RemoveAspect",
    "RemoveItem",
    "RemoveTheme",
    "Revision",
    "SQLiteProfileStore",
    "SessionRecord",
    "SetYears",
    "ShownItem",
    "Turn",
    "UndoResult",
    "open_store",
]


def open_store(
    settings: Settings, catalog: Catalog | None = None, *, backend: str | None = None
) -> ProfileStore:
    """Open the profile store the settings name (default: SQLite at `settings.sqlite_path`).

    `catalog` is used to check item ids in feedback and edits. The backend name
    comes from `backend`, else `settings.store_backend` when that setting exists,
    else "sqlite". Raises `ConfigError` for an unknown backend name and
    `StoreError` when the store cannot be opened.
    """
    name = backend or getattr(settings, "store_backend", None) or "sqlite"
    try:
        cls = STORES[name]
    except KeyError:
        raise ConfigError(
            f"unknown profile store backend {name!r}; choose one of {', '.join(STORES)}"
        ) from None
    return cls.from_settings(settings, catalog)

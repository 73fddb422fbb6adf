"""What the conversation remembers about one session between turns, kept in the session store.

Kept in the store, not in process memory, so any worker can serve any turn and nothing grows
without bound in a long-running server.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from recassist.assistant.store import SessionStore


class SessionState(BaseModel):
    model_config = ConfigDict(extra="ignore")  # keys another release wrote are left alone, not fatal

    asked: list[str] = Field(default_factory=list, description="Onboarding question kinds asked so far.")
    last_discussed: str | None = Field(default=None, description="Item id the user last asked about.")
    domains: list[str] = Field(default_factory=list, description="Catalogs the last list came from; a turn "
                               "that names none follows them.")
    _stored: dict = PrivateAttr(default_factory=dict)  # as loaded: `save` writes only a change

    @classmethod
    def load(cls, store: SessionStore, session_id: str | None) -> SessionState:
        """The session's state; a fresh one for no session. `NotFoundError` for an unknown session."""
        if not session_id:
            return cls()
        raw = store.get_session_state(session_id)
        try:
            state = cls.model_validate(raw)
        except ValidationError:
            # Bookkeeping only: a state this release cannot read costs at most a repeated question.
            state = cls()
        state._stored = state.model_dump(mode="json")
        return state

    def save(self, store: SessionStore, session_id: str | None) -> None:
        """Store the state if it changed since `load` (no session: nothing to keep)."""
        now = self.model_dump(mode="json")
        if session_id and now != self._stored:
            store.set_session_state(session_id, now)
            self._stored = now

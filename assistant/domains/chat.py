"""Chat across catalogs: which ones a turn answers from, and the other catalogs' share of the list.

The catalogs a turn answers from, first rule that applies:
1. the `domain` the caller chose (the UI's choice, `POST /v1/chat`'s `domain`);
2. the words: "a book like The Martian", "something to read after watching Arrival" -> books
   (`detect.detect_domain`);
3. the titles and authors named: of one catalog only ("something like Stephen King": books) -> that
   catalog; of several ("I loved Dune and Arrival": a novel and two films) -> all of them;
4. nothing domain-specific ("something funny", "older"): the catalogs of the session's last list,
   else all of them.
A turn answering from several catalogs lists `k - k // 2` items of the first and splits the other
half among the rest (at least one each); every item carries its domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recassist.assistant.conversation.models import ChatEvent, ChatReply, RecommendedItem
from recassist.assistant.domains.detect import detect_domain
from recassist.assistant.domains.grounding import GroundedTitles, with_grounded
from recassist.foundation.profile import InterestProfile

if TYPE_CHECKING:
    from recassist.assistant.domains.catalogs import Catalogs


def choose_domains(chosen: str | None, text: str, named: set[str], remembered: list[str],
                   configured: list[str]) -> list[str]:
    """The catalogs a turn answers from, in configured order (rules in the module docstring)."""
    if chosen is not None:
        return [chosen]
    by_words = detect_domain(text, configured) if text else None
    if by_words:
        return [by_words]
    if named:
        return [d for d in configured if d in named]
    kept = [d for d in configured if d in remembered]
    return kept or list(configured)


def split_k(k: int, domains: list[str], first: str) -> dict[str, int]:
    """How many items each catalog adds to a list of about `k`."""
    if len(domains) == 1:
        return {domains[0]: k}
    others = [d for d in domains if d != first]
    out = {first: k - k // 2} if first in domains else {}
    for d in others:
        out[d] = max(1, (k - out.get(first, 0)) // len(others))
    return out


@dataclass
class TurnPlan:
    """One turn's `DomainPlan` (see `assistant.conversation.turn`)."""

    catalogs: Catalogs
    domains: list[str]
    counts: dict[str, int]
    grounded: GroundedTitles

    @property
    def first(self) -> int:
        return self.counts.get(self.catalogs.first, 0)

    def read(self, delta: InterestProfile) -> InterestProfile:
        """The first catalog's reading with the other catalogs' titles and authors (`grounding.with_grounded`)."""
        return with_grounded(delta, self.grounded)

    def items(self, profile: InterestProfile, text: str) -> list[RecommendedItem]:
        out: list[RecommendedItem] = []
        for domain, n in self.counts.items():
            if domain != self.catalogs.first and n:
                out += self.catalogs.other_items(domain, profile, text, k=n)
        return out


class DomainChat:
    """`Assistant.chat` / `chat_stream` with the catalogs chosen per turn."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs

    def plan_for(self, domain: str | None, k: int):
        """The `PlanFor` callback the assistant calls once it has read the turn. Raises `UnknownDomainError`
        at once for an unknown `domain`."""
        chosen = self.catalogs.resolve(domain) if domain is not None else None
        if len(self.catalogs.domains()) == 1:
            return None  # one catalog: the assistant's own turn, unchanged

        def plan(text: str, delta: InterestProfile, remembered: list[str], turn: int) -> TurnPlan:
            grounded = self.catalogs.ground(text, delta, turn=turn)
            domains = choose_domains(chosen, text, grounded.domains, remembered, self.catalogs.domains())
            return TurnPlan(self.catalogs, domains, split_k(k, domains, self.catalogs.first), grounded)

        return plan

    def chat(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
             domain: str | None = None, explain: bool = False) -> ChatReply:
        return self.catalogs.assistant.chat(user_id, message, session_id=session_id, k=k, explain=explain,
                                            plan=self.plan_for(domain, k))

    def chat_stream(self, user_id: str, message: str, *, session_id: str | None = None, k: int = 5,
                    domain: str | None = None, explain: bool = True) -> Iterator[ChatEvent]:
        yield from self.catalogs.assistant.chat_stream(user_id, message, session_id=session_id, k=k,
                                                       explain=explain, plan=self.plan_for(domain, k))

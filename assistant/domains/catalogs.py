"""Every configured catalog by domain: the first one is the assistant's own, the others are served here.

`Catalogs` answers which domains exist (`domains`, `resolve`), what each holds (`describe`, for
`GET /v1/catalogs`), recommendations and feedback in a domain other than the first (`recommend`,
`feedback`), titles of every catalog in the user's words (`ground`), and item updates in any catalog
(`upsert_item`, `delete_item`; with Redis, other workers' changes are followed through `follow_catalog`),
with the user's taste carried over from the catalogs they have told us about. Extra catalogs load on
first use (a goodbooks subset: seconds; its EASE is fitted once and saved; its text index written from
the shipped vectors), so a server never asked about books never reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from recassist.assistant.conversation.carried import avoided_aspects
from recassist.assistant.conversation.models import ChatReply, RecommendedItem
from recassist.assistant.domains.detect import detect_domain
from recassist.assistant.domains.grounding import GroundedTitles, TitleGrounding, with_grounded
from recassist.assistant.domains.other import OtherCatalog
from recassist.foundation.catalog import Catalog, Item, catalog_domain
from recassist.foundation.catalog.updates import record_delete, record_upsert, updates_since, write_lock
from recassist.foundation.errors import InputError, UnknownDomainError, UnknownItemError
from recassist.foundation.profile import Constraints, InterestProfile, ItemPreference, Source
from recassist.ranking.serving import default_checkpoint


class CatalogInfo(BaseModel):
    """One served catalog, as `GET /v1/catalogs` lists it."""

    domain: str
    name: str
    items: int
    interactions: int
    default: bool = Field(description="The catalog requests without a domain use.")
    models: list[str] = Field(default_factory=list, description="Trained models present for it.")


class Catalogs:
    """The first catalog (the `assistant`'s) and the extra ones from `settings.extra_catalog_dirs`."""

    def __init__(self, assistant: Any, settings: Any) -> None:
        self.assistant = assistant
        self.settings = settings
        self.first = assistant.catalog.domain
        self._dirs: dict[str, Path] = {}
        for folder in settings.extra_catalog_dirs:
            domain = catalog_domain(folder)
            if domain == self.first or domain in self._dirs:
                raise InputError(f"two catalogs serve the domain '{domain}' ({folder}); give each domain one folder")
            self._dirs[domain] = Path(folder)
        self._open: dict[str, OtherCatalog] = {}
        self._versions: dict[str, int] = {}  # with Redis: the shared-log version each opened catalog includes
        self._lock = threading.Lock()
        self._grounding: TitleGrounding | None = None
        # The first catalog's ranking reads liked items of these (`conversation.carried`).
        assistant.engine.other_catalog = self.catalog_of

    def domains(self) -> list[str]:
        return [self.first, *self._dirs]

    def resolve(self, domain: str | None, text: str | None = None) -> str:
        """The domain a request is for: the one it names, else the one its words name, else the first.
        Raises `UnknownDomainError` naming the configured domains."""
        if domain is None:
            return (detect_domain(text, self.domains()) if text else None) or self.first
        if domain not in self.domains():
            raise UnknownDomainError(f"unknown domain '{domain}'; configured: {', '.join(self.domains())}")
        return domain

    def catalog_of(self, domain: str) -> Catalog | None:
        """The extra catalog serving `domain` (loaded on first use); None when none does."""
        return self.other(domain).catalog if domain in self._dirs else None

    def other(self, domain: str) -> OtherCatalog:
        """The extra catalog serving `domain`, loaded (and its ranker trained, once) on first use."""
        if domain not in self._dirs:
            raise UnknownDomainError(f"unknown domain '{domain}'; configured: {', '.join(self.domains())}")
        with self._lock:
            return self._opened(domain)

    def ground(self, text: str, first_delta: InterestProfile, *, turn: int = 0) -> GroundedTitles:
        """Titles of `text` in every catalog (`grounding.TitleGrounding`); loads the other catalogs."""
        if self._grounding is None:
            self._grounding = TitleGrounding(self.first, {d: self.other(d).catalog for d in self._dirs})
        return self._grounding.ground(text, first_delta, turn=turn)

    def other_items(self, domain: str, profile: InterestProfile, text: str | None, *, k: int
                    ) -> list[RecommendedItem]:
        """`k` items of the extra catalog `domain` for `profile` (liked items of every other catalog carried
        over) and the request's `text`."""
        liked_anywhere = [it for _, it in self._items(profile.liked_items)]
        disliked = [it for d, it in self._items(profile.disliked_items) if d != domain]
        return self.other(domain).recommend(profile, self._sources(profile, domain), k=k, text=text,
                                            avoided=avoided_aspects(profile, disliked, liked_anywhere))

    def describe(self) -> list[CatalogInfo]:
        first = self.assistant.catalog
        out = [CatalogInfo(domain=self.first, name=first.name, items=len(first),
                           interactions=len(first.interactions), default=True,
                           models=["sasrec"] if default_checkpoint(self.settings).is_file() else [])]
        for domain, folder in self._dirs.items():
            other = self.other(domain)
            cat = other.catalog
            models = ["ease"] if other.ranker is not None else []  # fitted on first use, saved beside the others
            out.append(CatalogInfo(domain=domain, name=folder.name, items=len(cat), interactions=len(cat.interactions),
                                   default=False, models=models))
        return out

    def upsert_item(self, item: Item, domain: str | None = None) -> Item:
        """Add or replace an item of `domain` (default the first); searchable and rankable on return.
        Another catalog's change is logged in the data dir first (`catalog_updates-<domain>.jsonl`, replayed
        over its folder at every load), then written to its text index."""
        target = self.resolve(domain)
        if target == self.first:
            self.assistant.upsert_item(item)
            return self.assistant.catalog.get(item.item_id)
        with write_lock(self.settings, target), self._lock:
            other = self._caught_up(target)
            version = record_upsert(self.settings, item, target)
            self._replace(target, other.with_catalog(other.text_index.upsert(other.catalog, [item])
                                                     if other.text_index else other.catalog.with_items([item])),
                          version)
        return self.other(target).catalog.get(item.item_id)

    def delete_item(self, item_id: str, domain: str | None = None) -> None:
        """Remove an item of `domain` (default the first); never recommended again. `UnknownItemError` names
        the catalog when the id is not in it."""
        target = self.resolve(domain)
        if target == self.first:
            self.assistant.delete_item(item_id)
            return
        with write_lock(self.settings, target), self._lock:
            other = self._caught_up(target)
            if item_id not in other.catalog:
                raise UnknownItemError(f"item id {item_id!r} is not in catalog '{other.catalog.name}' ({target})")
            version = record_delete(self.settings, item_id, target)
            self._replace(target, other.with_catalog(other.text_index.delete(other.catalog, [item_id])
                                                     if other.text_index else other.catalog.without_items([item_id])),
                          version)

    def extra_domains(self) -> list[str]:
        """The configured catalogs other than the first."""
        return list(self._dirs)

    def log_version(self, domain: str) -> int | None:
        """The shared-log version the opened catalog `domain` includes; None while it is not loaded (a load
        replays the whole log)."""
        with self._lock:
            return self._versions.get(domain, 0) if domain in self._open else None

    def follow_catalog(self, domain: str, change, version: int) -> bool:
        """Swap in `change(catalog)` for `domain`: updates another worker made, already in the shared text
        index, up to log `version` (see `assistant.catalog_sync`). Returns whether the catalog changed;
        False, changing nothing, while the catalog is not loaded."""
        with self._lock:
            other = self._open.get(domain)
            if other is None:
                return False
            catalog = change(other.catalog)
            if catalog is other.catalog:
                self._versions[domain] = max(self._versions.get(domain, 0), version)
                return False
            self._replace(domain, other.with_catalog(catalog), version)
            return True

    def _opened(self, domain: str) -> OtherCatalog:
        """`other(domain)` for a caller already holding the lock."""
        if domain not in self._open:
            # The version first: an update appended while the catalog loads is applied again by the
            # follower, which changes nothing; read after, it could be missed.
            version = self._shared_version(domain)
            self._open[domain] = OtherCatalog.open(self._dirs[domain], self.settings,
                                                   self.assistant.parts.candidates.queries)
            self._versions[domain] = version
        return self._open[domain]

    def _shared_version(self, domain: str) -> int:
        if not self.settings.redis_url:
            return 0
        from recassist.foundation.catalog.updates_redis import log_version

        return log_version(self.settings.redis_url, domain)

    def _caught_up(self, domain: str) -> OtherCatalog:
        """The opened catalog with every update other workers logged so far (under the write lock: the text
        index then describes exactly it, and this write extends it)."""
        other = self._opened(domain)
        catalog, version = updates_since(other.catalog, self.settings, self._versions.get(domain, 0), domain)
        if catalog is not other.catalog:
            self._replace(domain, other.with_catalog(catalog), version)
        return self._open[domain]

    def _replace(self, domain: str, other: OtherCatalog, version: int | None = None) -> None:
        self._open[domain] = other
        if version is not None:
            self._versions[domain] = max(self._versions.get(domain, 0), version)
        self._grounding = None  # titles changed: rebuilt at the next turn

    def item(self, domain: str, item_id: str) -> Item:
        """An item of `domain`; `UnknownItemError` names the catalog when the id is not in it."""
        catalog = self.assistant.catalog if domain == self.first else self.other(domain).catalog
        return catalog.get(item_id)

    def recommend(self, user_id: str | None, text: str | None, *, k: int = 10, domain: str | None = None,
                  filters: dict | None = None, explain: bool = True) -> ChatReply:
        """Like `Assistant.recommend`, in the domain asked for (or read from the text). The first catalog's
        requests go to the assistant unchanged; another domain is answered from its own catalog and ranker
        with the taste of every other catalog carried over (shared aspects)."""
        target = self.resolve(domain, text)
        # Titles and authors of every catalog in the words ("I loved Gone Girl": the book), each kept with its
        # domain, whichever catalog answers.
        read = (lambda delta: with_grounded(delta, self.ground(text, delta))) if text and self._dirs else None
        if target == self.first:
            return self.assistant.recommend(user_id, text, k=k, filters=filters, explain=explain, read=read)
        if filters:
            raise InputError(f"filters apply to the '{self.first}' catalog only; leave them out for '{target}'")
        # The assistant reads the text and merges it into the stored profile, as for its own catalog; asking
        # it for one item keeps that cheap, and its items are not what this request answers with.
        reply = self.assistant.recommend(user_id, text, k=1, explain=False, read=read) if (user_id or text) else None
        profile = reply.profile if reply is not None else InterestProfile()
        items = self.other_items(target, profile, text, k=k)
        return ChatReply(session_id="", user_id=user_id or "", intent="recommend",
                         text="" if items else "Nothing in this catalog matches yet.", items=items,
                         profile=profile, profile_changes=reply.profile_changes if reply else [],
                         notes=reply.notes if reply else [])

    def feedback(self, user_id: str, item_id: str, kind: str, *, domain: str | None = None,
                 session_id: str | None = None) -> InterestProfile:
        """Like `Assistant.feedback`, for an item of `domain` (default the first catalog). Entries of another
        catalog carry its domain, so book 1 and film 1 never meet. `UnknownItemError` names the catalog."""
        target = self.resolve(domain)
        if target == self.first:
            return self.assistant.feedback(user_id, item_id, kind, session_id=session_id)
        item = self.item(target, item_id)
        entry = ItemPreference(item_id=item.item_id, title=item.label, domain=target,
                               source=Source(text=f"feedback: {kind}"), origin="feedback")
        delta = {"like": InterestProfile(liked_items=[entry]), "dislike": InterestProfile(disliked_items=[entry]),
                 "seen": InterestProfile(constraints=Constraints(seen_items=[entry])),
                 "not_interested": InterestProfile(constraints=Constraints(excluded_items=[entry]))}[kind]
        self.assistant.store.merge_profile(user_id, delta, f"feedback: {kind} {target} {item.item_id}")
        return self.assistant.store.get_profile(user_id)

    def _sources(self, profile: InterestProfile, target: str) -> list[tuple[str, Item]]:
        """Liked items of every catalog but `target`, as (domain, item)."""
        return [(d, it) for d, it in self._items(profile.liked_items) if d != target]

    def _items(self, entries: Sequence[ItemPreference]) -> list[tuple[str, Item]]:
        """The profile `entries` as (domain, item), in their order."""
        out = []
        for p in entries:
            domain = p.domain or self.first
            try:
                out.append((domain, self.item(domain, p.item_id)))
            except InputError:
                continue  # an item removed from its catalog since it was named
        return out

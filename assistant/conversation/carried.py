"""Liked items of other catalogs, for this one: "I loved the book The Hunger Games. Which films should I
watch?" ranks films through the shared aspects the liked books carry, the way a named author does
(`authors.with_author_aspects` adds them; the evidence links each film to the books it shares them with).

Carried only while the profile holds fewer liked items of this catalog than of the others: a user's own
liked films say more about their taste in films than their books do, so once the films are as many they
rank alone here (the books still shape the books' list).

Dislikes cross too (`avoided_aspects`): "I hated the book Twilight" pushes away the films carrying what the
disliked books, and the authors the user dislikes, stand for, except what anything the user likes carries
(liking Harry Potter keeps fantasy, so only romance is avoided).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recassist.assistant.conversation.models import CrossDomainLink
from recassist.assistant.extraction.authors import common_aspects
from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.profile import InterestProfile, ItemPreference
from recassist.foundation.vocabulary import item_aspects, to_shared

#: domain -> that catalog (None when the domain is not served): set by `assistant.domains.catalogs.Catalogs`.
OtherCatalog = Callable[[str], Catalog | None]
MAX_LINKS = 2  # liked items named in one reason


@dataclass(frozen=True)
class LikedElsewhere:
    """An item of another catalog the user liked (or, in `disliked_elsewhere`, disliked)."""

    domain: str
    item: Item


def liked_elsewhere(profile: InterestProfile, other: OtherCatalog | None) -> list[LikedElsewhere]:
    """The profile's liked items of other catalogs, the most recent first, when they outnumber its liked
    items of this catalog; else none. Items no longer in their catalog are left out."""
    entries = [p for p in profile.liked_items if p.domain is not None]
    if len(entries) <= len(profile.liked_ids()):
        return []
    return _resolved(entries, other)


def disliked_elsewhere(profile: InterestProfile, other: OtherCatalog | None) -> list[LikedElsewhere]:
    """The profile's disliked items of other catalogs, the most recent first (however many films it dislikes:
    a dislike says what to avoid whatever else is known)."""
    return _resolved([p for p in profile.disliked_items if p.domain is not None], other)


def avoided_aspects(profile: InterestProfile, disliked: Sequence[Item], liked: Sequence[Item]) -> list[str]:
    """The shared aspects the profile's dislikes elsewhere stand for (those most of the `disliked` items of
    other catalogs carry, and each disliked author's), without any that something it likes carries: one of
    the `liked` items (of every catalog), a liked author or a liked aspect. Most disliked first."""
    by_authors = [a for x in profile.disliked_authors for a in x.aspects]
    avoided = list(dict.fromkeys([*common_aspects(disliked), *by_authors]))
    if not avoided:
        return []
    kept = {a for it in liked for a in item_aspects(it)}
    kept |= {a for x in profile.liked_authors for a in x.aspects}
    kept |= set(to_shared(a.aspect for a in profile.liked_aspects))
    return [a for a in avoided if a not in kept]


def avoided_here(profile: InterestProfile, catalog: Catalog, other: OtherCatalog | None) -> list[str]:
    """`avoided_aspects` for ranking `catalog`, the first one, with `other` giving the others."""
    liked = [catalog.items[i] for i in profile.liked_ids() if i in catalog.items]
    liked += [x.item for x in _resolved([p for p in profile.liked_items if p.domain is not None], other)]
    return avoided_aspects(profile, [x.item for x in disliked_elsewhere(profile, other)], liked)


def _resolved(entries: Sequence[ItemPreference], other: OtherCatalog | None) -> list[LikedElsewhere]:
    """`entries` of other catalogs as their items, the most recent first; items no longer in their catalog (or
    of a catalog not served) are left out."""
    if other is None:
        return []
    out = []
    for p in reversed(entries):
        catalog = other(p.domain)
        if catalog is not None and p.item_id in catalog.items:
            out.append(LikedElsewhere(p.domain, catalog.items[p.item_id]))
    return out


def carried_aspects(liked: Sequence[LikedElsewhere]) -> list[str]:
    """The shared aspects the liked items stand for (those most of them carry, as for an author's items)."""
    return common_aspects([x.item for x in liked])


def liked_links(liked: Sequence[LikedElsewhere], item: Item) -> list[CrossDomainLink]:
    """The liked items of other catalogs `item` shares aspects with (the carried ones first), at most
    `MAX_LINKS`, the most recent first."""
    if not liked:
        return []
    carried = carried_aspects(liked)
    own = set(item_aspects(item))
    out = []
    for x in liked:
        theirs = [a for a in item_aspects(x.item) if a in own]
        shared = [a for a in carried if a in theirs] + [a for a in theirs if a not in carried]
        if shared:
            out.append(CrossDomainLink(item_id=x.item.item_id, title=x.item.title, domain=x.domain,
                                       shared_aspects=shared[:3]))
        if len(out) == MAX_LINKS:
            break
    return out

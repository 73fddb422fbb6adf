"""Authors the user named, for a catalog whose items they did not write: "films for someone who loves
Agatha Christie" ranks films carrying what her books carry (mystery, crime, thriller).

An author entry keeps the shared aspects most of the author's items carry (`AuthorPreference.aspects`);
here they become this catalog's genres carrying the same shared aspects, added to the profile the
engine ranks with as inferred liked aspects whose source is the author's name. The stored profile is
not changed, so removing the author removes them too. The evidence tells them apart from aspects the
user asked for (`derived_from_author`), so a reason says "you named Agatha Christie", never "you asked
for mystery". Liked items of other catalogs (`carried.liked_elsewhere`) count the same way, through the
aspects most of them carry; what disliked ones and disliked authors stand for (`carried.avoided_aspects`)
becomes disliked genres the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from recassist.assistant.conversation.carried import LikedElsewhere, carried_aspects
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import AspectPreference, AuthorPreference, InterestProfile, Source
from recassist.foundation.vocabulary import to_shared


def genres_for(aspects: list[str], catalog: Catalog) -> list[str]:
    """The catalog's genres that carry any of the shared `aspects`, in the aspects' order."""
    out: dict[str, None] = {}
    for aspect in aspects:
        for genre in catalog.genres:
            if aspect in to_shared([genre]):
                out.setdefault(genre, None)
    return list(out)


def with_author_aspects(profile: InterestProfile, catalog: Catalog, liked: Sequence[LikedElsewhere] = (),
                        avoided: Sequence[str] = ()) -> InterestProfile:
    """`profile` plus each liked author's genres in `catalog`, and the genres carrying what the `liked` items
    of other catalogs carry (those not already liked, disliked or excluded), as liked aspects; and the genres
    carrying the `avoided` shared aspects (`carried.avoided_aspects`) as disliked ones, unless liked too."""
    carriers = [(a.aspects, _source(a), a.confidence) for a in profile.liked_authors]
    if liked:
        carriers.append((carried_aspects(liked), _liked_source(liked), 1.0))
    if not carriers and not avoided:
        return profile
    have = {a.aspect.lower() for a in (*profile.liked_aspects, *profile.disliked_aspects,
                                       *profile.constraints.excluded_genres)}
    added: list[AspectPreference] = []
    for aspects, source, confidence in carriers:
        for genre in genres_for(aspects, catalog):
            if genre.lower() not in have:
                have.add(genre.lower())
                added.append(AspectPreference(aspect=genre, kind="genre", source=source, origin="inferred",
                                              confidence=confidence))
    # A genre carrying a liked aspect as well as an avoided one ("Sci-Fi" for science fiction and dystopian)
    # was added above as liked, so it is not avoided.
    avoid = [AspectPreference(aspect=genre, kind="genre", source=_avoided_source(avoided), origin="inferred")
             for genre in genres_for(list(avoided), catalog) if genre.lower() not in have]
    if not added and not avoid:
        return profile
    return profile.model_copy(update={"liked_aspects": [*profile.liked_aspects, *added],
                                      "disliked_aspects": [*profile.disliked_aspects, *avoid]})


def derived_from_author(aspect: AspectPreference, authors: list[AuthorPreference],
                        liked: Sequence[LikedElsewhere] = ()) -> bool:
    """Whether `aspect` is one `with_author_aspects` added (its source is an author's name or the liked items
    of other catalogs)."""
    return aspect.origin == "inferred" and (any(aspect.source == _source(a) for a in authors)
                                            or bool(liked) and aspect.source == _liked_source(liked))


def _source(author: AuthorPreference) -> Source:
    return author.source.model_copy(update={"text": f"author: {author.name}"})


def _avoided_source(avoided: Sequence[str]) -> Source:
    return Source(text="disliked in other catalogs: " + ", ".join(avoided))


def _liked_source(liked: Sequence[LikedElsewhere]) -> Source:
    return Source(text="liked in other catalogs: " + "; ".join(f"{x.domain} {x.item.title}" for x in liked))

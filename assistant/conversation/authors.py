"""Authors the user named, for a catalog whose items they did not write: "films for someone who loves
Agatha Christie" ranks films carrying what her books carry (mystery, crime, thriller).

An author entry keeps the shared aspects most of the author's items carry (`AuthorPreference.aspects`);
here they become this catalog's genres carrying the same shared aspects, added to the profile the
engine ranks with as inferred liked aspects whose source is the author's name. The stored profile is
not changed, so removing the author removes them too. The evidence tells them apart from aspects the
user asked for (`derived_from_author`), so a reason says "you named Agatha Christie", never "you asked
for mystery".
"""

from __future__ import annotations

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


def with_author_aspects(profile: InterestProfile, catalog: Catalog) -> InterestProfile:
    """`profile` plus each liked author's genres in `catalog` (those not already liked, disliked or excluded)."""
    if not profile.liked_authors:
        return profile
    have = {a.aspect.lower() for a in (*profile.liked_aspects, *profile.disliked_aspects,
                                       *profile.constraints.excluded_genres)}
    added: list[AspectPreference] = []
    for author in profile.liked_authors:
        for genre in genres_for(author.aspects, catalog):
            if genre.lower() not in have:
                have.add(genre.lower())
                added.append(AspectPreference(aspect=genre, kind="genre", source=_source(author), origin="inferred",
                                              confidence=author.confidence))
    if not added:
        return profile
    return profile.model_copy(update={"liked_aspects": [*profile.liked_aspects, *added]})


def derived_from_author(aspect: AspectPreference, authors: list[AuthorPreference]) -> bool:
    """Whether `aspect` is one `with_author_aspects` added (its source is an author's name)."""
    return aspect.origin == "inferred" and any(aspect.source == _source(a) for a in authors)


def _source(author: AuthorPreference) -> Source:
    return author.source.model_copy(update={"text": f"author: {author.name}"})

"""Merging `InterestProfile`s across turns (newer beats older, explicit beats inferred)."""

from __future__ import annotations

from assistant.profile import AspectPreference, Constraints, InterestProfile, ItemPreference

_RANK = {"inferred": 0, "explicit": 1, "feedback": 2}


def _wins(new: ItemPreference | AspectPreference, old: ItemPreference | AspectPreference) -> bool:
    """A newer entry replaces an older one unless it is weaker in kind (inferred vs explicit)."""
    return _RANK[new.origin] >= _RANK[old.origin]


def _merge_sides(old_pos, old_neg, new_pos, new_neg, key):
    pos = {key(p): p for p in old_pos}
    neg = {key(p): p for p in old_neg}
    for side, other, entries in ((pos, neg, new_pos), (neg, pos, new_neg)):
        for e in entries:
            k = key(e)
            if k in other and not _wins(e, other[k]):
                continue
            other.pop(k, None)
            if k in side and not _wins(e, side[k]):
                continue
            side[k] = e
    return list(pos.values()), list(neg.values())


def merge_profiles(old: InterestProfile, new: InterestProfile) -> InterestProfile:
    liked, disliked = _merge_sides(
        old.liked_items, old.disliked_items, new.liked_items, new.disliked_items, lambda p: p.item_id
    )
    liked_a, disliked_a = _merge_sides(
        old.liked_aspects, old.disliked_aspects, new.liked_aspects, new.disliked_aspects,
        lambda p: (p.kind, p.aspect.lower()),
    )
    oc, nc = old.constraints, new.constraints
    excluded_genres = {g.aspect: g for g in oc.excluded_genres}
    for g in nc.excluded_genres:
        excluded_genres[g.aspect] = g
    # A genre the user now asks for is no longer excluded.
    for a in new.liked_aspects:
        if a.kind == "genre":
            excluded_genres.pop(a.aspect, None)
    constraints = Constraints(
        years=nc.years or oc.years,
        max_runtime_minutes=nc.max_runtime_minutes or oc.max_runtime_minutes,
        runtime_source=nc.runtime_source or oc.runtime_source,
        excluded_genres=list(excluded_genres.values()),
        excluded_items=list({p.item_id: p for p in (*oc.excluded_items, *nc.excluded_items)}.values()),
        seen_items=list({p.item_id: p for p in (*oc.seen_items, *nc.seen_items)}.values()),
    )
    themes = list({t.text.lower(): t for t in (*old.themes, *new.themes)}.values())
    merged = InterestProfile(
        liked_items=liked,
        disliked_items=disliked,
        liked_aspects=liked_a,
        disliked_aspects=disliked_a,
        themes=themes,
        constraints=constraints,
        notes=list(new.notes),
        truncated=new.truncated,
        status="degraded" if new.status == "degraded" else "ok",
    )
    if merged.is_empty():
        merged.status = "empty"
    return merged

"""Profile edits (patch ops) and feedback, as pure functions `profile -> (new profile, reason)`.

Kept apart from storage so every backend applies them identically, and so the
reason written to the history ("edit: removed liked aspect 'Horror'") is built
in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from recassist.assistant.store.models import FeedbackKind
from recassist.foundation.catalog import Catalog
from recassist.foundation.errors import ConfigError, InputError, NotFoundError
from recassist.foundation.profile import (
    AspectKind,
    AspectPreference,
    InterestProfile,
    ItemPreference,
    Source,
    YearRange,
)

ItemList = Literal["liked_items", "disliked_items", "excluded_items", "seen_items"]
AspectList = Literal["liked_aspects", "disliked_aspects", "excluded_genres"]
AuthorList = Literal["liked_authors", "disliked_authors"]

# Liking and disliking the same thing at once is contradictory: adding to one side removes from the other.
_OPPOSITE: dict[str, str] = {
    "liked_items": "disliked_items",
    "disliked_items": "liked_items",
    "liked_aspects": "disliked_aspects",
    "disliked_aspects": "liked_aspects",
}
_LABEL = {
    "liked_items": "liked item",
    "disliked_items": "disliked item",
    "excluded_items": "excluded item",
    "seen_items": "seen item",
    "liked_aspects": "liked aspect",
    "disliked_aspects": "disliked aspect",
    "excluded_genres": "excluded genre",
    "liked_authors": "liked author",
    "disliked_authors": "disliked author",
}


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RemoveItem(_Op):
    op: Literal["remove_item"]
    list: ItemList
    item_id: str = Field(min_length=1, max_length=128)
    domain: str | None = Field(default=None, max_length=64, description="The entry's catalog ('books'); omitted: "
                               "the first catalog's entry. Book 1 and film 1 are different entries.")


class AddItem(_Op):
    op: Literal["add_item"]
    list: ItemList
    item_id: str = Field(min_length=1, max_length=128)


class RemoveAspect(_Op):
    op: Literal["remove_aspect"]
    list: AspectList
    aspect: str = Field(min_length=1, max_length=200, description="Matched case-insensitively.")


class AddAspect(_Op):
    op: Literal["add_aspect"]
    list: AspectList
    aspect: str = Field(min_length=1, max_length=200)
    kind: AspectKind = "genre"


class RemoveAuthor(_Op):
    op: Literal["remove_author"]
    list: AuthorList
    name: str = Field(min_length=1, max_length=200, description="Matched case-insensitively.")
    domain: str = Field(min_length=1, max_length=64, description="The catalog of the author's items ('books').")


class RemoveTheme(_Op):
    op: Literal["remove_theme"]
    text: str = Field(min_length=1, max_length=500, description="Matched case-insensitively.")


class ClearConstraint(_Op):
    op: Literal["clear"]
    constraint: Literal["years", "max_runtime_minutes"]


class SetYears(_Op):
    op: Literal["set_years"]
    min_year: int | None = Field(default=None, ge=1800, le=2100)
    max_year: int | None = Field(default=None, ge=1800, le=2100)

    @model_validator(mode="after")
    def _check(self) -> SetYears:
        if self.min_year is None and self.max_year is None:
            raise ValueError("set_years needs min_year, max_year or both")
        if self.min_year is not None and self.max_year is not None and self.min_year > self.max_year:
            raise ValueError(f"min_year {self.min_year} is after max_year {self.max_year}")
        return self


PatchOp = Annotated[
    RemoveItem | AddItem | RemoveAspect | AddAspect | RemoveAuthor | RemoveTheme | ClearConstraint | SetYears,
    Field(discriminator="op"),
]
_OPS = TypeAdapter(list[PatchOp])


def parse_ops(ops: Sequence[object]) -> list[PatchOp]:
    """Validate patch ops given as models or plain dicts (e.g. from JSON).

    Raises `InputError` listing every problem (op index, field, why) when any op is malformed.
    """
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
        raise InputError("patch ops must be a list of operations")
    if not ops:
        raise InputError("patch ops are empty: give at least one operation")
    raw = [op.model_dump() if isinstance(op, BaseModel) else op for op in ops]
    try:
        return _OPS.validate_python(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"op {'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors(include_url=False)
        )
        raise InputError(f"invalid profile edit: {problems}") from None


def apply_ops(
    profile: InterestProfile, ops: Sequence[PatchOp], catalog: Catalog | None
) -> tuple[InterestProfile, str]:
    """Apply validated ops in order to a copy of `profile`; returns it and the history reason.

    Raises `NotFoundError` when an op removes an entry the profile lacks,
    `UnknownItemError` / `InputError` when an added item or aspect is not in the
    catalog, and `ConfigError` when an add needs a catalog and none was given.
    """
    p = copy_profile(profile)
    reasons = [_apply_one(p, op, catalog) for op in ops]
    return _restatus(p), "edit: " + "; ".join(reasons)


def apply_feedback(
    profile: InterestProfile, item_id: str, kind: FeedbackKind, catalog: Catalog
) -> tuple[InterestProfile, str]:
    """Fold one feedback event into a copy of `profile`; returns it and the history reason.

    like -> liked_items, dislike -> disliked_items (each removes the opposite entry),
    seen -> constraints.seen_items, not_interested -> constraints.excluded_items; all with
    origin "feedback", which outranks extracted entries when later turns are merged.
    Raises `UnknownItemError` when `item_id` is not in `catalog`.
    """
    item = catalog.get(item_id)
    target = {
        "like": "liked_items",
        "dislike": "disliked_items",
        "seen": "seen_items",
        "not_interested": "excluded_items",
    }[kind]
    entry = ItemPreference(
        item_id=item.item_id, title=item.label, source=Source(text=f"feedback: {kind}"), origin="feedback"
    )
    p = copy_profile(profile)
    _put_item(p, target, entry)
    return _restatus(p), f"feedback: {kind} {item.item_id}"


def copy_profile(profile: InterestProfile) -> InterestProfile:
    """A deep copy. Through JSON because pydantic's `model_copy(deep=True)` was ~30x slower here
    (12 s for 400 feedback writes on a 400-item profile, against 0.4 s)."""
    return InterestProfile.model_validate_json(profile.model_dump_json())


# --- one op at a time ----------------------------------------------------------------------------


def _apply_one(p: InterestProfile, op: PatchOp, catalog: Catalog | None) -> str:
    """Apply `op` to `p` in place; returns the words for the history reason."""
    if isinstance(op, RemoveItem):
        return _remove_item(p, op, catalog)
    if isinstance(op, AddItem):
        item = _need_catalog(catalog, "adding an item").get(op.item_id)
        source = Source(text=f"edit: added {_LABEL[op.list]}")
        _put_item(p, op.list, ItemPreference(item_id=item.item_id, title=item.label, source=source))
        return f"added {_LABEL[op.list]} {item.item_id} '{item.label}'"
    if isinstance(op, RemoveAspect):
        return _remove_aspect(p, op)
    if isinstance(op, AddAspect):
        return _add_aspect(p, op, catalog)
    if isinstance(op, RemoveAuthor):
        return _remove_author(p, op)
    if isinstance(op, RemoveTheme):
        return _remove_theme(p, op)
    if isinstance(op, ClearConstraint):
        return _clear(p, op)
    p.constraints.years = YearRange(min_year=op.min_year, max_year=op.max_year, source=Source(text="edit"))
    return f"set years {op.min_year or ''}-{op.max_year or ''}"


def _remove_item(p: InterestProfile, op: RemoveItem, catalog: Catalog | None) -> str:
    entries = _items(p, op.list)
    # Keyed by (domain, id). The first catalog's entries carry no domain, so its name means the same.
    domain = None if catalog is not None and op.domain == catalog.domain else op.domain
    gone = [e for e in entries if (e.domain, e.item_id) == (domain, op.item_id)]
    if not gone:
        elsewhere = sorted({e.domain for e in entries if e.item_id == op.item_id and e.domain}, key=str)
        if elsewhere and domain is None:
            raise NotFoundError(f"item {op.item_id!r} is in {op.list} only as an item of {', '.join(elsewhere)}; "
                                f"add \"domain\": \"{elsewhere[0]}\" to the op to remove it")
        have = ", ".join(_entry_key(e) for e in entries) or "none"
        raise NotFoundError(f"item {op.item_id!r}{f' of {domain}' if domain else ''} is not in {op.list} "
                            f"(it holds: {have})")
    entries[:] = [e for e in entries if (e.domain, e.item_id) != (domain, op.item_id)]
    return f"removed {_LABEL[op.list]} {f'{domain} ' if domain else ''}{op.item_id} '{gone[0].title}'"


def _entry_key(e: ItemPreference) -> str:
    return f"{e.item_id} ({e.domain})" if e.domain else e.item_id


def _remove_aspect(p: InterestProfile, op: RemoveAspect) -> str:
    entries = _aspects(p, op.list)
    gone = [e for e in entries if e.aspect.lower() == op.aspect.lower()]
    if not gone:
        have = ", ".join(repr(e.aspect) for e in entries) or "none"
        raise NotFoundError(f"aspect {op.aspect!r} is not in {op.list} (it holds: {have})")
    entries[:] = [e for e in entries if e.aspect.lower() != op.aspect.lower()]
    return f"removed {_LABEL[op.list]} '{gone[0].aspect}'"


def _remove_author(p: InterestProfile, op: RemoveAuthor) -> str:
    entries = getattr(p, op.list)
    key = (op.domain, op.name.lower())
    gone = [e for e in entries if (e.domain, e.name.lower()) == key]
    if not gone:
        have = ", ".join(f"{e.name!r} ({e.domain})" for e in entries) or "none"
        raise NotFoundError(f"author {op.name!r} of {op.domain} is not in {op.list} (it holds: {have})")
    entries[:] = [e for e in entries if (e.domain, e.name.lower()) != key]
    return f"removed {_LABEL[op.list]} '{gone[0].name}' ({op.domain})"


def _remove_theme(p: InterestProfile, op: RemoveTheme) -> str:
    gone = [t for t in p.themes if t.text.lower() == op.text.lower()]
    if not gone:
        have = ", ".join(repr(t.text) for t in p.themes) or "none"
        raise NotFoundError(f"theme {op.text!r} is not in the profile (themes: {have})")
    p.themes = [t for t in p.themes if t.text.lower() != op.text.lower()]
    return f"removed theme '{gone[0].text}'"


def _clear(p: InterestProfile, op: ClearConstraint) -> str:
    c = p.constraints
    if op.constraint == "years":
        if c.years is None:
            raise NotFoundError("the profile has no year constraint to clear")
        c.years = None
        return "cleared year constraint"
    if c.max_runtime_minutes is None:
        raise NotFoundError("the profile has no runtime constraint to clear")
    c.max_runtime_minutes, c.runtime_source = None, None
    return "cleared runtime constraint"


def _add_aspect(p: InterestProfile, op: AddAspect, catalog: Catalog | None) -> str:
    kind = "genre" if op.list == "excluded_genres" else op.kind
    aspect = op.aspect
    if catalog is not None:
        # Profile aspects must be catalog vocabulary (DESIGN "Grounding"); store the catalog's spelling.
        vocab = catalog.genres if kind == "genre" else catalog.tags
        match = next((v for v in vocab if v.lower() == aspect.lower()), None)
        if match is None:
            raise InputError(f"{kind} {aspect!r} is not in catalog '{catalog.name}' vocabulary")
        aspect = match
    entry = AspectPreference(aspect=aspect, kind=kind, source=Source(text=f"edit: added {_LABEL[op.list]}"))
    key = (kind, aspect.lower())
    _replace_or_append(_aspects(p, op.list), entry, lambda e: (e.kind, e.aspect.lower()))
    if op.list in _OPPOSITE:
        other = _aspects(p, _OPPOSITE[op.list])
        other[:] = [e for e in other if (e.kind, e.aspect.lower()) != key]
    return f"added {_LABEL[op.list]} '{aspect}'"


def _put_item(p: InterestProfile, target: str, entry: ItemPreference) -> None:
    """Insert or replace `entry` in list `target`, removing it from the opposite list."""
    # Keyed by (domain, id): book 1 and film 1 are different items.
    _replace_or_append(_items(p, target), entry, lambda e: (e.domain, e.item_id))
    if target in _OPPOSITE:
        other = _items(p, _OPPOSITE[target])
        other[:] = [e for e in other if (e.domain, e.item_id) != (entry.domain, entry.item_id)]


def _replace_or_append(entries: list, entry: BaseModel, key: Callable[[Any], object]) -> None:
    # In place, so repeating the same edit or feedback leaves the profile equal and writes no revision.
    for i, e in enumerate(entries):
        if key(e) == key(entry):
            entries[i] = entry
            return
    entries.append(entry)


def _items(p: InterestProfile, name: str) -> list[ItemPreference]:
    return getattr(p.constraints, name) if name in ("excluded_items", "seen_items") else getattr(p, name)


def _aspects(p: InterestProfile, name: str) -> list[AspectPreference]:
    return p.constraints.excluded_genres if name == "excluded_genres" else getattr(p, name)


def _need_catalog(catalog: Catalog | None, what: str) -> Catalog:
    if catalog is None:
        raise ConfigError(f"{what} needs a catalog: open the store with one or pass catalog=")
    return catalog


def _restatus(p: InterestProfile) -> InterestProfile:
    if p.is_empty():
        p.status = "empty"
    elif p.status == "empty":
        p.status = "ok"
    return p

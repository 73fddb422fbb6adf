"""record_feedback: recorded and folded into the profile in one transaction."""

from __future__ import annotations

import pytest
from recassist.assistant.store import FeedbackRecord
from recassist.foundation.errors import ConfigError, InputError, NotFoundError, UnknownItemError
from store_helpers import T0, liking


def test_like_known_answer(store):
    rec = store.record_feedback("alice", "2571", "like")
    assert rec == FeedbackRecord(
        id=1, user_id="alice", item_id="2571", kind="like", created_at=T0, revision=1
    )
    p = store.get_profile("alice")
    assert p.status == "ok"
    [entry] = p.liked_items
    assert (entry.item_id, entry.title, entry.origin, entry.source.text) == (
        "2571",
        "The Matrix (1999)",
        "feedback",
        "feedback: like",
    )
    assert store.history("alice")[0].reason == "feedback: like 2571"


def test_each_kind_lands_in_its_place(store):
    store.save_profile("alice", liking("1"), "turn 1: extracted")
    store.record_feedback("alice", "1", "dislike")  # flips the extracted like
    store.record_feedback("alice", "318", "seen")
    store.record_feedback("alice", "1258", "not_interested")
    p = store.get_profile("alice")
    assert (p.liked_ids(), p.disliked_ids()) == ([], ["1"])
    assert [e.item_id for e in p.constraints.seen_items] == ["318"]
    assert [e.item_id for e in p.constraints.excluded_items] == ["1258"]
    assert p.blocked_ids() == {"1", "318", "1258"}
    assert [r.reason for r in store.history("alice")] == [
        "feedback: not_interested 1258",
        "feedback: seen 318",
        "feedback: dislike 1",
        "turn 1: extracted",
    ]


def test_repeated_feedback_is_logged_but_changes_the_profile_once(store):
    first = store.record_feedback("alice", "2571", "like")
    again = store.record_feedback("alice", "2571", "like")
    assert (first.revision, again.revision) == (1, None)
    assert [(f.id, f.kind, f.revision) for f in store.feedback("alice")] == [
        (2, "like", None),
        (1, "like", 1),
    ]
    assert [f.id for f in store.feedback("alice", limit=1)] == [2]
    assert len(store.history("alice")) == 1


def test_feedback_can_be_undone(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    store.record_feedback("alice", "1", "like")
    assert store.undo("alice").undone_reason == "feedback: like 1"
    assert store.get_profile("alice").liked_ids() == ["2571"]


def test_unknown_item_is_refused_before_anything_is_written(store):
    with pytest.raises(UnknownItemError, match="'999' is not in catalog"):
        store.record_feedback("alice", "999", "like")
    with pytest.raises(NotFoundError):
        store.get_profile("alice")


@pytest.mark.parametrize("kind", ["love", "LIKE", "", None])
def test_bad_kind(store, kind):
    with pytest.raises(InputError, match="like, dislike, seen, not_interested"):
        store.record_feedback("alice", "2571", kind)


def test_feedback_in_a_session(store):
    sid = store.start_session("alice")
    rec = store.record_feedback("alice", "2571", "like", session_id=sid)
    assert rec.session_id == sid and store.feedback("alice")[0].session_id == sid


def test_session_of_another_user_is_refused_and_rolls_back(store):
    bobs = store.start_session("bob")
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    # The revision is written before the session is checked: the refusal must take it back too.
    with pytest.raises(NotFoundError, match=f"session '{bobs}' not found for user 'alice'"):
        store.record_feedback("alice", "1", "like", session_id=bobs)
    with pytest.raises(NotFoundError):
        store.record_feedback("alice", "1", "like", session_id="nosuchsession")
    with pytest.raises(InputError, match="session id"):
        store.record_feedback("alice", "1", "like", session_id="bad id")
    assert store.get_profile("alice").liked_ids() == ["2571"]
    assert len(store.history("alice")) == 1 and store.feedback("alice") == []


def test_feedback_needs_a_catalog(make_store, catalog):
    with make_store() as bare:
        with pytest.raises(ConfigError, match="needs a catalog"):
            bare.record_feedback("alice", "2571", "like")
        assert bare.record_feedback("alice", "2571", "like", catalog=catalog).revision == 1


def test_feedback_of_unknown_user_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.feedback("ghost")

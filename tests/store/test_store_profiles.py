"""get / save / history / undo of profiles, with known answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from recassist.foundation.errors import InputError, NotFoundError
from recassist.foundation.profile import InterestProfile
from store_helpers import T0, liking


def test_unknown_user_is_not_found_unless_created(store):
    with pytest.raises(NotFoundError, match="user 'alice' not found"):
        store.get_profile("alice")
    profile = store.get_profile("alice", create=True)
    assert profile.is_empty() and profile.status == "empty"
    # Now recorded: a plain get works and there is no history yet.
    assert store.get_profile("alice").is_empty()
    assert store.history("alice") == []


def test_save_then_get_round_trips_and_numbers_revisions(store):
    r1 = store.save_profile("alice", liking("2571"), "turn 1: extracted")
    r2 = store.save_profile("alice", liking("2571", "318"), "turn 2: extracted")
    assert (r1.revision, r1.reason, r1.created_at) == (1, "turn 1: extracted", T0)
    assert (r2.revision, r2.reason, r2.created_at) == (2, "turn 2: extracted", T0 + timedelta(seconds=1))
    assert store.get_profile("alice") == liking("2571", "318")
    assert [(r.revision, r.reason, r.profile.liked_ids(), r.undone_at) for r in store.history("alice")] == [
        (2, "turn 2: extracted", ["2571", "318"], None),
        (1, "turn 1: extracted", ["2571"], None),
    ]
    assert [r.revision for r in store.history("alice", limit=1)] == [2]


def test_saving_an_unchanged_profile_writes_no_revision(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    assert store.save_profile("alice", liking("2571"), "turn 2: small talk") is None
    assert len(store.history("alice")) == 1


def test_saved_profile_is_a_copy_not_a_live_reference(store):
    p = liking("2571")
    store.save_profile("alice", p, "turn 1: extracted")
    p.liked_items.clear()
    assert store.get_profile("alice").liked_ids() == ["2571"]


def test_undo_chain_walks_back_and_skips_undone_revisions(store):
    a, b, c, d = liking("2571"), liking("2571", "1"), liking("2571", "1", "318"), liking("1258")
    for n, p in enumerate((a, b, c), 1):
        store.save_profile("alice", p, f"turn {n}: extracted")

    u = store.undo("alice")
    assert (u.undone_revision, u.undone_reason, u.revision, u.profile) == (3, "turn 3: extracted", 2, b)
    assert store.get_profile("alice") == b
    assert store.undo("alice").profile == a

    # A change after undo builds on the restored state; undoing it returns there, not to an undone one.
    assert store.save_profile("alice", d, "turn 4: extracted").revision == 4
    u = store.undo("alice")
    assert (u.undone_revision, u.revision, u.profile) == (4, 1, a)

    u = store.undo("alice")
    assert (u.undone_revision, u.revision) == (1, 0)
    assert u.profile.is_empty() and store.get_profile("alice").is_empty()
    with pytest.raises(InputError, match="nothing to undo"):
        store.undo("alice")

    undone = {r.revision: r.undone_at is not None for r in store.history("alice")}
    assert undone == {1: True, 2: True, 3: True, 4: True}


def test_undo_keeps_revision_numbers_growing(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    store.undo("alice")
    assert store.save_profile("alice", liking("1"), "turn 2: extracted").revision == 2


def test_undo_and_history_of_unknown_user(store):
    with pytest.raises(NotFoundError):
        store.undo("nobody")
    with pytest.raises(NotFoundError):
        store.history("nobody")
    store.get_profile("newbie", create=True)
    with pytest.raises(InputError, match="nothing to undo"):
        store.undo("newbie")


@pytest.mark.parametrize("bad", ["", "a" * 129, "../etc", ".hidden", "a b", "ü", "x/y", "-rf", None, 7])
def test_bad_user_ids_are_rejected_before_any_write(store, bad):
    with pytest.raises(InputError, match="user id"):
        store.save_profile(bad, liking("2571"), "turn 1")
    with pytest.raises(InputError, match="user id"):
        store.get_profile(bad, create=True)


def test_good_user_ids(store):
    for uid in ("a", "A" * 128, "user_1.x@example.com", "tenant:42-b"):
        assert store.get_profile(uid, create=True).is_empty()


def test_save_rejects_missing_reason_and_non_profiles(store):
    with pytest.raises(InputError, match="reason"):
        store.save_profile("alice", liking("2571"), "  ")
    with pytest.raises(InputError, match="InterestProfile"):
        store.save_profile("alice", {"liked_items": []}, "turn 1")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="positive integer"):
        store.history("alice", limit=0)


def test_profiles_of_different_users_stay_apart(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    store.save_profile("bob", liking("1"), "turn 1: extracted")
    store.undo("bob")
    assert store.get_profile("alice").liked_ids() == ["2571"]
    assert store.get_profile("bob") == InterestProfile(status="empty")


def test_merge_profile_keeps_feedback_recorded_in_between(store):
    store.merge_profile("alice", liking("2571", turn=1), "turn 1: extracted")
    stale = store.get_profile("alice")  # a chat turn reads the profile ...
    store.record_feedback("alice", "1", "like")  # ... another request records feedback ...
    rev = store.merge_profile("alice", liking("318", turn=2), "turn 2: extracted")  # ... the turn then merges
    assert (rev.revision, rev.reason) == (3, "turn 2: extracted")
    assert store.get_profile("alice").liked_ids() == ["2571", "1", "318"]
    # What get + save would have done instead: the like of "1" lost.
    assert stale.merged_with(liking("318")).liked_ids() == ["2571", "318"]
    assert store.merge_profile("alice", liking("318", turn=2), "turn 3: extracted") is None

"""Delete, crashes mid-transaction, corrupt rows, schema versions, opening and closing."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from recassist.assistant.store import SQLiteStores, open_store, schema
from recassist.foundation.errors import ConfigError, NotFoundError, StoreError
from recassist.foundation.settings import Settings
from store_helpers import StepClock, crash_inside_feedback_write, liking


@pytest.fixture
def store(tmp_path, catalog):
    """SQLite only: these tests read and corrupt the file's rows directly (see test_store_postgres.py)."""
    s = SQLiteStores(tmp_path / "store.sqlite3", catalog, clock=StepClock())
    yield s
    s.close()


def _raw(store: SQLiteStores) -> sqlite3.Connection:
    return sqlite3.connect(store.path, isolation_level=None)


def _rows_of(con: sqlite3.Connection, user_id: str) -> dict[str, int]:
    q = {
        "users": "SELECT COUNT(*) FROM users WHERE user_id = ?",
        "profiles": "SELECT COUNT(*) FROM profiles WHERE user_id = ?",
        "profile_revisions": "SELECT COUNT(*) FROM profile_revisions WHERE user_id = ?",
        "feedback": "SELECT COUNT(*) FROM feedback WHERE user_id = ?",
        "sessions": "SELECT COUNT(*) FROM sessions WHERE user_id = ?",
        "turns": "SELECT COUNT(*) FROM turns t JOIN sessions s USING (session_id) WHERE s.user_id = ?",
    }
    return {table: con.execute(sql, (user_id,)).fetchone()[0] for table, sql in q.items()}


def test_delete_profile_removes_everything_of_that_user_only(store):
    for uid in ("alice", "bob"):
        store.save_profile(uid, liking("2571"), "turn 1: extracted")
        sid = store.start_session(uid)
        store.append_turn(sid, "assistant", "here", items=["1"])
        store.record_feedback(uid, "1", "like", session_id=sid)
    alice_session = store.session_turns(store.start_session("alice"))  # an empty second session too
    assert alice_session == []
    con = _raw(store)
    assert _rows_of(con, "alice") == {
        "users": 1,
        "profiles": 1,
        "profile_revisions": 2,
        "feedback": 1,
        "sessions": 2,
        "turns": 1,
    }
    store.delete_profile("alice")
    assert set(_rows_of(con, "alice").values()) == {0}
    assert _rows_of(con, "bob") == {
        "users": 1,
        "profiles": 1,
        "profile_revisions": 2,
        "feedback": 1,
        "sessions": 1,
        "turns": 1,
    }
    con.close()
    with pytest.raises(NotFoundError):
        store.get_profile("alice")
    with pytest.raises(NotFoundError):
        store.delete_profile("alice")
    # A returning user starts afresh, numbering included.
    assert store.save_profile("alice", liking("318"), "turn 1: extracted").revision == 1


def test_exception_inside_the_transaction_leaves_the_old_state(store, monkeypatch):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    # _insert_feedback runs after the new revision and current-profile rows were written.
    monkeypatch.setattr(SQLiteStores, "_insert_feedback", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record_feedback("alice", "1", "like")
    monkeypatch.undo()
    assert store.get_profile("alice") == liking("2571")
    assert [r.revision for r in store.history("alice")] == [1] and store.feedback("alice") == []
    # And the store is not left locked or mid-transaction.
    assert store.record_feedback("alice", "1", "like").revision == 2


def test_exception_raised_by_a_change_leaves_the_old_state(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")

    def bad_change(profile):
        profile.liked_items.clear()  # mutates the copy it was handed ...
        raise ValueError("halfway")  # ... then fails

    with pytest.raises(ValueError):
        store.update_profile("alice", bad_change)
    assert store.get_profile("alice") == liking("2571")


def test_a_process_killed_mid_transaction_leaves_the_old_state(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=crash_inside_feedback_write, args=(str(store.path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3  # it really died inside the write
    with SQLiteStores(store.path, store.catalog, busy_timeout_s=2) as fresh:
        assert fresh.get_profile("alice") == liking("2571")
        assert len(fresh.history("alice")) == 1 and fresh.feedback("alice") == []
        assert fresh.record_feedback("alice", "1", "like").revision == 2  # the lock died with it


def test_corrupt_current_profile_is_a_clear_error_and_undo_recovers(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    store.save_profile("alice", liking("2571", "1"), "turn 2: extracted")
    with _raw(store) as con:
        con.execute("UPDATE profiles SET profile_json = '{\"liked_items\": [' WHERE user_id = 'alice'")
    with pytest.raises(
        StoreError, match=r"current profile of user 'alice' \(revision 2\) is unreadable.*undo"
    ):
        store.get_profile("alice")
    with pytest.raises(StoreError):
        store.record_feedback("alice", "318", "like")
    assert store.undo("alice").profile == liking("2571")
    assert store.get_profile("alice") == liking("2571")


def test_corrupt_revision_and_turn_rows_are_clear_errors(store):
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    sid = store.start_session("alice")
    store.append_turn(sid, "assistant", "x", items=["1"])
    with _raw(store) as con:
        con.execute("UPDATE profile_revisions SET profile_json = '{\"liked_items\": 5}'")
        con.execute("UPDATE turns SET items_json = 'not json'")
    with pytest.raises(StoreError, match=r"profile revision of user 'alice' \(revision 1\) is unreadable"):
        store.history("alice")
    with pytest.raises(StoreError, match=f"items of session '{sid}', turn 1 are unreadable"):
        store.last_shown_items(sid)
    assert store.get_profile("alice") == liking("2571")  # the current copy is intact


def test_file_settings_and_reopen(store):
    con = store.db.connection()
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert con.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    store.save_profile("alice", liking("2571"), "turn 1: extracted")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_profile("alice")
    with SQLiteStores(store.path) as again:
        assert again.get_profile("alice") == liking("2571")


def test_newer_schema_and_non_database_files_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        SQLiteStores(newer)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a recassist profile store"):
        SQLiteStores(junk)


def test_migrations_upgrade_in_place_and_a_failed_step_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite3"
    with SQLiteStores(path, clock=StepClock()) as v1:
        v1.save_profile("alice", liking("2571"), "turn 1: extracted")
    version = schema.SCHEMA_VERSION  # the current release's version; the steps below come after it

    broken = [*schema.MIGRATIONS, ["CREATE TABLE notes (x TEXT)", "THIS IS NOT SQL"]]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", version + 1)
    with pytest.raises(StoreError, match="syntax error"):
        SQLiteStores(path)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == version
        assert con.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchone() is None

    fixed = [*schema.MIGRATIONS[:version], ["ALTER TABLE users ADD COLUMN display_name TEXT"]]
    monkeypatch.setattr(schema, "MIGRATIONS", fixed)
    with SQLiteStores(path) as v2:
        assert v2.get_profile("alice") == liking("2571")
        con = v2.db.connection()
        assert con.execute("PRAGMA user_version").fetchone()[0] == version + 1
        assert "display_name" in [r[1] for r in con.execute("PRAGMA table_info(users)")]


def test_a_version_1_file_opens_with_its_sessions_and_gets_session_state(tmp_path):
    """Files written before session state existed (schema 1) upgrade in place and keep everything."""
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as con:
        for statement in schema.MIGRATIONS[0]:
            con.execute(statement)
        con.execute("PRAGMA user_version = 1")
        con.execute("INSERT INTO users VALUES ('alice', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
        con.execute("INSERT INTO sessions VALUES ('s1', 'alice', '2026-01-01T00:00:00+00:00')")
        con.execute("INSERT INTO turns VALUES ('s1', 1, 'user', 'I loved Heat', '2026-01-01T00:00:00+00:00', '[]')")
    con.close()
    with SQLiteStores(path) as store:
        assert store.db.connection().execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert [t.text for t in store.session_turns("s1")] == ["I loved Heat"]
        assert store.get_session_state("s1") == {}
        store.set_session_state("s1", {"asked": ["genre"]})
    with SQLiteStores(path) as again:
        assert again.get_session_state("s1") == {"asked": ["genre"]}
        again.db.connection().execute("UPDATE sessions SET state_json = '[1, 2'")
        with pytest.raises(StoreError, match="stored state of session 's1' is unreadable"):
            again.get_session_state("s1")
        assert [t.text for t in again.session_turns("s1")] == ["I loved Heat"]  # the turns are intact


def test_open_store_uses_settings_and_registry(tmp_path, catalog):
    settings = Settings(data_dir=tmp_path / "data")
    with open_store(settings, catalog) as store:
        assert isinstance(store, SQLiteStores) and store.path == settings.sqlite_path
        assert store.record_feedback("alice", "2571", "like").revision == 1
    assert settings.sqlite_path.exists()
    with pytest.raises(ConfigError, match="unknown profile store backend 'mongo'; choose one of sqlite"):
        open_store(settings, backend="mongo")


def test_a_write_lock_held_too_long_is_a_clear_store_error(tmp_path, catalog):
    with SQLiteStores(tmp_path / "s.sqlite3", catalog, busy_timeout_s=0.2) as store:
        store.save_profile("alice", liking("2571"), "turn 1: extracted")
        other = _raw(store)
        other.execute("BEGIN IMMEDIATE")  # another process mid-write
        with pytest.raises(StoreError, match=r"stayed busy for more than 0.2 s"):
            store.record_feedback("alice", "1", "like")
        assert store.get_profile("alice") == liking("2571")  # WAL: reads go on beside the writer
        other.execute("ROLLBACK")
        other.close()
        assert store.record_feedback("alice", "1", "like").revision == 2

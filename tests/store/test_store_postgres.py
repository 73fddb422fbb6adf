"""What only the PostgreSQL backend has: a server, a versioned schema, many writer processes."""

from __future__ import annotations

import functools
import multiprocessing
import threading

import psycopg
import pytest
from real_servers import create_database, free_port
from recassist.assistant.store import open_store, postgres
from recassist.assistant.store.postgres import PostgresStores
from recassist.assistant.store.postgres_db import PostgresDB, redact
from recassist.assistant.store.postgres_schema import SCHEMA_VERSION
from recassist.foundation.errors import NotFoundError, StoreError
from recassist.foundation.settings import Settings
from store_helpers import StepClock, die_inside_postgres_feedback_write, like_many_postgres, liking, make_catalog


@pytest.fixture
def url(postgres_url, request):
    return create_database(postgres_url, f"pg_{request.node.name.lower()[:40]}")


def _count(url: str, sql: str, *args) -> int:
    with psycopg.connect(url) as con:
        return con.execute(sql, args).fetchone()[0]


def test_schema_is_created_versioned_and_migrated_once_by_concurrent_openers(url):
    errors = []

    def open_close():
        try:
            PostgresStores(url).close()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_close) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(url, "SELECT version FROM recassist_schema") == SCHEMA_VERSION
    assert _count(url, "SELECT count(*) FROM recassist_schema") == 1


def test_newer_schema_is_refused_with_a_clear_message(url):
    PostgresStores(url).close()
    with psycopg.connect(url) as con:
        con.execute("UPDATE recassist_schema SET version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer than this recassist"):
        PostgresStores(url)


def test_unreachable_server_is_a_store_error_without_the_password(monkeypatch):
    # The pool retries until the store's connect timeout (10 s by default) runs out; the error is the same
    # after 1 s.
    monkeypatch.setattr(postgres, "PostgresDB", functools.partial(PostgresDB, connect_timeout_s=1.0))
    bad = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError) as info:
        PostgresStores(bad)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)
    assert "RECASSIST_DATABASE_URL" in str(info.value)
    assert redact("postgresql://u:p@h:1/d") == "postgresql://u:***@h:1/d"


def test_open_store_picks_postgres_when_a_database_url_is_set(url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=url)
    assert settings.resolved_store_backend == "postgres"
    with open_store(settings, make_catalog()) as store:
        assert isinstance(store, PostgresStores)
        store.record_feedback("alice", "1", "like")
        store.ping()
    assert not settings.sqlite_path.exists()
    assert Settings(data_dir=tmp_path).resolved_store_backend == "sqlite"


def test_delete_profile_removes_everything_of_that_user_only(url):
    with PostgresStores(url, make_catalog(), clock=StepClock()) as store:
        for user in ("alice", "bob"):
            sid = store.start_session(user)
            store.append_turn(sid, "user", "hi")
            store.record_feedback(user, "1", "like", session_id=sid)
            store.save_profile(user, liking("2571"), "turn 1")
        store.delete_profile("alice")
        with pytest.raises(NotFoundError):
            store.get_profile("alice")
        assert store.get_profile("bob").liked_items[0].item_id == "2571"
    for table in ("users", "profiles", "profile_revisions", "sessions", "feedback"):
        assert _count(url, f"SELECT count(*) FROM {table} WHERE user_id = %s", "alice") == 0
        assert _count(url, f"SELECT count(*) FROM {table} WHERE user_id = %s", "bob") >= 1
    assert _count(url, "SELECT count(*) FROM turns") == 1


def test_a_process_killed_mid_transaction_leaves_the_old_state(url):
    with PostgresStores(url, make_catalog(), clock=StepClock()) as store:
        store.save_profile("alice", liking("2571"), "turn 1")
    proc = multiprocessing.get_context("spawn").Process(target=die_inside_postgres_feedback_write, args=(url,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    with PostgresStores(url, make_catalog()) as fresh:
        assert [r.revision for r in fresh.history("alice")] == [1]
        assert fresh.feedback("alice") == []
        assert [p.item_id for p in fresh.get_profile("alice").liked_items] == ["2571"]
        fresh.record_feedback("alice", "1", "like")  # and the row lock the dead process held is free
        assert [r.revision for r in fresh.history("alice")] == [2, 1]


def test_two_processes_and_their_threads_never_lose_an_update(url):
    workers, n = 3, 15
    PostgresStores(url).close()  # the schema once, as the server does at start
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=like_many_postgres, args=(url, w, n)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    with PostgresStores(url, make_catalog(n_synthetic=workers * n * 8)) as store:
        shared = store.get_profile("shared")
        assert len(shared.liked_items) == workers * n  # every like of every writer survived
        assert [r.revision for r in store.history("shared")] == list(range(workers * n, 0, -1))
        assert len(store.feedback("shared")) == workers * n
        for w in range(workers):
            assert {p.item_id for p in store.get_profile(f"user{w}").liked_items} == {
                f"s{w * n + i}" for i in range(n)}

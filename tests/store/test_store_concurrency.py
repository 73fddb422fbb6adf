"""Concurrent writers, threads and processes: no lost update, no profile ever holds another user's entry."""

from __future__ import annotations

import multiprocessing
import threading
import time

from recassist.assistant.store import SQLiteStores
from store_helpers import like_many, make_catalog


def _check(path, workers: int, n: int) -> None:
    with SQLiteStores(path) as store:
        for w in range(workers):
            mine = [f"s{w * n + i}" for i in range(n)]
            assert store.get_profile(f"user{w}").liked_ids() == mine
            assert [r.revision for r in store.history(f"user{w}")] == list(range(n, 0, -1))
            assert sorted(f.item_id for f in store.feedback(f"user{w}")) == sorted(mine)
        shared = store.get_profile("shared").liked_ids()
        # Every like by every worker survived (no read-modify-write lost), each exactly once.
        assert sorted(shared) == sorted(f"s{i}" for i in range(workers * n))
        history = store.history("shared")
        assert [r.revision for r in history] == list(range(workers * n, 0, -1))
        # Each revision adds exactly one like to the one before it: the updates were serialised.
        for newer, older in zip(history, history[1:], strict=False):
            assert len(newer.profile.liked_items) == len(older.profile.liked_items) + 1


def test_threads_sharing_one_store_object(tmp_path):
    path, workers, n = tmp_path / "s.sqlite3", 8, 50
    store = SQLiteStores(path, make_catalog(n_synthetic=workers * n), busy_timeout_s=30)
    start, errors = threading.Barrier(workers + 1), []
    stop = threading.Event()

    def writer(w: int) -> None:
        start.wait()
        try:
            for i in range(n):
                item = f"s{w * n + i}"
                store.record_feedback(f"user{w}", item, "like")
                store.record_feedback("shared", item, "like")
        except Exception as e:  # surfaced below; a thread's exception is otherwise lost
            errors.append(e)

    def reader() -> None:
        start.wait()
        try:
            while not stop.is_set():
                for w in range(workers):
                    liked = store.get_profile(f"user{w}", create=True).liked_ids()
                    # A reader sees some prefix of this user's own likes, never anyone else's.
                    assert liked == [f"s{w * n + i}" for i in range(len(liked))]
                time.sleep(0.005)  # read alongside the writers without starving them of the GIL
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(workers)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads[:-1]:
        t.join(120)
    stop.set()
    threads[-1].join(30)
    store.close()
    assert errors == []
    _check(path, workers, n)


def test_two_processes_writing_one_file(tmp_path):
    path, workers, n = tmp_path / "s.sqlite3", 2, 40
    SQLiteStores(path).close()  # create the schema once, as the server would at start
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(workers)
    procs = [ctx.Process(target=like_many, args=(str(path), w, n, start)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    _check(path, workers, n)

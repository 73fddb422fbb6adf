"""End to end on real servers: two API servers on PostgreSQL + Redis + a Chroma server behave as one."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from scale_helpers import KEYS, RATE_PER_MINUTE, start_server, wait_ready

pytestmark = pytest.mark.slow


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _item_ids(backends) -> list[str]:
    from recassist.foundation.catalog import load_catalog_cached

    return sorted(load_catalog_cached(str(backends.settings().catalog_dir)).item_ids)


def test_a_profile_written_through_one_server_is_read_through_the_other(pair, backends):
    a, b = pair
    item = _item_ids(backends)[0]
    with _client(a.url, KEYS[0]) as ca, _client(b.url, KEYS[0]) as cb:
        assert ca.post("/v1/feedback", json={"user_id": "cross", "item_id": item, "kind": "like"}).status_code == 200
        got = cb.get("/v1/users/cross/profile")
        assert got.status_code == 200
        assert [p["item_id"] for p in got.json()["liked_items"]] == [item]
        # And a chat session started on B continues on A (session and state in PostgreSQL).
        first = cb.post("/v1/chat", json={"user_id": "cross", "message": "I loved The Matrix"}).json()
        second = ca.post("/v1/chat", json={"user_id": "cross", "message": "why the first one?",
                                           "session_id": first["session_id"]})
        assert second.status_code == 200 and second.json()["session_id"] == first["session_id"]


def test_a_catalog_update_through_one_server_is_served_by_the_other_within_a_second(pair):
    a, b = pair
    item = {"title": "Scale Test Voyage", "year": 2031, "genres": ["Sci-Fi", "Drama"], "tags": ["space"],
            "description": "A crew crosses the galaxy."}
    query = {"text": "science fiction", "filters": {"year": {"$gte": 2030}}, "k": 5}
    with _client(a.url, KEYS[1]) as ca, _client(b.url, KEYS[1]) as cb:
        assert cb.post("/v1/recommendations", json=query).json()["items"] == []
        assert ca.put("/v1/items/scale-new-1", json=item).status_code == 200
        acknowledged = time.monotonic()
        seen_after = None
        while time.monotonic() - acknowledged < 5:
            got = cb.post("/v1/recommendations", json=query).json()["items"]
            if [it["item_id"] for it in got] == ["scale-new-1"]:
                seen_after = time.monotonic() - acknowledged
                break
            time.sleep(0.02)
        assert seen_after is not None and seen_after < 1.0, seen_after
        # B applied it in its follower: one swap of the catalog-derived tables, timed by the worker itself.
        swap = cb.get("/readyz").json()["catalog_swap"]
        assert swap["version"] == ca.get("/readyz").json()["catalog_version"] and 0 < swap["wall_ms"] < 1000, swap
        # And a server started later replays the update log.
        assert ca.delete("/v1/items/scale-new-1").status_code == 204
        deadline = time.monotonic() + 1.0
        while cb.post("/v1/recommendations", json=query).json()["items"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cb.post("/v1/recommendations", json=query).json()["items"] == []


def test_the_rate_limit_is_global(pair):
    a, b = pair
    key = KEYS[-1]
    statuses = []
    started = time.monotonic()
    with _client(a.url, key) as ca, _client(b.url, key) as cb:
        # More than one bucket holds, fewer than two: per-process buckets would let every request through.
        for i in range(int(RATE_PER_MINUTE * 1.5)):
            statuses.append((ca if i % 2 else cb).get("/v1/users/nobody-here/profile").status_code)
    elapsed = time.monotonic() - started
    allowed = sum(s != 429 for s in statuses)
    refill = RATE_PER_MINUTE / 60.0 * elapsed
    assert statuses.count(429) > 0
    assert allowed <= RATE_PER_MINUTE + refill + 1, (allowed, elapsed)


def test_fifty_concurrent_users_each_see_only_their_own_profile(pair, backends):
    a, b = pair
    items = _item_ids(backends)[:50]
    leaks, errors = [], []

    def user(n: int) -> None:
        uid, key = f"u{n}", KEYS[n % 20]
        write, read = (a, b) if n % 2 else (b, a)
        with _client(write.url, key) as cw, _client(read.url, key) as cr:
            r = cw.post("/v1/feedback", json={"user_id": uid, "item_id": items[n], "kind": "like"})
            if r.status_code != 200:
                errors.append((n, r.status_code, r.text))
                return
            for _ in range(2):
                got = [p["item_id"] for p in cr.get(f"/v1/users/{uid}/profile").json()["liked_items"]]
                if got != [items[n]]:
                    leaks.append((uid, got))

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(user, range(50)))
    assert errors == []
    assert leaks == []


def test_killing_a_server_mid_request_loses_no_acknowledged_feedback(backends, pair):
    _, b = pair
    victim = start_server(backends, name="victim")
    wait_ready(victim)
    items = _item_ids(backends)
    acknowledged, lock = [], threading.Lock()
    stop = threading.Event()

    def send(n: int) -> None:
        uid = f"k{n}"
        try:
            with _client(victim.url, KEYS[n % 20]) as c:
                r = c.post("/v1/feedback", json={"user_id": uid, "item_id": items[n % len(items)], "kind": "like"})
        except httpx.HTTPError:
            return  # cut off by the kill: not acknowledged, may or may not have been written
        if r.status_code == 200:
            with lock:
                acknowledged.append((uid, items[n % len(items)]))

    def load() -> None:
        with ThreadPoolExecutor(8) as pool:
            n = 0
            while not stop.is_set() and n < 2000:
                pool.submit(send, n)
                n += 1
                time.sleep(0.01)

    loader = threading.Thread(target=load)
    loader.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 10 and time.monotonic() < deadline:  # under way, requests in flight
        time.sleep(0.05)
    os.killpg(victim.proc.pid, signal.SIGKILL)  # mid-request: the loader keeps 8 in flight
    victim.proc.wait()
    stop.set()
    loader.join()
    assert len(acknowledged) > 5
    with _client(b.url, KEYS[0]) as cb:
        for uid, item in acknowledged:
            got = cb.get(f"/v1/users/{uid}/profile")
            assert got.status_code == 200 and [p["item_id"] for p in got.json()["liked_items"]] == [item]


def test_simultaneous_catalog_writes_through_two_servers_are_all_kept_in_one_linear_log(pair, backends):
    from recassist.foundation.catalog import load_catalog_cached, updates_redis
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.retrieval.index import open_index

    a, b = pair
    ids = [f"race-{i}" for i in range(6)]
    url = backends.env["RECASSIST_REDIS_URL"]
    start = updates_redis.log_version(url)

    def at_once(call) -> list[int]:
        gate = threading.Barrier(len(ids))

        def one(n: int) -> int:
            with _client((a, b)[n % 2].url, KEYS[20]) as c:  # alternate servers, all released together
                gate.wait()
                return call(c, ids[n]).status_code

        with ThreadPoolExecutor(len(ids)) as pool:
            return list(pool.map(one, range(len(ids))))

    titles = ["Harbor Lights", "Copper Canyon", "Silent Orchard", "Paper Lanterns", "Iron Meadow", "Velvet Storm"]
    put = at_once(lambda c, i: c.put(f"/v1/items/{i}", json={"title": titles[ids.index(i)], "year": 1890,
                                                              "genres": ["Drama"], "tags": ["race"]}))
    acknowledged = time.monotonic()
    assert put == [200] * len(ids)
    # Every server serves every one of them within 1 s of the last answer.
    query = {"text": "a drama", "filters": {"year": {"$lte": 1890}}, "k": 10}
    for server in (a, b):
        with _client(server.url, KEYS[20]) as c:
            while {it["item_id"] for it in c.post("/v1/recommendations", json=query).json()["items"]} != set(ids):
                assert time.monotonic() - acknowledged < 1.0, "a simultaneous update did not reach a server in 1 s"
                time.sleep(0.02)
    entries = updates_redis.entries_since(url, start)
    assert [v for v, _ in entries] == list(range(start + 1, start + len(ids) + 1))  # linear, no gaps
    assert sorted(e["item"]["item_id"] for _, e in entries) == ids  # each write once, none lost
    # The index manifest describes the log's latest catalog: a worker starting now opens it as is.
    settings = backends.settings()
    latest = apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings)
    assert set(ids) <= set(latest.item_ids)
    open_index(latest, settings)

    assert at_once(lambda c, i: c.delete(f"/v1/items/{i}")) == [204] * len(ids)
    open_index(apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings), settings)


def test_a_flood_from_one_key_is_refused_while_another_key_is_served(pair):
    a, _ = pair
    flood_key, quiet_key = KEYS[21], KEYS[22]
    flood: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with _client(a.url, flood_key) as c:
            while not stop.is_set():
                flood.append(c.get("/v1/users/nobody-here/profile").status_code)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        while flood.count(429) < 20:  # the flood's bucket is empty
            time.sleep(0.05)
        with _client(a.url, quiet_key) as c:
            quiet = [c.get("/v1/users/nobody-here/profile").status_code for _ in range(20)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert 429 not in quiet and set(quiet) <= {200, 404}, quiet  # served, never limited by the other key's flood
    assert flood.count(429) >= 20 and flood.count(404) <= RATE_PER_MINUTE + 10

"""Redis-backed shared state against a real redis-server: the global rate limit and the catalog-updates log."""

from __future__ import annotations

import subprocess
import sys

import pytest
from real_servers import free_port, redis_server
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.catalog import updates_redis as log
from recassist.foundation.catalog.updates import apply_updates, record_delete, record_upsert
from recassist.foundation.errors import BackendError, ConfigError
from recassist.foundation.settings import Settings
from recassist.ui.api.redis_limiter import RedisRateLimiter, rate_limiter_for
from recassist.ui.api.security import RateLimiter
from recassist.ui.worker import check_scale_out


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


def _catalog() -> Catalog:
    items = [Item(item_id="1", title="Toy Story", year=1995, genres=("Animation",)),
             Item(item_id="2", title="Heat", year=1995, genres=("Crime",))]
    return Catalog("t", {it.item_id: it for it in items})


def test_two_limiters_share_one_budget_per_caller(redis_url):
    first, second = RedisRateLimiter(6, redis_url), RedisRateLimiter(6, redis_url)  # two "workers"
    verdicts = [(first if i % 2 else second).acquire("shared-caller") for i in range(8)]
    assert verdicts[:6] == [None] * 6
    assert all(w is not None and 0 < w <= 10.0 for w in verdicts[6:])  # one token per 10 s
    assert first.acquire("another-caller") is None  # buckets are per caller


def test_limiter_choice_and_an_unreachable_redis(redis_url, tmp_path):
    assert isinstance(rate_limiter_for(Settings(data_dir=tmp_path, redis_url=redis_url)), RedisRateLimiter)
    assert isinstance(rate_limiter_for(Settings(data_dir=tmp_path)), RateLimiter)
    with pytest.raises(BackendError, match="RECASSIST_REDIS_URL"):
        RedisRateLimiter(6, f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="not a Redis URL"):
        RedisRateLimiter(6, "http://nope")


def test_catalog_updates_log_is_versioned_and_replayed(redis_url, tmp_path):
    url = redis_url.rsplit("/", 1)[0] + "/3"  # a database of its own
    settings = Settings(data_dir=tmp_path, redis_url=url)
    base = _catalog()
    start = log.log_version(url)
    record_upsert(settings, Item(item_id="3", title="Arrival", year=2016, genres=("Sci-Fi",)))
    record_delete(settings, "1")
    entries = log.entries_since(url, start)
    assert [v for v, _ in entries] == [start + 1, start + 2]
    replayed = apply_updates(base, settings)
    assert sorted(replayed.item_ids) == ["2", "3"]
    assert not (tmp_path / "catalog_updates.jsonl").exists()  # Redis, not the data dir, holds the log
    assert log.apply_entry(replayed, entries[0][1]) is replayed  # re-applying is a no-op


def test_several_workers_on_embedded_stores_is_a_clear_message(tmp_path):
    with pytest.raises(ConfigError) as info:
        check_scale_out(Settings(data_dir=tmp_path), 2)
    for name in ("RECASSIST_DATABASE_URL", "RECASSIST_REDIS_URL", "RECASSIST_CHROMA_URL", "docs/deployment.md"):
        assert name in str(info.value)
    check_scale_out(Settings(data_dir=tmp_path), 1)  # one worker on embedded stores: as always
    done = subprocess.run([sys.executable, "-m", "recassist.cli", "serve", "--workers", "2", "--port", "0"],
                          capture_output=True, text=True, env={"RECASSIST_DATA_DIR": str(tmp_path),
                                                               "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode != 0
    assert "RECASSIST_DATABASE_URL" in done.stderr + done.stdout


def test_the_async_limiter_shares_the_budget_and_leaves_the_event_loop_free(redis_url):
    import asyncio
    import time

    import redis

    limiter = RedisRateLimiter(6, redis_url)

    async def scenario():
        assert [await limiter.acquire_async("async-caller") for _ in range(6)] == [None] * 6
        assert limiter.acquire("async-caller") is not None  # the sync path sees the same bucket
        # Redis stalls for 0.4 s: the limiter's call waits, and the loop keeps running other work meanwhile.
        redis.Redis.from_url(redis_url).execute_command("CLIENT", "PAUSE", "400", "ALL")
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.create_task(ticker())
        t0 = time.perf_counter()
        assert await limiter.acquire_async("paused-caller") is None
        waited = time.perf_counter() - t0
        tick.cancel()
        return waited, ticks

    waited, ticks = asyncio.run(scenario())
    assert waited >= 0.3
    assert ticks >= 10, ticks  # a blocking call would have frozen the ticker for the whole pause


def test_the_catalog_write_lock_admits_one_worker_at_a_time(redis_url):
    import threading
    import time

    url = redis_url.rsplit("/", 1)[0] + "/4"
    held, order = threading.Event(), []

    def first():
        with log.write_lock(url):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    held.wait(10)
    with pytest.raises(BackendError, match="another worker has been writing the catalog"):
        with log.write_lock(url, wait_s=0.1):
            pass
    with log.write_lock(url, wait_s=10):
        order.append("second in")
    t.join()
    assert order == ["first done", "second in"]
    # A holder that died frees the lock after its timeout.
    log.client(url).set(log.WRITE_LOCK_KEY, "a dead worker's token", px=300)
    with log.write_lock(url, wait_s=5):
        pass


def test_each_catalog_has_its_own_shared_log_and_an_older_file_log_is_replayed_first(redis_url, tmp_path):
    url = redis_url.rsplit("/", 1)[0] + "/4"  # a database of its own
    (tmp_path / "catalog_updates-books.jsonl").write_text(  # written by a worker before Redis was configured
        '{"op": "upsert", "item": {"item_id": "9", "title": "Dune"}}\n', encoding="utf-8")
    settings = Settings(data_dir=tmp_path, redis_url=url)
    films_before = log.log_version(url)
    version = record_upsert(settings, Item(item_id="10", title="Emma", year=1815), "books")
    record_delete(settings, "9", "books")
    assert version == 1 and log.log_version(url, "books") == 2
    assert log.log_version(url) == films_before  # the films' log is untouched
    assert [e["op"] for _, e in log.entries_since(url, 0, "books")] == ["upsert", "delete"]
    books = Catalog("b", {"1": Item(item_id="1", title="Heat")}, domain="books")
    assert sorted(apply_updates(books, settings, "books").item_ids) == ["1", "10"]  # file (+9), then Redis (+10, -9)
    assert len((tmp_path / "catalog_updates-books.jsonl").read_text().splitlines()) == 1  # nothing more in the file

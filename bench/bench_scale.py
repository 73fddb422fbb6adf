"""Scale-out benchmark: `POST /v1/recommendations` on embedded stores vs PostgreSQL + Redis + a Chroma server.

    python bench/bench_scale.py                     # needs a prepared data dir (`recassist demo` once)
    python bench/bench_scale.py --data-dir /path/to/.recassist --duration 30

One run, one table, rows measured side by side on the same machine:
- embedded: `recassist serve` on SQLite + embedded Chroma, one process (today's default);
- scale-out: `recassist serve --workers 1` and `--workers 2` on PostgreSQL (a fresh cluster),
  Redis (rate limiter on, shared) and a Chroma server (`chroma run`) over a copy of the data dir's index;
each at concurrency 8 and 32 (closed loop, LLM steps excluded: `--no-llm`, `explain: false`, the
request mix of bench_api.py). Every row starts with an empty profile store.

Columns: requests/s and p50 / p95 latency of successful requests; CPU ms per request of the API
processes (the server and its workers) and of the backends (PostgreSQL, Redis, Chroma server),
from /proc over the measured phase. CPU ms per request is what a bigger machine multiplies: with
2 cores, a second worker mostly adds overhead, while on N cores the req/s of N workers approaches
N x 1000 / (API CPU ms per request) until the backends saturate. The rate limit is on (10^6 a minute,
never reached) so its cost is counted: in process for embedded, one Redis round trip for scale-out.
PostgreSQL runs with fsync off (a benchmark cluster), which flatters its write cost.

Then, on the same servers, two separate `recassist serve` processes (API keys, a rate limit of
--flood-limit a minute per key):
- catalog updates: --updates one-item `PUT /v1/items` through alternating servers; for each, how long
  after the PUT's answer the other server first served the item, and each server's own wall and CPU
  time of its catalog swap (from `/readyz`: the writer swaps inside the PUT, the other in its follower);
- rate-limit isolation: a quiet key's latency alone and while another key floods the same server
  (the flood gets 429s; the quiet key must keep being served).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from bench_api import bodies, closed_loop, percentile, server  # noqa: E402
from real_servers import PIDS, chroma_server, create_database, postgres_server, redis_server  # noqa: E402


def tree_cpu_s(root_pid: int) -> float:
    """User + system CPU seconds of `root_pid` and all its live descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(p for p, parent in parents.items() if parent == pid)
    return total


async def measure(url: str, concurrency: int, duration_s: float, warmup: int, api_pid: int,
                  backend_pids: list[int]) -> dict:
    """Closed-loop load; latencies (ms) of successful requests, CPU ms per request of API and backends."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    cpu: list[tuple[float, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        warm = bodies(seed=-1)
        await asyncio.gather(*(client.post("/v1/recommendations", json=next(warm)) for _ in range(warmup)))
        latencies, errors, elapsed = await closed_loop(
            client, [1000 * concurrency + i for i in range(concurrency)], duration_s,
            lambda start: cpu.append((tree_cpu_s(api_pid), sum(tree_cpu_s(p) for p in backend_pids))))
    (api0, back0), (api1, back1) = cpu
    n = max(1, len(latencies))
    return {"rps": len(latencies) / elapsed, "p50": percentile(latencies or [0.0], 50),
            "p95": percentile(latencies or [0.0], 95), "api_cpu": (api1 - api0) * 1000 / n,
            "backend_cpu": (back1 - back0) * 1000 / n if backend_pids else 0.0, "requests": len(latencies),
            "errors": errors}


def copy_data_dir(src: Path, dst: Path) -> Path:
    if not (src / "chroma").is_dir() or not (src / "models").is_dir():
        raise SystemExit(f"{src} is not a prepared data dir: run `recassist demo` once first (or pass --data-dir)")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("recassist.sqlite3*", "catalog_updates.jsonl"))
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("RECASSIST_DATA_DIR", ROOT / ".recassist")))
    ap.add_argument("--duration", type=float, default=20.0, help="seconds measured per row (default 20)")
    ap.add_argument("--warmup", type=int, default=32, help="requests before each measured phase")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="scale-out worker counts")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a server may take to get ready")
    ap.add_argument("--updates", type=int, default=6,
                    help="one-item catalog updates through one of two servers, timed until the other serves them")
    ap.add_argument("--flood-duration", type=float, default=15.0,
                    help="seconds a quiet key is measured alone and again while another key floods (0: skip)")
    ap.add_argument("--flood-limit", type=int, default=600, help="rate limit per key a minute in that phase")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="recassist-bench-scale-"))
    base_env = {**os.environ, "RECASSIST_API_RATE_LIMIT_PER_MINUTE": "1000000"}
    for k in ("RECASSIST_DATABASE_URL", "RECASSIST_REDIS_URL", "RECASSIST_CHROMA_URL"):
        base_env.pop(k, None)
    rows = []
    fanout: list[dict] = []
    flood: dict = {}
    print(f"machine: {os.cpu_count()} cores; client, API workers and backends on the same machine, over loopback;"
          f" {args.duration:g} s per row", flush=True)
    try:
        embedded = copy_data_dir(args.data_dir, tmp / "embedded")
        env = {**base_env, "RECASSIST_DATA_DIR": str(embedded)}
        with server(["serve", "--no-ui", "--no-llm"], env, args.timeout) as (url, _, pid):
            for c in args.concurrency:
                rows.append(("embedded (SQLite, Chroma in process)", 1, c,
                             asyncio.run(measure(url, c, args.duration, args.warmup, pid, []))))
                print(_row(rows[-1]), flush=True)

        scale = copy_data_dir(args.data_dir, tmp / "scale")
        with ExitStack() as stack:
            pg = stack.enter_context(postgres_server())
            db = create_database(pg, "recassist")
            redis_url = stack.enter_context(redis_server())
            chroma_url = stack.enter_context(chroma_server(scale / "chroma"))
            backend_pids = [PIDS[pg], PIDS[redis_url], PIDS[chroma_url]]
            env = {**base_env, "RECASSIST_DATA_DIR": str(scale), "RECASSIST_DATABASE_URL": db,
                   "RECASSIST_REDIS_URL": redis_url, "RECASSIST_CHROMA_URL": chroma_url}
            for w in args.workers:
                _empty_store(db)
                with server(["serve", "--no-ui", "--no-llm", "--workers", str(w)], env, args.timeout) as (url, _, pid):
                    _wait_for_workers(pid)
                    for c in args.concurrency:
                        rows.append(("PostgreSQL + Redis + Chroma server", w, c,
                                     asyncio.run(measure(url, c, args.duration, args.warmup, pid, backend_pids))))
                        print(_row(rows[-1]), flush=True)
            if args.updates or args.flood_duration:
                _empty_store(db)
                keyed = {**env, "RECASSIST_API_KEYS": ",".join(BENCH_KEYS),
                         "RECASSIST_API_RATE_LIMIT_PER_MINUTE": str(args.flood_limit)}
                serve = ["serve", "--no-ui", "--no-llm"]
                with server(serve, keyed, args.timeout) as (url_a, _, _), \
                        server(serve, keyed, args.timeout) as (url_b, _, _):
                    if args.updates:
                        fanout = catalog_fanout(url_a, url_b, args.updates)
                        print(_fanout_table(fanout), flush=True)
                    if args.flood_duration:
                        flood = asyncio.run(limiter_isolation(url_a, args.flood_duration))
                        print(_flood_table(flood, args.flood_limit), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(_header())
    for row in rows:
        print(_row(row))
    if fanout:
        print()
        print(_fanout_table(fanout))
    if flood:
        print()
        print(_flood_table(flood, args.flood_limit))
    return 0


BENCH_KEYS = ["bench-admin", "bench-quiet", "bench-flood"]


def catalog_fanout(url_a: str, url_b: str, n: int) -> list[dict]:
    """`n` one-item `PUT /v1/items` on alternating servers; for each: the PUT's latency, when the other server
    first served the item (polled every 10 ms), and each server's own timing of its catalog swap."""
    out = []
    auth = {"Authorization": f"Bearer {BENCH_KEYS[0]}"}
    with httpx.Client(timeout=120, headers=auth) as client:
        catalog_items = client.get(f"{url_a}/readyz").json()["items"]
        for i in range(n):
            writer, other = (url_a, url_b) if i % 2 == 0 else (url_b, url_a)
            item_id, year = f"bench-new-{i}", 2040 + i  # a year only this item has
            body = {"title": f"Bench Voyage {i}", "year": year, "genres": ["Sci-Fi"], "tags": ["space"],
                    "description": "A crew crosses the galaxy."}
            query = {"text": "space voyage", "filters": {"year": {"$gte": year, "$lte": year}}, "k": 3}
            t0 = time.perf_counter()
            r = client.put(f"{writer}/v1/items/{item_id}", json=body)
            acked = time.perf_counter()
            r.raise_for_status()
            served = None
            while time.perf_counter() - acked < 30:
                got = client.post(f"{other}/v1/recommendations", json=query).json()["items"]
                if [it["item_id"] for it in got] == [item_id]:
                    served = time.perf_counter() - acked
                    break
                time.sleep(0.01)
            w = client.get(f"{writer}/readyz").json()["catalog_swap"]
            f = client.get(f"{other}/readyz").json()["catalog_swap"]
            out.append({"items": catalog_items, "put_ms": (acked - t0) * 1000,
                        "served_ms": None if served is None else served * 1000,
                        "writer_wall": w["wall_ms"], "writer_cpu": w["cpu_ms"], "follower_wall": f["wall_ms"],
                        "follower_cpu": f["cpu_ms"]})
        for i in range(n):
            client.delete(f"{(url_a, url_b)[i % 2]}/v1/items/bench-new-{i}")
    return out


async def limiter_isolation(url: str, duration_s: float, flood_connections: int = 8, quiet_rate: float = 4.0
                            ) -> dict:
    """One key sends recommendations at `quiet_rate` a second, alone and then while another key floods the
    same server with as many requests as `flood_connections` connections carry. -> latencies and statuses."""

    async def quiet(client: httpx.AsyncClient) -> tuple[list[float], dict]:
        latencies, statuses = [], {}
        stream = bodies(seed=77)
        end = time.perf_counter() + duration_s
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            r = await client.post("/v1/recommendations", json=next(stream))
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(max(0.0, 1 / quiet_rate - (time.perf_counter() - t0)))
        return latencies, statuses

    async def flood(client: httpx.AsyncClient, stop: asyncio.Event, statuses: dict) -> None:
        while not stop.is_set():
            r = await client.get("/v1/users/bench-flooder/profile")
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    def client(key: str, connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers={"Authorization": f"Bearer {key}"})

    async with client(BENCH_KEYS[1], 1) as q, client(BENCH_KEYS[2], flood_connections) as fl:
        alone = await quiet(q)
        stop, flood_statuses = asyncio.Event(), {}
        floods = [asyncio.create_task(flood(fl, stop, flood_statuses)) for _ in range(flood_connections)]
        t0 = time.perf_counter()
        during = await quiet(q)
        stop.set()
        await asyncio.gather(*floods)
        flood_s = time.perf_counter() - t0
    return {"alone": alone, "during": during, "flood": flood_statuses, "flood_s": flood_s}


def _fanout_table(rows: list[dict]) -> str:
    lines = [f"catalog update through one server, served by the other ({rows[0]['items']:,}-item catalog, Redis "
             "pub/sub; ms):",
             f"{'update':>6} {'PUT':>8} {'served by other':>16} {'writer swap wall':>17} {'cpu':>7} "
             f"{'follower swap wall':>19} {'cpu':>7}"]
    for i, r in enumerate(rows):
        served = "not seen" if r["served_ms"] is None else f"{r['served_ms']:.0f}"
        lines.append(f"{i + 1:>6} {r['put_ms']:>8.0f} {served:>16} {r['writer_wall']:>17.0f} {r['writer_cpu']:>7.0f} "
                     f"{r['follower_wall']:>19.0f} {r['follower_cpu']:>7.0f}")
    return "\n".join(lines)


def _flood_table(r: dict, limit: int) -> str:
    def stats(part: tuple[list[float], dict]) -> str:
        lat, statuses = part
        p50, p95 = percentile(lat or [0.0], 50), percentile(lat or [0.0], 95)
        return f"{len(lat):>4} ok  p50 {p50:>7.1f} ms  p95 {p95:>7.1f} ms  statuses {dict(sorted(statuses.items()))}"

    flood = r["flood"]
    return "\n".join([
        f"rate limit {limit}/min per key (Redis), one server; a quiet key at 4 requests/s (POST /v1/recommendations):",
        f"  quiet key alone:          {stats(r['alone'])}",
        f"  quiet key during a flood: {stats(r['during'])}",
        f"  flooding key: {sum(flood.values())} requests in {r['flood_s']:.1f} s "
        f"({sum(flood.values()) / r['flood_s']:.0f}/s), statuses {dict(sorted(flood.items()))}",
    ])


def _empty_store(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        if con.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()[0]:
            con.execute("TRUNCATE users CASCADE")


def _wait_for_workers(pid: int) -> None:
    """The banner comes when one worker answers; the others may still be loading. Wait until the
    server's processes sit idle (under 50 ms of CPU a second, 3 s running): every worker has loaded."""
    quiet, last = 0, tree_cpu_s(pid)
    deadline = time.monotonic() + 600
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(1.0)
        now = tree_cpu_s(pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


def _header() -> str:
    return (f"{'setup':<38} {'workers':>7} {'conc':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'API CPU ms/req':>15} {'backends CPU ms/req':>20} {'requests':>9}  errors")


def _row(row) -> str:
    setup, w, c, r = row
    return (f"{setup:<38} {w:>7} {c:>5} {r['rps']:>7.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} "
            f"{r['api_cpu']:>15.1f} {r['backend_cpu']:>20.1f} {r['requests']:>9}  {r['errors'] or '-'}")


if __name__ == "__main__":
    sys.exit(main())

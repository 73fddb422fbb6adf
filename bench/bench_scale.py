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

from bench_api import bodies, percentile, server  # noqa: E402
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
    latencies: list[float] = []
    errors: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        warm = bodies(seed=-1)
        await asyncio.gather(*(client.post("/v1/recommendations", json=next(warm)) for _ in range(warmup)))
        stop_at = time.perf_counter() + duration_s

        async def worker(seed: int) -> None:
            for body in bodies(seed):
                if time.perf_counter() >= stop_at:
                    return
                t0 = time.perf_counter()
                r = await client.post("/v1/recommendations", json=body)
                if r.status_code == 200:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1

        api0, back0 = tree_cpu_s(api_pid), sum(tree_cpu_s(p) for p in backend_pids)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(1000 * concurrency + i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
        api1, back1 = tree_cpu_s(api_pid), sum(tree_cpu_s(p) for p in backend_pids)
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
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="recassist-bench-scale-"))
    base_env = {**os.environ, "RECASSIST_API_RATE_LIMIT_PER_MINUTE": "1000000"}
    for k in ("RECASSIST_DATABASE_URL", "RECASSIST_REDIS_URL", "RECASSIST_CHROMA_URL"):
        base_env.pop(k, None)
    rows = []
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(_header())
    for row in rows:
        print(_row(row))
    return 0


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

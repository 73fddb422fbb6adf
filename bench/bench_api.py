"""HTTP API benchmark over loopback, against a real `recassist serve` process.

    recassist demo                      # once: prepares .recassist (index, trained ranker); Ctrl+C when ready
    python bench/bench_api.py           # load test + explanations (starts `recassist serve` itself)
    python bench/bench_api.py --url http://127.0.0.1:7860 --skip-explain   # a server you started
    python bench/bench_api.py --demo-ready                                  # also time `recassist demo`

Measures:
- `POST /v1/recommendations` with `explain: false` and LLM steps excluded (server `--no-llm`: text read by
  the rules, template reasons) at concurrency 8 (closed loop: each worker sends its
  next request when the previous answer arrives): requests per second, p50 / p95 latency.
  Targets on 2 cores: >= 50 RPS, p95 <= 150 ms. Requests mix a text only, a stored user only, and both.
  Texts are generated per request from templates over the catalog's popular titles and its genres, so
  (almost) every text is new to the server: the server remembers query embeddings of texts it has seen,
  and a handful of fixed texts would measure that memory instead of the work a new text costs.
- with the embedded LLM (extraction, then `explain: true`: the LLM writes each reason), k=5, one request
  at a time: p50 / p95.
- with --demo-ready: `recassist demo` time to ready (the banner printed once the server accepts requests),
  on a fresh data dir (index build and ranker training included) and again on that now-warm dir.

The server runs in its own process with the rate limit off (RECASSIST_API_RATE_LIMIT_PER_MINUTE=0);
client and server share the machine's cores, as they would on one box. It serves a copy of the
prepared data dir (index, vectors, ranker) with an empty profile store: the 50 bench users' profiles
are built by the run's own requests, so runs start alike (reusing the store let profiles grow from
run to run) and the prepared data dir is never written to.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # process helpers shared with the tests' real servers

from processes import stop_process  # noqa: E402

TEMPLATES = [
    "I loved {title} and {title2}, something {mood}",
    "a {mood} {genre} movie for {occasion}",
    "{genre} films like {title}, nothing before {year}",
    "I want a {genre} set in {place}",
    "{title} and {title2} blew my mind, more {mood} {genre} please",
    "something {mood} but not {avoid}, maybe {genre}",
    "classic {genre} from the {decade}s, like {title}",
    "{mood} {genre} movies about {topic}",
]
WORDS = {
    "mood": ["thoughtful", "funny", "scary", "feel-good", "dark", "romantic", "mind-bending", "uplifting", "tense",
             "quiet", "weird", "epic"],
    "occasion": ["the whole family", "a rainy evening", "date night", "a long flight", "kids", "a party"],
    "place": ["Paris", "New York", "space", "Tokyo", "the desert", "a small town", "London", "the sea"],
    "avoid": ["gory", "too long", "depressing", "violent", "slow", "silly"],
    "topic": ["friendship", "revenge", "growing up", "time travel", "heists", "music", "family", "war"],
    "year": [str(y) for y in range(1960, 2011, 5)],
    "decade": [str(d) for d in range(1940, 2010, 10)],
}
POPULAR_TITLES = 400  # people name well-known films; the long tail rarely comes up in a request
READY = re.compile(r"HTTP API:\s+(http://\S+)/v1")


class TextMaker:
    """Request texts from `TEMPLATES`, filled with the catalog's popular titles, its genres and `WORDS`."""

    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from recassist.foundation.catalog import load_catalog_cached
        from recassist.foundation.settings import Settings

        catalog = load_catalog_cached(str(Settings().catalog_dir))  # the server's catalog (same environment)
        popular = sorted(catalog.items, key=lambda i: -catalog.popularity.get(i, 0))[:POPULAR_TITLES]
        self.titles = [catalog.items[i].title for i in popular]
        # Words people use: not "(no genres listed)", not the "IMAX" format.
        self.genres = [g.lower() for g in catalog.genres if g.replace("-", "").isalpha() and not g.isupper()]

    def __call__(self, rng: random.Random) -> str:
        title, title2 = rng.sample(self.titles, 2)
        words = {k: rng.choice(v) for k, v in WORDS.items()}
        return rng.choice(TEMPLATES).format(title=title, title2=title2, genre=rng.choice(self.genres), **words)


_texts: TextMaker | None = None


def make_text(rng: random.Random) -> str:
    """One request text (the catalog is read on the first call)."""
    global _texts
    if _texts is None:
        _texts = TextMaker()
    return _texts(rng)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def bodies(seed: int) -> Iterator[dict]:
    """An endless mix of request bodies: text only, stored user only, user plus text."""
    rng = random.Random(seed)
    while True:
        kind = rng.random()
        text = make_text(rng)
        user = f"bench-{rng.randrange(50)}"
        if kind < 0.5:
            yield {"text": text, "k": 10, "explain": False}
        elif kind < 0.75:
            yield {"user_id": user, "k": 10, "explain": False}
        else:
            yield {"user_id": user, "text": text, "k": 10, "explain": False}


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def closed_loop(client: httpx.AsyncClient, seeds: list[int], duration_s: float,
                      on_phase: Callable[[bool], None] = lambda start: None) -> tuple[list[float], dict, float]:
    """One closed-loop worker per seed on /v1/recommendations (each sends its next request when the
    previous answer arrives) for `duration_s` -> (latencies in ms of successful requests, error counts by
    status, seconds elapsed). `on_phase(True)` / `on_phase(False)` run right before and after the phase."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
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

    on_phase(True)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(seed) for seed in seeds))
    elapsed = time.perf_counter() - t0
    on_phase(False)
    return latencies, errors, elapsed


async def load(url: str, concurrency: int, duration_s: float, warmup: int, server_pid: int | None = None) -> dict:
    """Closed-loop load on /v1/recommendations; latencies in ms of successful requests only.

    With `server_pid`, also the server's CPU ms per request over the measured phase: unlike the
    latencies, that number holds up when other work shares the machine.
    """
    cpu: list[float | None] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        warm = bodies(seed=-1)
        for _ in range(warmup):  # model caches, thread pools, connections
            await client.post("/v1/recommendations", json=next(warm))
        latencies, errors, elapsed = await closed_loop(
            client, list(range(concurrency)), duration_s,
            lambda start: cpu.append(process_cpu_s(server_pid) if server_pid else None))
    cpu0, cpu1 = cpu
    server_cpu_ms = (cpu1 - cpu0) * 1000 / max(1, len(latencies)) if cpu0 is not None and cpu1 is not None else None
    return {
        "server_cpu_ms": server_cpu_ms,
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def explained(url: str, n: int) -> dict:
    """`n` sequential requests with LLM explanations; latencies in seconds and the share the LLM wrote."""
    latencies, sources = [], []
    rng = random.Random(1)
    with httpx.Client(base_url=url, timeout=600) as client:
        for _ in range(n):
            body = {"text": make_text(rng), "k": 5, "explain": True}
            t0 = time.perf_counter()
            r = client.post("/v1/recommendations", json=body)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)
            sources += [it["explanation_source"] for it in r.json()["items"]]
    llm_share = sources.count("llm") / len(sources) if sources else 0.0
    return {
        "requests": n,
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "mean_s": statistics.mean(latencies),
        "llm_share": llm_share,
    }


@contextmanager
def fresh_store_copy(data_dir: Path) -> Iterator[Path]:
    """A temporary copy of `data_dir` without its profile store (SQLite files); removed afterwards."""
    if not (data_dir / "chroma").is_dir():
        raise SystemExit(f"{data_dir} is not a prepared data dir: run `recassist demo` once first")
    tmp = Path(tempfile.mkdtemp(prefix="recassist-bench-"))
    try:
        shutil.copytree(data_dir, tmp / "data", ignore=shutil.ignore_patterns("recassist.sqlite3*"))
        yield tmp / "data"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def server(args: list[str], env: dict[str, str], timeout_s: float) -> Iterator[tuple[str, float, int]]:
    """Run `recassist ARGS --port 0`; yields (base URL, seconds until its ready banner, pid), then stops it."""
    cmd = [sys.executable, "-m", "recassist.cli", *args, "--port", "0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, tail = None, []
        deadline = t0 + timeout_s
        assert proc.stdout is not None
        for line in proc.stdout:  # progress bars and the banner
            tail = (tail + [line.rstrip()])[-20:]
            if m := READY.search(line):
                url = m.group(1)
                break
            if time.perf_counter() > deadline:
                break
        ready_s = time.perf_counter() - t0
        if url is None:
            raise RuntimeError(f"`{' '.join(cmd)}` did not get ready; last output:\n" + "\n".join(tail))
        # Keep draining its output so the server never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield url, ready_s, proc.pid
    finally:
        stop_process(proc)


def demo_ready(env: dict[str, str], timeout_s: float, keep: bool) -> dict:
    """Time `recassist demo` to ready on a fresh data dir, then on the same (now warm) dir."""
    data_dir = Path(tempfile.mkdtemp(prefix="recassist-demo-bench-"))
    env = {**env, "RECASSIST_DATA_DIR": str(data_dir)}
    try:
        out = {}
        for label in ("fresh", "warm"):
            with server(["demo"], env, timeout_s) as (url, ready_s, _):
                assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200
                out[label] = ready_s
        return out
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", help="an already running server (default: start `recassist serve` on a free port)")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    p.add_argument("--warmup", type=int, default=20, help="requests before measuring (default 20)")
    p.add_argument("--explain-requests", type=int, default=10, help="requests with LLM reasons (default 10)")
    p.add_argument("--skip-explain", action="store_true")
    p.add_argument("--demo-ready", action="store_true", help="also time `recassist demo`, fresh and warm")
    p.add_argument("--demo-timeout", type=float, default=3600.0, help="seconds to wait for a fresh demo")
    p.add_argument("--keep-demo-dir", action="store_true", help="keep the fresh demo data dir")
    args = p.parse_args()

    env = {**os.environ, "RECASSIST_API_RATE_LIMIT_PER_MINUTE": "0", "PYTHONUNBUFFERED": "1"}
    # A SIGTERM (e.g. from `timeout`) must still stop the server we started: run the `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"machine: {os.cpu_count()} cores; server and client on the same machine, over loopback")
    if args.url:
        run_load(args.url.rstrip("/"), args)
        if not args.skip_explain:
            run_explained(args.url.rstrip("/"), args)
    else:
        # LLM steps excluded for throughput (text read by the rules, template reasons), as DESIGN asks;
        # the embedded LLM on a second server for the explained requests.
        sys.path.insert(0, str(ROOT))
        from recassist.foundation.settings import Settings

        source = Path(env.get("RECASSIST_DATA_DIR") or Settings().data_dir)
        source = source if source.is_absolute() else ROOT / source  # the server runs in ROOT
        with fresh_store_copy(source) as data_dir:
            served = {**env, "RECASSIST_DATA_DIR": str(data_dir)}
            with server(["serve", "--no-ui", "--no-llm"], served, timeout_s=600) as (url, ready_s, pid):
                print(f"`recassist serve --no-ui --no-llm` ready in {ready_s:.1f} s")
                run_load(url, args, server_pid=pid)
        if not args.skip_explain:
            with fresh_store_copy(source) as data_dir:
                served = {**env, "RECASSIST_DATA_DIR": str(data_dir)}
                with server(["serve", "--no-ui"], served, timeout_s=600) as (url, ready_s, _):
                    print(f"`recassist serve --no-ui` (embedded LLM) ready in {ready_s:.1f} s")
                    run_explained(url, args)
    if args.demo_ready:
        times = demo_ready(env, args.demo_timeout, args.keep_demo_dir)
        print(f"`recassist demo` time to ready: fresh data dir {times['fresh']:.1f} s, warm {times['warm']:.1f} s")
    return 0


def run_load(url: str, args: argparse.Namespace, server_pid: int | None = None) -> None:
    r = asyncio.run(load(url, args.concurrency, args.duration, args.warmup, server_pid))
    errors = f", errors {r['errors']}" if r["errors"] else ""
    cpu = f"; server CPU {r['server_cpu_ms']:.1f} ms/request" if r["server_cpu_ms"] is not None else ""
    print(
        f"POST /v1/recommendations explain=false k=10, concurrency {args.concurrency}, {r['seconds']:.0f} s: "
        f"{r['rps']:.1f} req/s ({r['requests']} requests), p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms"
        f"{errors}{cpu}   [targets: >= 50 req/s, p95 <= 150 ms]"
    )


def run_explained(url: str, args: argparse.Namespace) -> None:
    e = explained(url, args.explain_requests)
    print(
        f"POST /v1/recommendations explain=true k=5 (embedded LLM: extraction + 5 reasons), one at a time, "
        f"{e['requests']} requests: p50 {e['p50_s']:.1f} s, p95 {e['p95_s']:.1f} s; reasons written by the LLM "
        f"{e['llm_share']:.0%} (the rest: checker fallback to the evidence template)"
    )


if __name__ == "__main__":
    raise SystemExit(main())

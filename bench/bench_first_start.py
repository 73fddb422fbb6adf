"""A newcomer's first minutes, measured: `recassist demo` on an empty data dir, then warm.

    python bench/bench_first_start.py                 # the whole run (waits for the full model)
    python bench/bench_first_start.py --full-timeout 0   # ready time, load and warm start only

Steps, each against a real `recassist demo` process on a free port:
1. fresh start on an empty temporary data dir: seconds to the ready banner, what `/readyz` says serves;
2. `POST /v1/recommendations` (explain=false, k=10) at concurrency 8 while the full ranker trains in the
   background: p50 / p95 and the server's CPU ms per request (bench_api's closed-loop load);
3. seconds from start until `/readyz` reports the full model serving, and its validation NDCG@10;
4. the same load once training is over (idle machine apart from the bench): p50 / p95;
5. warm start on the same data dir: seconds to the ready banner.
Targets on 2 cores: ready <= 120 s fresh and <= 10 s warm; p95 during training <= 2 x idle p95.
Client and server share the machine's cores; CPU seconds are printed beside wall times because other
work on a busy machine stretches the wall times, not the CPU times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import load, process_cpu_s, server  # noqa: E402


def readyz(url: str) -> dict:
    return httpx.get(f"{url}/readyz", timeout=30).json()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llm", action="store_true",
                   help="start the demo with the embedded LLM (default --no-llm, as bench_api's load test: with it, "
                        "every request with text runs LLM extraction, ~1 s of CPU)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of each load phase (default 20)")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--ready-timeout", type=float, default=1800.0, help="seconds to wait for the banner")
    p.add_argument("--full-timeout", type=float, default=3600.0,
                   help="seconds to wait for the full model (0: skip steps 3-4)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="recassist-first-start-"))
    env = {**os.environ, "RECASSIST_DATA_DIR": str(data_dir), "RECASSIST_API_RATE_LIMIT_PER_MINUTE": "0",
           "TQDM_DISABLE": "1"}
    demo = ["demo", *([] if args.llm else ["--no-llm"])]
    rows: list[tuple[str, str]] = []
    try:
        started = time.perf_counter()
        with server(demo, env, args.ready_timeout) as (url, fresh_s, pid):
            cpu = process_cpu_s(pid)
            first = readyz(url)
            rows.append(("fresh start: ready banner", f"{fresh_s:.1f} s (server CPU {cpu:.1f} s)"))
            rows.append(("  serving at ready", _ranker(first["ranker"])))
            rows.append(("  background training", first["training"].get("state", "?")))
            r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
            during = readyz(url)["training"].get("state")
            rows.append((f"API c={args.concurrency} while training ({during} at end)", _load(r)))
            if args.full_timeout > 0:
                deadline = time.perf_counter() + args.full_timeout
                state = readyz(url)
                while state["ranker"].get("kind") != "full" and time.perf_counter() < deadline:
                    if state["training"].get("state") == "failed":
                        break
                    time.sleep(5)
                    state = readyz(url)
                if state["ranker"].get("kind") == "full":
                    rows.append(("full model serving", f"{time.perf_counter() - started:.0f} s after start; "
                                 + _ranker(state["ranker"])))
                    time.sleep(3)  # the trainer process exits after its last write
                    r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
                    rows.append((f"API c={args.concurrency} idle (full model)", _load(r)))
                else:
                    rows.append(("full model serving", f"not within {args.full_timeout:.0f} s: "
                                 + str(state["training"])))
        with server(demo, env, args.ready_timeout) as (url, warm_s, pid):
            rows.append(("warm start: ready banner", f"{warm_s:.1f} s (server CPU {process_cpu_s(pid):.1f} s); "
                         + _ranker(readyz(url)["ranker"])))
    finally:
        _stop_trainer(data_dir)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    width = max(len(k) for k, _ in rows)
    print(f"\n{'step'.ljust(width)} | result")
    print(f"{'-' * width}-|-------")
    for k, v in rows:
        print(f"{k.ljust(width)} | {v}")
    return 0


def _stop_trainer(data_dir: Path) -> None:
    """A server stopped hard leaves its background trainer running (by design: it finishes its work);
    the bench's temporary data dir is going away, so stop it (pid from its status file)."""
    import json
    import signal

    try:
        pid = int(json.loads((data_dir / "models" / "training.json").read_text())["pid"])
        if b"conversation.background" in Path(f"/proc/{pid}/cmdline").read_bytes():  # that trainer, still running
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        pass


def _ranker(r: dict) -> str:
    ndcg = r.get("valid_ndcg")
    return f"{r.get('kind', '?')} ranker {r.get('name', '?')}" + (
        f", validation NDCG@10 {ndcg:.4f}" if ndcg is not None else "")


def _load(r: dict) -> str:
    cpu = f", server CPU {r['server_cpu_ms']:.1f} ms/request" if r["server_cpu_ms"] is not None else ""
    errors = f", errors {r['errors']}" if r["errors"] else ""
    return f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, {r['rps']:.1f} req/s{cpu}{errors}"


if __name__ == "__main__":
    raise SystemExit(main())

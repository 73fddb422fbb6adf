"""A newcomer's first minutes, measured: `recassist demo` on an empty data dir, then warm.

    python bench/bench_first_start.py                    # the whole run (waits for the full model)
    python bench/bench_first_start.py --full-timeout 0   # ready time, load and warm start only
    python bench/bench_first_start.py --reference PATH   # also: validation NDCG@10 of a `recassist train` checkpoint
    python bench/bench_first_start.py --train-reference  # also: run `recassist train` afterwards (~as long again)

Steps, each against a real `recassist demo` process on a free port:
1. fresh start on an empty temporary data dir: seconds to the ready banner, what `/readyz` says serves;
2. `POST /v1/recommendations` (explain=false, k=10) at concurrency 8 while the full ranker trains in the
   background: p50 / p95 and the server's CPU ms per request (bench_api's closed-loop load);
3. seconds from start until `/readyz` reports the conversation-trained layer serving (trained first, about a
   minute), then the full model serving, and its validation NDCG@10, then the layer retrained on every
   conversation with the full ranker's scores (the same load while it trains);
4. the same load once training is over (idle machine apart from the bench): p50 / p95;
5. warm start on the same data dir: seconds to the ready banner;
6. the served full model's validation NDCG@10 (as recorded, and recomputed here on the validation split)
   next to that of `recassist train`'s checkpoint, computed the same way (no quality lost for speed).
Targets on 2 cores: ready <= 120 s fresh and <= 10 s warm; p95 during training <= 2 x idle p95.
Each row carries the machine's 1-minute load average: on a shared machine it says how far wall times
are stretched.
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
    p.add_argument("--reference", type=Path,
                   help="a ranker.pt written by `recassist train` on the same catalog: its validation NDCG@10 "
                        "is printed next to the served model's")
    p.add_argument("--train-reference", action="store_true",
                   help="run `recassist train` on a second empty data dir after the rest and compare with it")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="recassist-first-start-"))
    env = {**os.environ, "RECASSIST_DATA_DIR": str(data_dir), "RECASSIST_API_RATE_LIMIT_PER_MINUTE": "0",
           "TQDM_DISABLE": "1"}
    demo = ["demo", *([] if args.llm else ["--no-llm"])]
    rows = Rows()
    try:
        started = time.perf_counter()
        with server(demo, env, args.ready_timeout) as (url, fresh_s, pid):
            cpu = process_cpu_s(pid)
            first = readyz(url)
            rows.append(("fresh start: ready banner", f"{fresh_s:.1f} s (server CPU {cpu:.1f} s){_load_avg()}"))
            rows.append(("  serving at ready", _ranker(first["ranker"]) + f"; chats: {first['conversation_layer']}; "
                         f"LLM: {first['llm'].get('state')}"))
            rows.append(("  background training", first["training"].get("state", "?")))
            r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
            during = readyz(url)["training"].get("state")
            rows.append((f"API c={args.concurrency} while training ({during} at end)", _load(r) + _load_avg()))
            busy_p95 = [r["p95_ms"]] if during == "training" else []
            if args.full_timeout > 0:
                deadline = time.perf_counter() + args.full_timeout
                state = readyz(url)
                while state["conversation_layer"] != "serving" and time.perf_counter() < deadline:
                    if state["training"].get("state") == "failed":
                        break
                    time.sleep(2)
                    state = readyz(url)
                rows.append(("conversation layer serving", f"{time.perf_counter() - started:.0f} s after start"
                             + _load_avg() if state["conversation_layer"] == "serving" else
                             f"not within {args.full_timeout:.0f} s: {state['training']}"))
                if state["training"].get("state") == "training":  # the full ranker's networks now
                    r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
                    rows.append((f"API c={args.concurrency} while the full ranker trains", _load(r) + _load_avg()))
                    busy_p95.append(r["p95_ms"])
                state = readyz(url)
                while state["ranker"].get("kind") != "full" and time.perf_counter() < deadline:
                    if state["training"].get("state") == "failed":
                        break
                    time.sleep(5)
                    state = readyz(url)
                if state["ranker"].get("kind") == "full":
                    rows.append(("full model serving", f"{time.perf_counter() - started:.0f} s after start; "
                                 + _ranker(state["ranker"]) + _load_avg()))
                    if state["training"].get("running"):  # the layer again, on every conversation
                        r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
                        rows.append((f"API c={args.concurrency} while the layer retrains", _load(r) + _load_avg()))
                        busy_p95.append(r["p95_ms"])
                        while state["training"].get("running") and time.perf_counter() < deadline:
                            time.sleep(5)
                            state = readyz(url)
                        time.sleep(12)  # servers look at the layer file every 5 s
                        rows.append(("layer on every conversation serving", f"{time.perf_counter() - started:.0f} "
                                     f"s after start; {readyz(url)['conversation_layer_trained_on']}" + _load_avg()))
                    time.sleep(3)  # the trainer process exits after its last write
                    r = asyncio.run(load(url, args.concurrency, args.duration, 20, pid))
                    rows.append((f"API c={args.concurrency} idle (full model)", _load(r) + _load_avg()))
                    if busy_p95 and r["p95_ms"] > 0:
                        ratios = " and ".join(f"{b / r['p95_ms']:.2f}" for b in busy_p95)
                        rows.append(("  p95 while training / p95 idle", f"{ratios} "
                                     "(target <= 2)"))
                else:
                    rows.append(("full model serving", f"not within {args.full_timeout:.0f} s: "
                                 + str(state["training"])))
        with server(demo, env, args.ready_timeout) as (url, warm_s, pid):
            rows.append(("warm start: ready banner", f"{warm_s:.1f} s (server CPU {process_cpu_s(pid):.1f} s); "
                         + _ranker(readyz(url)["ranker"]) + _load_avg()))
        served = data_dir / "models" / "ranker.pt"
        if served.is_file():
            rows.append(("validation NDCG@10, served full model", _checkpoint_ndcg(served)))
        reference = args.reference
        if args.train_reference:
            reference = _train_reference(env, rows, data_dir / "train-reference")
        if reference is not None:
            rows.append(("validation NDCG@10, `recassist train`", f"{_checkpoint_ndcg(reference)} ({reference})"))
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


class Rows(list):
    """The table's rows, each also printed as soon as it is measured (an interrupted run keeps what it had)."""

    def append(self, row: tuple[str, str]) -> None:
        super().append(row)
        print(f"{row[0]}: {row[1]}", file=sys.stderr, flush=True)


def _load_avg() -> str:
    return f"; load average {os.getloadavg()[0]:.1f}"


def _checkpoint_ndcg(path: Path) -> str:
    """A full-model checkpoint's validation NDCG@10: as recorded in it (when it is), and recomputed on the
    validation split of the catalog it was trained on, the way training scores the blend."""
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.settings import Settings
    from recassist.ranking.data import all_for_training
    from recassist.ranking.metrics import evaluate
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_ckpt import read_checkpoint
    from recassist.ranking.staged import SERVED_NDCG_KEY

    recorded = read_checkpoint(path).get(SERVED_NDCG_KEY)
    data = all_for_training(load_catalog_cached(str(Settings().catalog_dir)))
    ranker = SASRecRanker.load(path, catalog_version=data.catalog_version)
    users = [u for u in range(len(data.sequences)) if data.valid_targets[u] >= 0]
    ndcg = evaluate(ranker._sequence_scores, [data.sequences[u] for u in users], data.valid_targets[users],
                    data.n_items).ndcg
    return (f"recorded {recorded:.4f}, " if recorded is not None else "") + f"recomputed {ndcg:.4f}"


def _train_reference(env: dict[str, str], rows: Rows, data_dir: Path) -> Path:
    """`recassist train` on the empty `data_dir` (what a user running it gets); returns its checkpoint."""
    import subprocess

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "recassist.cli", "train", "--no-progress"], capture_output=True,
                         text=True, env={**env, "RECASSIST_DATA_DIR": str(data_dir)}, check=True)
    rows.append(("`recassist train`", f"{time.perf_counter() - t0:.0f} s; {out.stdout.strip()[-200:]}"))
    return data_dir / "models" / "ranker.pt"


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

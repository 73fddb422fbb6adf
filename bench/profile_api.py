"""CPU per request of `POST /v1/recommendations` (explain off), in process, by request type.

    python bench/profile_api.py                       # CPU ms per request type (text, user, user+text)
    python bench/profile_api.py --cprofile out.prof   # also a cProfile of the whole mix

Wall-clock load numbers (bench_api.py) need a quiet machine; CPU time per request does not, so this
is the number to compare changes with while other work runs. The app is the one `recassist serve
--no-ui --no-llm` builds, driven through Starlette's TestClient (routing, validation and JSON
serialisation included; sockets not). It runs on a copy of the data dir so stored profiles written
by the requests never touch the real one.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # run as a script from anywhere

from bench_api import bodies  # noqa: E402  (same request mix as the load test)


def kind_of(body: dict) -> str:
    return "user+text" if "user_id" in body and "text" in body else ("user" if "user_id" in body else "text")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=str(ROOT / ".recassist"), help="prepared data dir (copied first)")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--cprofile", help="write a cProfile of the measured requests here")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="recassist-profile-"))
    try:
        shutil.copytree(args.data_dir, work / "data")
        os.environ["RECASSIST_DATA_DIR"] = str(work / "data")
        os.environ["RECASSIST_API_RATE_LIMIT_PER_MINUTE"] = "0"
        run(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient
    from recassist.assistant.conversation.assistant import Assistant
    from recassist.foundation.settings import Settings
    from recassist.ui.app import create_app

    settings = Settings()
    app = create_app(Assistant.open(settings, use_llm=False), settings, ui=False)
    cpu: dict[str, list[float]] = {}
    with TestClient(app) as client:
        warm = bodies(seed=-1)
        for _ in range(args.warmup):
            client.post("/v1/recommendations", json=next(warm)).raise_for_status()
        prof = cProfile.Profile() if args.cprofile else None
        mix = bodies(seed=0)
        for _ in range(args.requests):
            body = next(mix)
            if prof:
                prof.enable()
            t0 = time.process_time()
            client.post("/v1/recommendations", json=body).raise_for_status()
            cpu.setdefault(kind_of(body), []).append((time.process_time() - t0) * 1000)
            if prof:
                prof.disable()
        if prof:
            prof.dump_stats(args.cprofile)
    every = [x for xs in cpu.values() for x in xs]
    for kind, xs in sorted(cpu.items()) + [("all", every)]:
        print(f"{kind:10s} n={len(xs):4d}  CPU ms/request: mean {statistics.mean(xs):6.1f}  "
              f"median {statistics.median(xs):6.1f}  max {max(xs):6.1f}")


if __name__ == "__main__":
    raise SystemExit(main())

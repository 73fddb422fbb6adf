"""The robustness bench's own pieces: a small prepared data dir, the LLM settings under test, a live server.

The data dir is a slice of the shipped MovieLens catalog (the most-rated movies and their ratings) with
the item index built and a small ranker trained: every component is real, and preparing it takes about a
minute on 2 cores. It is cached under `--work` (default `/tmp/recassist-robustness`) and copied per run
where a run writes to it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# The helpers and the robustness modules the tests use too live under tests/ (the tests never import from
# bench/): the run modules and the canary wrapper in tests/security, the rest in tests/.
_TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(_TESTS), str(_TESTS / "security")]

from catalog_slices import prepare_small, write_movielens_slice  # noqa: E402
from llama_servers import llama_server as start_llama_server  # noqa: E402
from loopback import running  # noqa: E402
from recassist.foundation.settings import Settings  # noqa: E402
from robust_harness import CanaryLLM, open_assistant  # noqa: E402, F401 - the bench's modules import them from here

DEFAULT_WORK = Path("/tmp/recassist-robustness")


def write_slice(dst: Path, *, n_popular: int = 300, max_user: int = 300) -> Path:
    """MovieLens-format slice of the demo catalog: the `n_popular` most-rated movies, ratings of users <= max_user."""
    return write_movielens_slice(dst, n_popular=n_popular, max_user=max_user)


def prepared(work: Path = DEFAULT_WORK) -> Settings:
    """Settings over the cached prepared slice (built on first use: index + a one-epoch ranker)."""
    root = work / "base"
    settings = Settings(data_dir=root / "data", catalog_dir=root / "catalog", api_rate_limit_per_minute=0)
    if not (root / "READY").exists():
        shutil.rmtree(root, ignore_errors=True)
        write_slice(root / "catalog")
        prepare_small(settings)
        (root / "READY").write_text("ok\n")
    return settings


def fresh_copy(work: Path, name: str, **overrides) -> Settings:
    """A private copy of the prepared data dir (same catalog), for a run that writes."""
    base = prepared(work)
    dst = work / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(base.data_dir, dst / "data")
    return Settings(data_dir=dst / "data", catalog_dir=base.catalog_dir, **{"api_rate_limit_per_minute": 0,
                                                                             **overrides})


#: llama.cpp threads for both LLM backends under test. Its threads wait for each other by spinning, so on a
#: machine whose cores are busy with other work one thread is far faster than two: the same extraction call
#: took 4-20 s on one thread and 18-119 s on two, interleaved, at load average 11-13 (2 cores).
LLM_THREADS = 1
#: Seconds each LLM call under test is given at least (see `CanaryLLM.min_timeout_s`).
LLM_MIN_TIMEOUT_S = 120.0


def llama_server():
    """llama.cpp's OpenAI-compatible server on the embedded SmolLM2 file (`LLM_THREADS` threads, as the tests
    start it); a context manager yielding its `/v1` base URL."""
    return start_llama_server(threads=LLM_THREADS, start_timeout_s=120)


def serving(app):
    """Serve `app` over loopback in a thread (a context manager yielding the base URL)."""
    return running(app, start_timeout_s=60)

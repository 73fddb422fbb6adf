"""The evaluation harness: every ranker under one protocol, one table.

Protocol (DESIGN.md "How we measure"): leave-one-out by timestamp (see `ranking.data`),
full ranking over all items, the user's seen items excluded; NDCG@10, HR@10, MRR
(untruncated) and coverage@10. Each model runs in a fresh process (`run_isolated`) so
its peak memory and timing are its own. Works on any catalog `load_catalog` reads.

Extras, on request: cold start (users cut down to 3 random items of their history,
given as profile items), scoring latency (one user, 500 candidates, one thread),
and new items (the test items of a third of users hidden from training entirely).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.settings import Settings
from recassist.ranking import sasrec  # noqa: F401  (registers the torch model in RANKERS)
from recassist.ranking.base import RANKERS, EncodedUser, Ranker, UserQuery
from recassist.ranking.data import Split, leave_one_out
from recassist.ranking.metrics import Metrics, evaluate

COLD_ITEMS = 3
LATENCY_QUERIES = 200
LATENCY_CANDIDATES = 500


@dataclass(frozen=True)
class Job:
    """One model run. `params`: constructor kwargs (for sasrec: `SASRecConfig` fields)."""

    model: str
    catalog_dir: str
    data_dir: str
    params: dict[str, Any] = field(default_factory=dict)
    cold_start: bool = False
    latency: bool = False
    new_items: bool = False  # hide a third of users' test items from training, report on those
    progress: bool = False


@dataclass
class RunResult:
    model: str
    params: dict[str, Any]
    fit_report: dict[str, Any]
    valid: Metrics
    test: Metrics
    fit_seconds: float  # wall time of fit (baselines: including their validation search)
    seconds_to_best: float  # sasrec: training time until its best validation epoch; others = fit_seconds
    peak_mb: float  # peak resident memory of the whole process
    fit_mb: float  # peak minus resident memory just before fit
    extras: dict[str, Any] = field(default_factory=dict)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def make_split(catalog_dir: str, data_dir: str, with_text: bool) -> tuple[Split, str]:
    """The leave-one-out split of the catalog, with MiniLM item vectors when `with_text`."""
    settings = Settings(catalog_dir=Path(catalog_dir), data_dir=Path(data_dir))
    catalog = load_catalog_cached(str(settings.catalog_dir))
    split = leave_one_out(catalog)
    if not with_text:
        return split, ""
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.item_vectors import item_vectors

    embedder = get_embedder(settings)
    ids, vectors = item_vectors(catalog, settings, embedder)
    assert ids == split.train.item_ids
    return replace(split, train=split.train.with_text(np.array(vectors), embedder.name)), embedder.name


def hidden_items(split: Split, fraction: float = 1 / 3, seed: int = 0) -> np.ndarray:
    """Item indices to hide: the test items of a random `fraction` of evaluable users."""
    users = split.test_users()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(users, size=max(1, int(len(users) * fraction)), replace=False)
    return np.unique(split.test_targets[chosen])


def hide(split: Split, hidden: np.ndarray) -> Split:
    """A split where `hidden` items have no interactions in training, validation or test histories."""
    drop = np.zeros(split.train.n_items, dtype=bool)
    drop[hidden] = True
    seqs = [s[~drop[s]] for s in split.train.sequences]
    valid = split.train.valid_targets.copy()
    valid[(valid >= 0) & drop[np.maximum(valid, 0)]] = -1
    hist = [s[~drop[s]] for s in split.test_histories]
    train = replace(split.train, sequences=seqs, valid_targets=valid)
    return replace(split, train=train, test_histories=hist)


def _score_fn(ranker: Ranker):
    return lambda hist: ranker.score([EncodedUser(np.asarray(h, dtype=np.int64)) for h in hist])


def cold_start(ranker: Ranker, split: Split, seed: int = 0) -> Metrics:
    """Users reduced to `COLD_ITEMS` random items of their (test-time) history, in time order."""
    rng = np.random.default_rng(seed)
    hist = [h[np.sort(rng.choice(len(h), size=min(COLD_ITEMS, len(h)), replace=False))]
            for h in split.test_histories]
    return evaluate(_score_fn(ranker), hist, split.test_targets, split.train.n_items)


def latency_ms(ranker: Ranker, split: Split, seed: int = 0) -> dict[str, float]:
    """p50 / p95 of `recommend` (N=10) for one user over 500 random candidates, one torch thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    users = split.test_users()
    ids = ranker.item_ids
    times = []
    try:
        for q in range(LATENCY_QUERIES + 10):
            u = users[rng.integers(len(users))]
            query = UserQuery(history=[ids[j] for j in split.test_histories[u]])
            cand = [ids[j] for j in rng.choice(len(ids), LATENCY_CANDIDATES, replace=False)]
            t0 = time.perf_counter()
            ranker.recommend(query, N=10, items=cand)
            if q >= 10:  # the first calls warm caches and allocators
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        torch.set_num_threads(before)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def new_item_metrics(ranker: Ranker, split: Split, hidden: np.ndarray) -> dict[str, Any]:
    """For users whose test item was hidden: NDCG@10 over the full catalog and among hidden items only."""
    targets = np.where(np.isin(split.test_targets, hidden), split.test_targets, -1)
    n = split.train.n_items
    full = evaluate(_score_fn(ranker), split.test_histories, targets, n)
    outside = np.ones(n, dtype=bool)
    outside[hidden] = False

    def among_hidden(hist):
        s = _score_fn(ranker)(hist)
        s[:, outside] = -np.inf
        return s

    only = evaluate(among_hidden, split.test_histories, targets, n)
    # A random order among the hidden items: expected NDCG@10 of a uniform rank in [0, |hidden|).
    r = np.arange(len(hidden))
    random_ndcg = float(np.where(r < 10, 1 / np.log2(r + 2.0), 0).mean())
    return {"users": full.users, "hidden_items": int(len(hidden)), "ndcg@10_full": full.ndcg,
            "ndcg@10_among_new": only.ndcg, "ndcg@10_among_new_random": random_ndcg}


def run_model(job: Job) -> RunResult:
    """Fit `job.model` on the split's training part (hyperparameters on validation), evaluate on test."""
    is_sasrec = job.model == "sasrec"
    split, _ = make_split(job.catalog_dir, job.data_dir, with_text=is_sasrec)
    hidden = hidden_items(split) if job.new_items else None
    if hidden is not None:
        split = hide(split, hidden)
    if is_sasrec:
        from recassist.ranking.sasrec_model import SASRecConfig

        ranker: Ranker = RANKERS["sasrec"](SASRecConfig(**job.params))  # type: ignore[call-arg]
    else:
        ranker = RANKERS[job.model](**job.params)
    base = _rss_mb()
    t0 = time.perf_counter()
    report = ranker.fit(split.train, progress=job.progress)
    fit_s = time.perf_counter() - t0
    peak = _peak_mb()
    n = split.train.n_items
    valid = evaluate(_score_fn(ranker), split.train.sequences, split.train.valid_targets, n)
    test = evaluate(_score_fn(ranker), split.test_histories, split.test_targets, n)
    extras: dict[str, Any] = {}
    if job.cold_start:
        extras["cold_start"] = cold_start(ranker, split)
    if job.latency:
        extras["latency"] = latency_ms(ranker, split)
    if hidden is not None:
        extras["new_items"] = new_item_metrics(ranker, split, hidden)
    return RunResult(job.model, job.params, report, valid, test, fit_s,
                     float(report.get("seconds_to_best", fit_s)) if is_sasrec else fit_s,
                     peak, peak - base, extras)


def run_isolated(job: Job) -> RunResult:
    """`run_model` in a fresh process: its own peak memory, no state shared with earlier runs."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(run_model, job).result()


def format_table(results: list[RunResult]) -> str:
    """One row per model; rows of the same model (several seeds) are averaged, spread shown as ±std."""
    groups: dict[str, list[RunResult]] = {}
    for r in results:
        groups.setdefault(r.model, []).append(r)
    head = (f"{'model':<11}{'runs':>5}{'NDCG@10':>17}{'HR@10':>17}{'MRR':>17}{'coverage':>10}"
            f"{'valid NDCG':>12}{'train s':>10}{'to best s':>11}{'peak MB':>9}{'fit +MB':>9}")
    lines = [head, "-" * len(head)]
    for model, rs in groups.items():
        def ms(vals: list[float], w: int = 17, p: int = 4) -> str:
            m = float(np.mean(vals))
            if len(vals) == 1:
                return f"{m:>{w}.{p}f}"
            return f"{f'{m:.{p}f}±{float(np.std(vals)):.{p}f}':>{w}}"

        lines.append(
            f"{model:<11}{len(rs):>5}{ms([r.test.ndcg for r in rs])}{ms([r.test.hr for r in rs])}"
            f"{ms([r.test.mrr for r in rs])}{np.mean([r.test.coverage for r in rs]):>10.3f}"
            f"{np.mean([r.valid.ndcg for r in rs]):>12.4f}{np.mean([r.fit_seconds for r in rs]):>10.1f}"
            f"{np.mean([r.seconds_to_best for r in rs]):>11.1f}{max(r.peak_mb for r in rs):>9.0f}"
            f"{max(r.fit_mb for r in rs):>9.0f}"
        )
    return "\n".join(lines)

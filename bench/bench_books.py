"""Books ranker benchmark: popularity, item-kNN, EASE and implicit's ALS on goodbooks-10k, one protocol.

    python bench/bench_books.py                         # the shipped 3,000-book subset
    python bench/bench_books.py --catalog ../shared/data/goodbooks-10k --models popularity,ease

Leave-one-out with a seeded random order per user (goodbooks has no timestamps, see ranking.data):
one random rating per user is the test item, another the validation item, the rest training.
Full ranking over all books, seen books excluded; NDCG@10, HR@10, MRR. Each model trains in its
own process (ranking.evaluation.run_isolated), hyperparameters chosen on validation; "train s" is
the wall time of fit including that search. Timings depend on whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recassist.foundation.catalog import load_catalog_cached  # noqa: E402
from recassist.foundation.settings import DEMO_BOOKS_DIR  # noqa: E402
from recassist.ranking.evaluation import Job, format_table, run_isolated  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--catalog", type=Path, default=DEMO_BOOKS_DIR, help="a goodbooks-10k folder")
    p.add_argument("--models", default="popularity,itemknn,ease,als")
    args = p.parse_args()
    catalog = load_catalog_cached(str(args.catalog))
    users = len({x.user_id for x in catalog.interactions})
    results = []
    with tempfile.TemporaryDirectory() as data_dir:
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            print(f"{model} ...", file=sys.stderr, flush=True)
            results.append(run_isolated(Job(model, str(args.catalog), data_dir)))
    print(f"catalog: {args.catalog} ({len(catalog)} books, {len(catalog.interactions)} ratings, {users} users)")
    print("protocol: leave-one-out, held-out ratings picked at random per user (seed 0; no timestamps), "
          "full ranking over all books, seen books excluded; MRR untruncated\n")
    print(format_table(results))
    for r in results:
        chosen = {k: v for k, v in r.fit_report.items() if k != "valid_ndcg@10"}
        if chosen:
            print(f"{r.model}: chosen on validation {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

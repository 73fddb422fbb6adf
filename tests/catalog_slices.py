"""MovieLens-format slices of the shipped demo catalog: the most-rated movies among a subset of users,
small enough that an index build and a ranker's training take seconds. Shared by the test folders and
the benchmarks (which put `tests/` on their path; nothing here imports pytest).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR


def write_movielens_slice(dst: Path, *, n_popular: int, max_user: int, named: Iterable[str] = (),
                          tags: bool = True) -> Path:
    """The `n_popular` most-rated movies among users 1..max_user (plus titles ending in one of `named`),
    with those users' ratings (and the movies' tags), as MovieLens CSV files in `dst`; returns `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    with open(DEMO_CATALOG_DIR / "ratings.csv", newline="") as f:
        ratings = [r for r in csv.DictReader(f) if int(r["userId"]) <= max_user]
    with open(DEMO_CATALOG_DIR / "movies.csv", newline="") as f:
        movies = list(csv.DictReader(f))
    keep = {m for m, _ in Counter(r["movieId"] for r in ratings).most_common(n_popular)}
    named = tuple(named)
    keep |= {m["movieId"] for m in movies if named and m["title"].endswith(named)}
    write_csv(dst / "movies.csv", [m for m in movies if m["movieId"] in keep], ["movieId", "title", "genres"])
    write_csv(dst / "ratings.csv", [r for r in ratings if r["movieId"] in keep], list(ratings[0]))
    if tags:
        with open(DEMO_CATALOG_DIR / "tags.csv", newline="") as f:
            kept_tags = [t for t in csv.DictReader(f) if t["movieId"] in keep]
        write_csv(dst / "tags.csv", kept_tags, ["userId", "movieId", "tag", "timestamp"])
    return dst


#: Films the UI tests name, kept in the small slice beside the most-rated ones.
SMALL_NAMED = ("Arrival (2016)", "Interstellar (2014)", "Moon (2009)", "Gravity (2013)")


def write_small_catalog(dst: Path, *, n_popular: int = 100, max_user: int = 200) -> Path:
    """The small slice the UI and security tests serve: the 100 most-rated movies among users 1..200 and the
    films of `SMALL_NAMED`; returns `dst`."""
    return write_movielens_slice(dst, n_popular=n_popular, max_user=max_user, named=SMALL_NAMED)


def copy_data_dir(src: Path, dst: Path) -> Path:
    """A private copy of the prepared data dir `src` at `dst` (returned): every file copied, except the embedder's
    graphs and their probe record, which are only ever replaced whole, hard-linked."""
    def copy(s: str, d: str) -> None:
        if Path(s).name.startswith("onnx-"):
            try:
                os.link(s, d)
                return
            except OSError:
                pass
        shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy)
    return dst


def write_goodbooks_slice(dst: Path, *, n_books: int) -> Path:
    """The first `n_books` books of the shipped goodbooks subset (the most rated) with their ratings, as
    goodbooks files in `dst`; returns `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    with open(DEMO_BOOKS_DIR / "books_top20_tags.csv", newline="", encoding="utf-8") as f:
        books = list(csv.DictReader(f))[:n_books]
    keep = {b["book_id"] for b in books}
    with open(DEMO_BOOKS_DIR / "ratings.csv", newline="") as f:
        ratings = [r for r in csv.DictReader(f) if r["book_id"] in keep]
    write_csv(dst / "books_top20_tags.csv", books, list(books[0]))
    write_csv(dst / "ratings.csv", ratings, list(ratings[0]))
    return dst


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def prepare_small(settings) -> None:
    """What `recassist demo` prepares (item index, trained ranker) for a slice, the ranker trained one epoch."""
    from recassist.assistant.conversation.prepare import prepare
    from recassist.ranking.sasrec_model import SASRecConfig

    cfg = SASRecConfig(max_epochs=1, hidden=32, blocks=1, max_len=20, eval_every=1, all_windows=False, threads=1)
    prepare(settings, progress=False, train_config=cfg)


def share_embedding_graphs(settings) -> None:
    """Put this process's checked ONNX graphs of the embedding model, and their probe record, in the graph cache
    of `settings`' data dir: the files `prepare` leaves there when it runs in a process of its own.

    The embedder is one per process (`retrieval.embedders`) and keeps its graphs in the data dir it was first
    opened with, so a data dir prepared later by the same test process lacks them, and every process started
    on it (a server, a worker, a restart) would export, quantize and check the graphs with torch again: tens
    of seconds of CPU each. Files are hard-linked (copied across file systems); a data dir that already holds
    them is left as it is.
    """
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.onnx_cache import RECORD, GraphCache, int8_file

    embedder = get_embedder(settings)
    embedder.backends()  # builds, or loads, and checks the graphs
    source = getattr(embedder, "_graphs", None)
    if source is None:  # another embedder backend: nothing kept between processes
        return
    target = GraphCache(settings.embedding_cache_dir, embedder.name)
    for kind in ("float", int8_file(False), int8_file(True), RECORD):
        src, dst = source.path(kind), target.path(kind)
        if src is None or dst is None or not src.is_file() or dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

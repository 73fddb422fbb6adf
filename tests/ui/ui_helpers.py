"""A small prepared data dir (catalog subset, item index, briefly trained ranker) and a live server.

The catalog is a slice of the shipped MovieLens: the most-rated movies plus a few the tests name,
with the ratings of a subset of users, so index build and training take seconds, not minutes.
"""

from __future__ import annotations

import csv
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from recassist.foundation.settings import DEMO_CATALOG_DIR, Settings
from recassist.ui.server import bind, make_server, urls_for

NAMED = ("Arrival (2016)", "Interstellar (2014)", "Moon (2009)", "Gravity (2013)")
# A title that is markup: it must show as these characters everywhere (cards, chat, profile panel).
XSS_TITLE = "<img src=x onerror=alert(1)>"
# The shipped catalog ends in 2018, so "from 2020 or later" leaves exactly the upserted item.
XSS_ITEM = {
    "title": XSS_TITLE,
    "year": 2024,
    "genres": ["Sci-Fi", "Drama"],
    "tags": ["aliens"],
    "description": "A thoughtful science fiction drama about first contact.",
}


def write_small_catalog(dst: Path, *, n_popular: int = 100, max_user: int = 200) -> Path:
    """MovieLens-format slice of the demo catalog in `dst`; returns `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    with open(DEMO_CATALOG_DIR / "ratings.csv", newline="") as f:
        ratings = [r for r in csv.DictReader(f) if int(r["userId"]) <= max_user]
    with open(DEMO_CATALOG_DIR / "movies.csv", newline="") as f:
        movies = list(csv.DictReader(f))
    keep = {m for m, _ in Counter(r["movieId"] for r in ratings).most_common(n_popular)}
    keep |= {m["movieId"] for m in movies if any(m["title"].endswith(t) for t in NAMED)}
    _write(dst / "movies.csv", [m for m in movies if m["movieId"] in keep], ["movieId", "title", "genres"])
    _write(dst / "ratings.csv", [r for r in ratings if r["movieId"] in keep], list(ratings[0]))
    with open(DEMO_CATALOG_DIR / "tags.csv", newline="") as f:
        tags = [t for t in csv.DictReader(f) if t["movieId"] in keep]
    _write(dst / "tags.csv", tags, ["userId", "movieId", "tag", "timestamp"])
    return dst


def _write(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def prepare_small(settings: Settings) -> None:
    """What `recassist demo` prepares (item index, trained ranker), with a ranker trained for one epoch."""
    from recassist.assistant.conversation.prepare import prepare
    from recassist.ranking.sasrec_model import SASRecConfig

    cfg = SASRecConfig(max_epochs=1, hidden=32, blocks=1, max_len=20, eval_every=1, all_windows=False, threads=1)
    prepare(settings, progress=False, train_config=cfg)


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve `app` over loopback on a free port in a thread; yields the base URL."""
    sock = bind("127.0.0.1", 0)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield urls_for(sock).base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

"""What the books catalog costs a server on first use: load the folder, fit (or load) its EASE, first request.

    python bench/bench_books_first_use.py            # the shipped subset, a fresh temporary models dir

Prints wall and CPU seconds per step; CPU seconds are what to compare on a busy machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recassist.assistant.domains.other import OtherCatalog  # noqa: E402
from recassist.foundation.catalog import load_catalog_cached  # noqa: E402
from recassist.foundation.profile import InterestProfile  # noqa: E402
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR  # noqa: E402


def timed(label: str, fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label:<50}{time.perf_counter() - w:>9.2f}{time.process_time() - c:>9.2f}")
    return out


def main() -> int:
    print(f"{'step':<50}{'wall s':>9}{'CPU s':>9}")
    movies = load_catalog_cached(str(DEMO_CATALOG_DIR))
    with tempfile.TemporaryDirectory() as models:
        timed("load books folder (3,000 books, 299,872 ratings)", lambda: load_catalog_cached(str(DEMO_BOOKS_DIR)))
        timed("fit EASE and save (first start)", lambda: OtherCatalog.open(DEMO_BOOKS_DIR, Path(models)))
        other = timed("load saved EASE (later starts)", lambda: OtherCatalog.open(DEMO_BOOKS_DIR, Path(models)))
        liked = [("movies", movies.get(i)) for i in ("2571", "260", "1196")]
        timed("one recommendation (3 liked films, k=10)", lambda: other.recommend(InterestProfile(), liked, k=10))
    return 0


if __name__ == "__main__":
    sys.exit(main())

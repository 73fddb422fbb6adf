"""Cross-domain transfer: a taste stated with films ranks books, and the reverse, with no shared users.

    python bench/bench_cross_domain.py                  # shipped movies + books
    python bench/bench_cross_domain.py --movies DIR --books DIR --min-items 20

For each shared aspect carried by at least `--min-items` items in both catalogs: the profile is the
5 most-rated items of the source catalog carrying it (their shared aspects, weighted by how many of
the 5 carry each; ranking.cross_domain), and the target catalog's top 10 are checked for the aspect.
The no-transfer baseline is the target's 10 most-rated items (ties in catalog order). Targets: mean share >= 0.7 and
>= 3 x the baseline's mean share, each direction.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recassist.foundation.catalog import Catalog, load_catalog_cached  # noqa: E402
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR  # noqa: E402
from recassist.foundation.vocabulary import SHARED_ASPECTS, item_aspects  # noqa: E402
from recassist.ranking.cross_domain import AspectTransfer, taste_from_items  # noqa: E402

PROFILE_ITEMS = 5
TOP = 10


def most_rated_with(catalog: Catalog, aspect: str, n: int) -> list[str]:
    """The `n` items carrying `aspect` with the most ratings in the catalog, ties in catalog order
    (goodbooks caps its ratings at ~100 a book; its book ids follow Goodreads popularity)."""
    pop = catalog.popularity
    ids = [i for i, it in catalog.items.items() if aspect in item_aspects(it)]
    return sorted(ids, key=lambda i: -pop.get(i, 0))[:n]  # sorted() is stable: ties keep catalog order


def direction(source: Catalog, target: Catalog, aspects: list[str]) -> list[tuple[str, float, float, list[str]]]:
    transfer = AspectTransfer(target)
    popular = sorted(target.item_ids, key=lambda i: -target.popularity.get(i, 0))[:TOP]
    rows = []
    for aspect in aspects:
        liked = most_rated_with(source, aspect, PROFILE_ITEMS)
        top = transfer.recommend(taste_from_items(source.items[i] for i in liked), n=TOP)
        share = sum(transfer.carries(m.item_id, aspect) for m in top) / TOP
        base = sum(transfer.carries(i, aspect) for i in popular) / TOP
        rows.append((aspect, share, base, [source.items[i].title for i in liked]))
    return rows


def measured_aspects(movies: Catalog, books: Catalog, min_items: int = 20) -> list[str]:
    """The shared aspects at least `min_items` items carry in both catalogs, in vocabulary order."""
    counts = [AspectTransfer(c).aspect_counts() for c in (movies, books)]
    return [a for a in SHARED_ASPECTS if min(c[a] for c in counts) >= min_items]


def transfer_report(movies_dir: Path, books_dir: Path, min_items: int = 20, verbose: bool = False
                    ) -> list[tuple[str, float, float, float]]:
    """Print the per-aspect tables; returns (direction, mean share, popular share, ratio) per direction."""
    movies, books = load_catalog_cached(str(movies_dir)), load_catalog_cached(str(books_dir))
    counts = {name: AspectTransfer(c).aspect_counts() for name, c in (("movies", movies), ("books", books))}
    aspects = measured_aspects(movies, books, min_items)
    skipped = [a for a in SHARED_ASPECTS if a not in aspects]
    print(f"movies: {movies_dir} ({len(movies)} items); books: {books_dir} ({len(books)} items)")
    print(f"aspects with >= {min_items} items on both sides: {len(aspects)}; skipped: {', '.join(skipped)}\n")
    summary = []
    for label, src, tgt in (("films -> books", movies, books), ("books -> films", books, movies)):
        t0 = time.process_time()
        rows = direction(src, tgt, aspects)
        cpu = time.process_time() - t0
        print(f"{label}: share of the top {TOP} carrying the aspect")
        print(f"{'aspect':<18}{'transfer':>10}{'popular':>10}{'items src/tgt':>16}")
        for aspect, share, base, liked in rows:
            n_src = counts["movies" if src is movies else "books"][aspect]
            n_tgt = counts["books" if tgt is books else "movies"][aspect]
            print(f"{aspect:<18}{share:>10.2f}{base:>10.2f}{f'{n_src}/{n_tgt}':>16}")
            if verbose:
                print(f"{'':<18}profile: {'; '.join(liked)}")
        mean = sum(r[1] for r in rows) / len(rows)
        base = sum(r[2] for r in rows) / len(rows)
        ratio = mean / base if base else float("inf")
        summary.append((label, mean, base, ratio))
        print(f"{'mean':<18}{mean:>10.2f}{base:>10.2f}   ({cpu:.2f} s CPU for {len(rows)} profiles)\n")
    print("targets (mean share >= 0.7 and >= 3 x popular):")
    for label, mean, base, ratio in summary:
        print(f"  {label}: {mean:.3f} vs popular {base:.3f} = {ratio:.1f} x -> {mean >= 0.7 and ratio >= 3}")
    return summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--movies", type=Path, default=DEMO_CATALOG_DIR)
    p.add_argument("--books", type=Path, default=DEMO_BOOKS_DIR)
    p.add_argument("--min-items", type=int, default=20, help="items carrying an aspect in each catalog")
    p.add_argument("--verbose", action="store_true", help="also list each profile's source items")
    args = p.parse_args()
    transfer_report(args.movies, args.books, args.min_items, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())

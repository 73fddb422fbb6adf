"""Write the goodbooks-10k subset that ships in foundation/demo_data/goodbooks-10k.

    python tools/make_goodbooks_subset.py SOURCE_DIR [--books 3000]

Keeps the `--books` books with the most Goodreads ratings (`work_ratings_count`; ratings.csv holds
~100 ratings for almost every book, so its own counts cannot rank them), their rows of
books_top20_tags.csv unchanged, and every ratings.csv row of those books, in file order.
Why a subset: the demo's first start embeds every item document once (~4 ms each on 2 cores), and
both catalogs must be ready within its target. Licence: CC BY-SA 4.0, the source's.
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "foundation" / "demo_data" / "goodbooks-10k"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="the full goodbooks-10k folder")
    p.add_argument("--books", type=int, default=3000)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.source / "books_top20_tags.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    rows.sort(key=lambda r: (-int(r["work_ratings_count"]), int(r["book_id"])))
    keep = rows[: args.books]
    kept_ids = {r["book_id"] for r in keep}
    keep.sort(key=lambda r: int(r["book_id"]))
    with (args.out / "books_top20_tags.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(keep)
    n = 0
    with (args.source / "ratings.csv").open(encoding="utf-8") as src, \
            (args.out / "ratings.csv").open("w", encoding="utf-8") as dst:
        dst.write(next(src))
        for line in src:
            if line.split(",", 1)[0] in kept_ids:
                dst.write(line)
                n += 1
    shutil.copy(args.source / "LICENSE", args.out / "LICENSE")
    print(f"wrote {len(keep)} books and {n} ratings to {args.out}")


if __name__ == "__main__":
    main()

"""Several catalogs in one run: transfer shares, chat answers in the right catalog, film numbers unchanged.

    RECASSIST_DATA_DIR=DIR python bench/bench_domains.py                 # transfer + chat check
    RECASSIST_DATA_DIR=DIR python bench/bench_domains.py --movie-evals \\
        --redial ../shared/data/redial-dev/dialogues.jsonl --holdout-redial ../shared/data/redial-train/dialogues.jsonl

1. Cross-domain transfer shares (bench_cross_domain.py's tables and targets). Then liked books -> films
   through the films' own ranking (the engine the chat and the API rank films with): for each aspect
   measured there, a profile holding the 5 most-rated books carrying it as liked book items (no aspect
   given), films asked for, the share of the top 10 carrying the aspect; beside it the 10 most-rated films
   and the same engine without the books catalog (the liked books then carry nothing: the ranking before
   liked books were carried over). `--books-to-films` runs this table alone.
2. Chat: requests phrased in words, built from fixed templates over the 10 most-rated films and books
   of the shipped catalogs (no user wrote them; the templates were written before the first run and
   not changed for it). Each goes through the chat with no `domain`, as the UI's "any" and
   `POST /v1/chat` without `domain` send it, each in a new session of a new user. An answer is in the
   right catalog when every item is in the expected one; for "open" requests (a film and a book named,
   nothing else) when the list holds both.
   Then, in a table of their own (so the table above stays comparable with earlier runs), requests naming
   the 10 most-rated authors of the books catalog (ratings summed over their books; names of at least two
   words, as `extraction.authors` matches them), from `AUTHOR_TEMPLATES`, written like the ones above.
   Besides the right catalog: whether the author was grounded (in the turn's profile), and what the
   items hold: for books, the share written by the author; for films, the share carrying at least one
   of the aspects the author stands for.
3. With `--movie-evals`: `recassist eval ranker --models popularity,itemknn,ease` and `recassist eval
   conversation ...` (the ReDial arguments given), their output printed as they print it.
DIR needs what `recassist demo` prepares (index, ranker); the conversation eval also the trained
conversation layer (docs/conversations.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cross_domain import PROFILE_ITEMS, TOP, measured_aspects, most_rated_with, transfer_report  # noqa: E402
from recassist.foundation.catalog import Catalog, load_catalog_cached  # noqa: E402
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR, Settings  # noqa: E402

TEMPLATES = {
    "books": ["a book like {book}", "something to read after watching {film}", "any novels similar to {book}?",
              "what should I read next if I loved {film}", "recommend me books for a fan of {film}"],
    "movies": ["a film like {film}", "films for someone who loves {book}", "a movie to watch after reading {book}",
               "what should I watch if I liked {film}", "recommend me movies like {book}"],
    "open": ["I loved {film} and {book}", "{book} and {film} are my favourites", "big fan of {film} and {book}",
             "{film}, {book}", "I enjoyed {book} and {film} a lot"],
}
TITLES = 10
AUTHOR_TEMPLATES = {
    "books": ["books by {author}", "something like {author}", "any novels similar to {author}'s?"],
    "movies": ["films for someone who loves {author}", "a movie for a fan of {author}"],
    "open": ["I loved {film} and {author}"],
}


def most_rated_titles(catalog: Catalog, n: int) -> list[str]:
    pop = catalog.popularity
    return [catalog.items[i].title for i in sorted(catalog.item_ids, key=lambda i: -pop.get(i, 0))[:n]]


def most_rated_authors(catalog: Catalog, n: int) -> list[str]:
    counts: dict[str, int] = {}
    pop = catalog.popularity
    for item_id, it in catalog.items.items():
        for name in it.authors:
            if len(name.split()) >= 2:
                counts[name] = counts.get(name, 0) + pop.get(item_id, 0)
    return sorted(counts, key=lambda a: -counts[a])[:n]


def author_check(chat, books: Catalog, films: list[str]) -> None:
    from recassist.foundation.vocabulary import to_shared

    authors = most_rated_authors(books, TITLES)
    print(f"\nauthor requests: {sum(map(len, AUTHOR_TEMPLATES.values()))} templates x {TITLES} authors; "
          f"authors: {', '.join(authors)}")
    print(f"{'request kind':<14}{'turns':>6}{'right catalog':>15}{'grounded':>10}{'items fit':>11}{'empty':>7}"
          f"{'s/turn p50':>12}{'p95':>7}")
    n = 0
    for kind, templates in AUTHOR_TEMPLATES.items():
        right = grounded = empty = 0
        fit: list[float] = []
        times = []
        for template in templates:
            for film, author in zip(films, authors, strict=True):
                n += 1
                t0 = time.perf_counter()
                reply = chat.chat(f"bench-author-{n}", template.format(film=film, author=author))
                times.append(time.perf_counter() - t0)
                named = [a for a in reply.profile.liked_authors if a.name == author]
                grounded += bool(named)
                empty += not reply.items
                domains = {it.domain or "movies" for it in reply.items}
                right += domains == ({"movies", "books"} if kind == "open" else {kind})
                if kind == "books" and reply.items:
                    fit.append(sum(author in books.items[it.item_id].authors for it in reply.items
                                   if it.item_id in books.items) / len(reply.items))
                if kind == "movies" and reply.items and named:
                    wanted = set(named[0].aspects)
                    fit.append(sum(bool(wanted & set(to_shared(it.genres))) for it in reply.items) / len(reply.items))
        times.sort()
        turns = len(times)
        shown = f"{sum(fit) / len(fit):.3f}" if fit else "-"
        print(f"{kind:<14}{turns:>6}{right / turns:>15.3f}{grounded / turns:>10.3f}{shown:>11}{empty:>7}"
              f"{times[turns // 2]:>12.3f}{times[int(turns * 0.95)]:>7.3f}")


def liked_books_check(settings: Settings) -> None:
    """The liked books -> films table (module docstring, 1.)."""
    from recassist.assistant.conversation import Assistant
    from recassist.assistant.domains.catalogs import Catalogs
    from recassist.foundation.profile import InterestProfile, ItemPreference, Source
    from recassist.foundation.vocabulary import item_aspects

    assistant = Assistant.open(settings, use_llm=False)
    catalogs = Catalogs(assistant, settings)  # hands the engine the books catalog
    films, books = assistant.catalog, catalogs.catalog_of("books")
    engine = assistant.engine
    alone = engine.with_ranker(engine.ranker)
    alone.other_catalog = None
    popular = sorted(films.item_ids, key=lambda i: -films.popularity.get(i, 0))[:TOP]
    print(f"\nliked books -> films (the films' ranking: {engine.ranker.name if engine.ranker else 'no ranker'}"
          f"{', conversation layer' if engine.conversation is not None else ''}): share of the top {TOP} "
          "carrying the aspect")
    print(f"{'aspect':<18}{'carried':>10}{'popular':>10}{'no carry':>10}")
    rows, times = [], []
    for aspect in measured_aspects(films, books):
        liked = [ItemPreference(item_id=i, title=books.items[i].label, domain="books",
                                source=Source(text=books.items[i].title))
                 for i in most_rated_with(books, aspect, PROFILE_ITEMS)]
        profile = InterestProfile(liked_items=liked)
        t0 = time.perf_counter()
        top = [r.item_id for r in engine.recommend(profile, (), k=TOP)]
        times.append(time.perf_counter() - t0)
        before = [r.item_id for r in alone.recommend(profile, (), k=TOP)]
        share, base, none = (sum(aspect in item_aspects(films.items[i]) for i in ids) / TOP
                             for ids in (top, popular, before))
        rows.append((share, base, none))
        print(f"{aspect:<18}{share:>10.2f}{base:>10.2f}{none:>10.2f}")
    means = [sum(r[j] for r in rows) / len(rows) for j in range(3)]
    times.sort()
    print(f"{'mean':<18}{means[0]:>10.2f}{means[1]:>10.2f}{means[2]:>10.2f}   ({len(rows)} profiles; "
          f"{times[len(times) // 2]:.3f} s per ranking, p50)")


def chat_check(settings: Settings) -> None:
    from recassist.assistant.conversation import Assistant
    from recassist.assistant.domains.catalogs import Catalogs
    from recassist.assistant.domains.chat import DomainChat

    films = most_rated_titles(load_catalog_cached(str(DEMO_CATALOG_DIR)), TITLES)
    books = most_rated_titles(load_catalog_cached(str(DEMO_BOOKS_DIR)), TITLES)
    assistant = Assistant.open(settings, use_llm=False)
    chat = DomainChat(Catalogs(assistant, settings))
    chat.chat("bench-warm", "a book like Dune")  # loads the books catalog, its ranker and index once
    print(f"\nchat: {len(TEMPLATES['books'])} templates x {TITLES} titles per kind; films: {', '.join(films)}; "
          f"books: {', '.join(books)}")
    print(f"{'request kind':<14}{'turns':>6}{'right catalog':>15}{'empty':>7}{'s/turn p50':>12}{'p95':>7}")
    n = 0
    for kind, templates in TEMPLATES.items():
        right = empty = 0
        times = []
        for template in templates:
            for film, book in zip(films, books, strict=True):
                n += 1
                t0 = time.perf_counter()
                reply = chat.chat(f"bench-{n}", template.format(film=film, book=book))
                times.append(time.perf_counter() - t0)
                domains = {it.domain or "movies" for it in reply.items}
                empty += not reply.items
                right += domains == ({"movies", "books"} if kind == "open" else {kind})
        times.sort()
        turns = len(times)
        print(f"{kind:<14}{turns:>6}{right / turns:>15.3f}{empty:>7}{times[turns // 2]:>12.3f}"
              f"{times[int(turns * 0.95)]:>7.3f}")
    author_check(chat, load_catalog_cached(str(DEMO_BOOKS_DIR)), films)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--movie-evals", action="store_true", help="also run the film-side evaluations")
    p.add_argument("--redial", default=None, help="ReDial dialogues for `eval conversation --redial`")
    p.add_argument("--holdout-redial", default=None, help="for `eval conversation --holdout-redial`")
    p.add_argument("--books-to-films", action="store_true", help="only the liked books -> films table")
    args = p.parse_args()
    if args.books_to_films:
        liked_books_check(Settings())
        return 0
    transfer_report(DEMO_CATALOG_DIR, DEMO_BOOKS_DIR)
    liked_books_check(Settings())
    chat_check(Settings())
    if args.movie_evals:
        recassist = str(Path(sys.executable).with_name("recassist"))
        runs = [[recassist, "eval", "ranker", "--models", "popularity,itemknn,ease"]]
        if args.redial:
            runs.append([recassist, "eval", "conversation", "--redial", args.redial, "--holdout-limit", "100",
                         "--no-llm", "--explain-sample", "0",
                         *(["--holdout-redial", args.holdout_redial] if args.holdout_redial else [])])
        for cmd in runs:
            print(f"\n$ {' '.join(cmd[1:])}", flush=True)
            subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

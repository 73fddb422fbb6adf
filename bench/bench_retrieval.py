"""Retrieval benchmark: index build cost, candidate latency, candidate recall, ReDial coverage.

    python bench/bench_retrieval.py                  # everything, cold build in a fresh temp dir
    python bench/bench_retrieval.py --skip-cold --data-dir .recassist   # reuse an existing cache/index

Measures, on the configured catalog (default: ml-latest-small):
- index build: cold (empty vector cache and store: embeds every item) and warm (nothing changed);
  time and peak resident memory of this process so far (ru_maxrss; includes the model);
- candidate recall@k, leave-one-out by timestamp: each user's last interaction (ties by file order)
  is held out, co-occurrence is built from the rest, candidates come from the rest of the user's
  history; next to it, in the same run, a popularity-only list of k unseen items;
- candidate latency p50 / p95 over those same calls (history only, no LLM, no text);
- latency with a text profile (MiniLM query encoding + Chroma search included, LLM excluded);
- ReDial: at each recommender message that mentions a movie the recommender suggested
  (`suggested` == 1 in either party's answers), k candidates built from the dialogue so far
  (mentioned movies as history, seeker text through rule-based extraction and as raw text,
  mentioned movies excluded); share of those suggested movies found.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recassist.foundation.catalog import Catalog, load_catalog  # noqa: E402
from recassist.foundation.settings import Settings  # noqa: E402
from recassist.retrieval.candidates import CandidateGenerator  # noqa: E402
from recassist.retrieval.embedders import get_embedder  # noqa: E402
from recassist.retrieval.index import build_index, open_index  # noqa: E402

REDIAL = ROOT.parent / "shared" / "data" / "redial-dev" / "dialogues.jsonl"
_MENTION = re.compile(r"@(\d+)")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def leave_one_out(catalog: Catalog) -> tuple[Catalog, dict[str, list[str]], dict[str, str]]:
    """(catalog with each user's last interaction removed, user -> history oldest first, user -> held out)."""
    per: dict[str, list[tuple[int, int, str]]] = {}
    for pos, x in enumerate(catalog.interactions):
        per.setdefault(x.user_id, []).append((x.timestamp, pos, x.item_id))
    held: dict[str, str] = {}
    history: dict[str, list[str]] = {}
    keep = set()
    for user, seq in per.items():
        if len(seq) < 2:
            continue
        seq.sort()
        held[user] = seq[-1][2]
        history[user] = [i for _, _, i in seq[:-1]]
        keep.update(pos for _, pos, _ in seq[:-1])
    train = [x for pos, x in enumerate(catalog.interactions) if pos in keep or x.user_id not in held]
    return Catalog(catalog.name, catalog.items, train), history, held


def bench_build(catalog: Catalog, settings: Settings, skip_cold: bool) -> list[tuple[str, str]]:
    rows = []
    t0 = time.perf_counter()
    embedder = get_embedder(settings)
    rows.append(("embedder load", f"{time.perf_counter() - t0:.1f} s, peak RSS {peak_mb():.0f} MB"))
    if not skip_cold:
        r = build_index(catalog, settings, embedder, progress=True)
        rows.append(
            (
                f"index build cold ({r.mode})",
                f"{r.seconds:.1f} s for {r.items} items, peak RSS {peak_mb():.0f} MB",
            )
        )
    r = build_index(catalog, settings, embedder)
    rows.append((f"index build warm ({r.mode})", f"{r.seconds:.2f} s, peak RSS {peak_mb():.0f} MB"))
    return rows


def bench_loo(catalog: Catalog, settings: Settings, k: int, max_users: int | None) -> list[tuple[str, str]]:
    train, history, held = leave_one_out(catalog)
    embedder = get_embedder(settings)
    t0 = time.perf_counter()
    gen = CandidateGenerator(train, open_index(train, settings, embedder), embedder, settings)
    setup_s = time.perf_counter() - t0
    users = sorted(held)[:max_users] if max_users else sorted(held)
    popular = [gen.arrays.ids[r] for r in np.argsort(-gen.arrays.popularity, kind="stable")]
    hits = pop_hits = 0
    by_source: dict[str, int] = {}
    lat = []
    for u in users:
        t = time.perf_counter()
        cands = gen.generate(None, history=history[u], k=k)
        lat.append(time.perf_counter() - t)
        found = next((c for c in cands if c.item_id == held[u]), None)
        if found:
            hits += 1
            for s in found.sources:
                by_source[s] = by_source.get(s, 0) + 1
        seen = set(history[u])
        pop_hits += held[u] in [i for i in popular if i not in seen][:k]
    n = len(users)
    text_lat = bench_text_latency(gen, k)
    ms = np.array(lat) * 1000
    return [
        ("generator setup (arrays, vectors, co-occurrence)", f"{setup_s:.1f} s, peak RSS {peak_mb():.0f} MB"),
        (f"candidate recall@{k} (LOO, {n} users)", f"{hits / n:.3f}"),
        (f"popularity-only recall@{k} (same split)", f"{pop_hits / n:.3f}"),
        ("  held-out hits by source (an item may have several)", json.dumps(by_source)),
        (
            f"latency k={k}, history only: p50 / p95",
            f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} ms",
        ),
        (f"latency k={k}, text profile (encode + Chroma): p50 / p95", text_lat),
    ]


def bench_text_latency(gen: CandidateGenerator, k: int) -> str:
    """Profiles with liked aspects, a theme and raw text (each call encodes new text), LLM excluded."""
    from recassist.foundation.profile import AspectPreference, Constraints, InterestProfile, Source, Theme, YearRange

    src = Source(text="bench")
    genres = gen.catalog.genres[:10]
    lat = []
    for i in range(60):
        profile = InterestProfile(
            liked_aspects=[AspectPreference(aspect=genres[i % len(genres)], kind="genre", source=src)],
            themes=[Theme(text=f"something thoughtful number {i}", source=src)],
            constraints=Constraints(years=YearRange(min_year=1980 + i % 20, source=src))
            if i % 2
            else Constraints(),
        )
        t = time.perf_counter()
        gen.generate(profile, k=k, text=f"I want a film like request {i} with a twist")
        lat.append(time.perf_counter() - t)
    ms = np.array(lat[5:]) * 1000  # first calls warm up the model
    return f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} ms"


class TitleIndex:
    """'Title (Year)' -> catalog id via the extraction's title matcher (subtitles, articles, off years)."""

    def __init__(self, catalog: Catalog) -> None:
        from recassist.assistant.extraction.mentions import matcher_for

        self.matcher = matcher_for(catalog)

    def find(self, name: str) -> str | None:
        return self.matcher.match_name(name) if name and name.strip() else None


def bench_redial(
    catalog: Catalog, settings: Settings, k: int, path: Path, limit: int | None
) -> list[tuple[str, str]]:
    from recassist.assistant.extraction import extract_profile
    from recassist.foundation.profile import InterestProfile, ItemPreference, Source

    gen = CandidateGenerator.open(settings, catalog)
    titles = TitleIndex(catalog)
    turns = found = unmatched = dialogues = 0
    with path.open(encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for d in lines[:limit] if limit else lines:
        dialogues += 1
        names = d.get("movieMentions") or {}
        if not isinstance(names, dict):
            names = {}
        suggested = set()
        for answers in (d.get("respondentQuestions"), d.get("initiatorQuestions")):
            if isinstance(answers, dict):
                suggested |= {
                    m for m, a in answers.items() if isinstance(a, dict) and a.get("suggested") == 1
                }
        seeker = d["initiatorWorkerId"]
        mentioned: list[str] = []  # catalog ids, in order of mention
        seeker_text: list[str] = []
        for m in d["messages"]:
            ids = _MENTION.findall(m["text"])
            if m["senderWorkerId"] != seeker:
                targets = []
                for mid in dict.fromkeys(ids):
                    if mid not in suggested:
                        continue
                    cid = titles.find(names.get(mid, ""))
                    if cid is None:
                        unmatched += 1
                    elif cid not in mentioned:
                        targets.append(cid)
                if targets:
                    text = " ".join(seeker_text)
                    profile = extract_profile(text, settings, use_llm=False) if text else None
                    seen = [
                        ItemPreference(
                            item_id=i, title=catalog.items[i].label, source=Source(text="dialogue")
                        )
                        for i in mentioned
                    ]
                    profile = profile or InterestProfile()
                    profile = profile.model_copy(
                        update={
                            "constraints": profile.constraints.model_copy(
                                update={"seen_items": [*profile.constraints.seen_items, *seen]}
                            )
                        }
                    )
                    cands = {
                        c.item_id for c in gen.generate(profile, history=mentioned, k=k, text=text or None)
                    }
                    turns += len(targets)
                    found += sum(t in cands for t in targets)
            rendered = _render(m["text"], names)
            if m["senderWorkerId"] == seeker:
                seeker_text.append(rendered)
            for mid in ids:
                cid = titles.find(names.get(mid, ""))
                if cid is not None and cid not in mentioned:
                    mentioned.append(cid)
    share = found / turns if turns else float("nan")
    return [
        (
            f"ReDial: suggested movies found in {k} candidates",
            f"{share:.3f} ({found}/{turns} turn-movies, "
            f"{dialogues} dialogues; {unmatched} suggested names not matched to the catalog)",
        ),
    ]


def _render(text: str, names: dict[str, str]) -> str:
    """ReDial '@123' placeholders -> the movie's name, as a person would have typed it."""
    return _MENTION.sub(lambda x: (names.get(x.group(1)) or "").strip() or x.group(0), text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary directory")
    ap.add_argument("--skip-cold", action="store_true", help="do not measure the cold build")
    ap.add_argument("--k", type=int, default=300)
    ap.add_argument("--max-users", type=int, default=None, help="LOO on the first N users only")
    ap.add_argument("--redial", type=Path, default=REDIAL)
    ap.add_argument("--redial-limit", type=int, default=None, help="first N dialogues only")
    args = ap.parse_args(argv)

    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-retrieval-")
        args.data_dir = Path(tmp.name)
    settings = Settings(data_dir=args.data_dir)
    catalog = load_catalog(settings.catalog_dir)
    rows = [
        ("catalog", f"{catalog.name}: {len(catalog)} items, {len(catalog.interactions)} interactions"),
        ("data dir", str(settings.data_dir)),
    ]
    rows += bench_build(catalog, settings, args.skip_cold)
    rows += bench_loo(catalog, settings, args.k, args.max_users)
    if args.redial.is_file():
        rows += bench_redial(catalog, settings, args.k, args.redial, args.redial_limit)
    else:
        rows.append(("ReDial", f"skipped: {args.redial} not found"))
    rows.append(("peak RSS (whole run)", f"{peak_mb():.0f} MB"))
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

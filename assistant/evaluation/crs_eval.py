"""Conversational recommendation on ReDial (He et al. 2023 protocol; README "Measuring the assistant").

At each recommender turn that mentions a movie the recommender suggested, the
dialogue so far is fed to the assistant turn by turn (seeker turns through
extraction and profile merging, as in a chat; every movie mentioned so far as
context), the catalog is ranked, and each movie that turn newly mentions is a
target. Movies mentioned earlier are excluded from the ranking. Targets not in
the catalog count as misses (and are reported separately).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from recassist.assistant.evaluation.redial import Dialogue
from recassist.assistant.extraction.mentions import matcher_for
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import InterestProfile
from recassist.ranking.dialogue.text_to_item import REQUEST_MESSAGES

KS = (1, 10, 50)


@dataclass
class Scores:
    hits: dict[int, float] = field(default_factory=lambda: {k: 0.0 for k in KS})
    ndcg10: float = 0.0
    n: int = 0

    def add(self, rank: int | None) -> None:
        self.n += 1
        for k in KS:
            self.hits[k] += rank is not None and rank <= k
        if rank is not None and rank <= 10:
            self.ndcg10 += 1 / math.log2(rank + 1)

    def row(self) -> tuple[float, ...]:
        n = max(1, self.n)
        return (*(self.hits[k] / n for k in KS), self.ndcg10 / n)


@dataclass
class CRSResult:
    turns: int = 0
    targets: int = 0
    targets_in_catalog: int = 0
    ours: Scores = field(default_factory=Scores)
    ours_in_catalog: Scores = field(default_factory=Scores)
    popularity: Scores = field(default_factory=Scores)
    trending: Scores = field(default_factory=Scores)
    seconds: list[float] = field(default_factory=list)
    explanation_pass_rate: float | None = None
    explanation_fallback_rate: float | None = None
    llm_backend: str = "none"  # extraction's
    explain_backend: str = "none"  # the explanation sample's
    #: Share of the top 10 carrying the genre asked for, over one request per catalog genre.
    named_genre_precision: float | None = None
    named_genres: int = 0


def target_turns(d: Dialogue, catalog: Catalog):
    """Yield (message index, [target catalog id or None]) for recommender turns with new suggested movies."""
    matcher = matcher_for(catalog)
    seen: set[str] = set()
    for i, m in enumerate(d.messages):
        ids = m.mentioned_ids()
        if not m.is_seeker:
            new = [mid for mid in dict.fromkeys(ids) if mid not in seen and _suggested(d, mid)]
            if new:
                yield i, [matcher.match_name(d.movie_names.get(mid, "") or "") for mid in new]
        seen.update(ids)


def _suggested(d: Dialogue, mid: str) -> bool:
    for answers in (d.recommender_answers, d.seeker_answers):
        a = answers.get(mid)
        if isinstance(a, dict) and a.get("suggested") == 1:
            return True
    return False


def evaluate_conversations(dialogues: list[Dialogue], assistant, *, use_llm: bool, explain_sample: int = 0,
                           progress: Callable[[int], None] | None = None) -> CRSResult:
    """Run the protocol with `assistant` (an `Assistant`: its extractor and engine are used)."""
    catalog: Catalog = assistant.catalog
    engine = assistant.engine
    matcher = matcher_for(catalog)
    pop = catalog.popularity
    pop_order = sorted(catalog.items, key=lambda i: -pop.get(i, 0))
    # "Popular now" alone (retrieval.trending): how much of the assistant's score the trend explains.
    arrays = engine.candidates.arrays
    trend_order = [arrays.ids[r] for r in np.lexsort((-arrays.popularity, -arrays.trending))[:400]]
    res = CRSResult(llm_backend=(assistant.llm.backend if assistant.llm and use_llm else "none"),
                    explain_backend=(assistant.llm.backend if assistant.llm and explain_sample else "none"))
    explained = 0
    for n, d in enumerate(dialogues, 1):
        turns = dict(target_turns(d, catalog))
        if not turns:
            if progress:
                progress(n)
            continue
        profile = InterestProfile()
        mentioned: list[str] = []
        seeker_text: list[str] = []
        seeker_genres: list[set[str]] = []
        t_start = time.perf_counter()
        for i, m in enumerate(d.messages):
            if i in turns:
                exclude = set(mentioned)
                text = " ".join(seeker_text[-REQUEST_MESSAGES:])
                ranked = engine.recommend(profile, _history(mentioned, profile), k=50, text=text,
                                          exclude=list(exclude), named_genres=last_named(seeker_genres))
                ids = [r.item_id for r in ranked]
                res.seconds.append(time.perf_counter() - t_start)
                if explain_sample and explained < explain_sample and ranked:
                    # The LLM writes the sample whenever one is loaded: `--no-llm` skips it in extraction only.
                    assistant.explainer.explain(ranked[0].item_id, ranked[0].evidence,
                                                use_llm=assistant.llm is not None)
                    explained += 1
                pop_ids = [x for x in pop_order[:400] if x not in exclude][:50]
                trend_ids = [x for x in trend_order if x not in exclude][:50]
                res.turns += 1
                for target in turns[i]:
                    res.targets += 1
                    rank = ids.index(target) + 1 if target in ids else None
                    res.ours.add(rank)
                    res.popularity.add(pop_ids.index(target) + 1 if target in pop_ids else None)
                    res.trending.add(trend_ids.index(target) + 1 if target in trend_ids else None)
                    if target is not None:
                        res.targets_in_catalog += 1
                        res.ours_in_catalog.add(rank)
            profile = read_message(assistant, matcher, d.render(m.text), m.is_seeker, profile, seeker_text,
                                   mentioned, use_llm=use_llm, seeker_genres=seeker_genres)
            t_start = time.perf_counter()
        if progress:
            progress(n)
    res.named_genre_precision, res.named_genres = named_genre_precision(assistant, use_llm=use_llm)
    stats = assistant.explainer.stats
    if stats.llm_attempts or stats.fallbacks:
        res.explanation_pass_rate, res.explanation_fallback_rate = stats.pass_rate, stats.fallback_rate
    return res


GENRE_REQUEST = "recommend me a good {} movie"


def named_genre_precision(assistant, *, use_llm: bool, k: int = 10) -> tuple[float, int]:
    """Guard against priors that drown what the user asked for: for each catalog genre, the share of
    the top `k` for "recommend me a good <genre> movie" that carries the genre. Returns (share, genres)."""
    catalog, engine = assistant.catalog, assistant.engine
    shares = []
    for genre in catalog.genres:
        if genre.startswith("("):  # MovieLens's "(no genres listed)"
            continue
        text = GENRE_REQUEST.format(genre.lower())
        profile, _ = assistant.extractor.extract(text, use_llm=use_llm)
        ranked = engine.recommend(profile, [], k=k, text=text, named_genres=profile.liked_genres())
        shares.append(sum(genre in catalog.items[r.item_id].genres for r in ranked) / k)
    return (float(np.mean(shares)) if shares else 0.0), len(shares)


@dataclass(frozen=True)
class TurnRequest:
    """One recommender turn of a dialogue as a request: what the assistant has read of the dialogue so far."""

    profile: InterestProfile
    history: list[str]  # items mentioned so far, minus the seeker's disliked ones
    text: str  # the seeker's last `REQUEST_MESSAGES` messages
    mentioned: list[str]  # every item mentioned so far (excluded under the dedup protocol)
    named_genres: set[str]  # the genres the seeker's latest message names
    targets: list[str | None]  # the turn's newly suggested items (None: not in the catalog)


def turn_requests(assistant, matcher, d: Dialogue, *, use_llm: bool) -> Iterator[TurnRequest]:
    """Each recommender turn of `d` that newly suggests items, as a request, reading the messages in order."""
    turns = dict(target_turns(d, assistant.catalog))
    profile, mentioned, seeker_text, seeker_genres = InterestProfile(), [], [], []
    for i, m in enumerate(d.messages):
        if i in turns:
            yield TurnRequest(profile, _history(mentioned, profile), " ".join(seeker_text[-REQUEST_MESSAGES:]),
                              list(mentioned), last_named(seeker_genres), turns[i])
        profile = read_message(assistant, matcher, d.render(m.text), m.is_seeker, profile, seeker_text, mentioned,
                               use_llm=use_llm, seeker_genres=seeker_genres)


def last_named(seeker_genres: list[set[str]]) -> set[str]:
    """The genres the seeker's latest message names: what a chat turn's request names (none before it spoke)."""
    return seeker_genres[-1] if seeker_genres else set()


def read_message(assistant, matcher, text: str, is_seeker: bool, profile: InterestProfile,
                 seeker_text: list[str], mentioned: list[str], *, use_llm: bool,
                 seeker_genres: list[set[str]] | None = None) -> InterestProfile:
    """One dialogue message as the assistant reads it -> the seeker's profile after it.

    A seeker's words go through extraction (and into `seeker_text`, the genres they name into
    `seeker_genres`); every message's named items are appended to `mentioned` in order, once each."""
    if is_seeker:
        delta, _ = assistant.extractor.extract(text, use_llm=use_llm)
        profile = profile.merged_with(delta)
        seeker_text.append(text)
        if seeker_genres is not None:
            seeker_genres.append(delta.liked_genres())
    mentioned.extend(x.item_id for x in matcher.find_mentions(text) if x.item_id not in mentioned)
    return profile


def _history(mentioned: list[str], profile: InterestProfile) -> list[str]:
    """Everything mentioned so far, in order, minus what the seeker disliked: the dialogue's 'history'."""
    blocked = set(profile.disliked_ids())
    return [m for m in mentioned if m not in blocked]


def format_crs(r: CRSResult) -> str:
    secs = np.array(r.seconds) if r.seconds else np.zeros(1)
    lines = [
        f"ReDial conversational recommendation: {r.turns} recommender turns, {r.targets} target movies "
        f"({r.targets_in_catalog} in the catalog, {r.targets - r.targets_in_catalog} not: counted as misses); "
        f"LLM for extraction: {r.llm_backend}, for the explanation sample: {r.explain_backend}",
        "",
        f"{'method':<34}{'R@1':>8}{'R@10':>8}{'R@50':>8}{'NDCG@10':>9}",
    ]
    for name, s in (("recassist", r.ours), ("recassist, in-catalog targets only", r.ours_in_catalog),
                    ("popularity", r.popularity), ("popular now (trend alone)", r.trending)):
        r1, r10, r50, nd = s.row()
        lines.append(f"{name:<34}{r1:>8.3f}{r10:>8.3f}{r50:>8.3f}{nd:>9.3f}")
    lines.append(f"\nseconds per turn (dialogue so far -> ranked list): p50 {np.percentile(secs, 50):.3f}, "
                 f"p95 {np.percentile(secs, 95):.3f}")
    if r.named_genre_precision is not None:
        lines.append(f'named-genre requests ("{GENRE_REQUEST.format("<genre>")}", {r.named_genres} genres): '
                     f"share of the top 10 with that genre {r.named_genre_precision:.3f}")
    if r.explanation_pass_rate is not None:
        lines.append(f"explanations: checker pass rate {r.explanation_pass_rate:.3f}, "
                     f"fallback rate {r.explanation_fallback_rate:.3f}")
    return "\n".join(lines)

"""Extraction evaluation on ReDial (protocol in README "Evaluating extraction").

Per dialogue, the seeker's utterances (with @id replaced by the movie's name)
are extracted into a profile. Gold: every movie the seeker mentioned and
answered about afterwards (initiatorQuestions liked = 1 -> liked, 0 ->
disliked, 2 -> skipped), mapped to the catalog by the title matcher; a gold
movie absent from the catalog stays a miss for every method. A prediction is
judged against the seeker's answer for that movie (any movie of the dialogue
the seeker answered about); a predicted movie the seeker gave no answer for
(said "did not say", or never tagged in the dialogue, e.g. typed without the
@ link) cannot be judged: it is skipped and counted separately. The baseline
"every mentioned movie is liked" is scored on the same gold in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from recassist.assistant.evaluation.redial import Dialogue, iter_seeker_texts
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.assistant.extraction.mentions import matcher_for
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.profile import InterestProfile


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class MethodScores:
    liked: PRF = field(default_factory=PRF)
    disliked: PRF = field(default_factory=PRF)
    predicted_titles: int = 0
    invented_titles: int = 0
    unjudged: int = 0  # predictions of movies the seeker gave no liked/disliked answer for
    seconds: float = 0.0

    @property
    def invented_rate(self) -> float:
        return self.invented_titles / self.predicted_titles if self.predicted_titles else 0.0


@dataclass
class ExtractionEvalResult:
    dialogues: int
    gold_liked: int
    gold_disliked: int
    mentions: int
    mentions_matched: int
    ours: MethodScores
    baseline: MethodScores
    llm_failures: int
    llm_backend: str

    @property
    def match_rate(self) -> float:
        return self.mentions_matched / self.mentions if self.mentions else 0.0


def _answers(d: Dialogue, catalog: Catalog) -> dict[str, int]:
    """catalog id -> the seeker's liked (1) / disliked (0) answer, for every answered movie of the dialogue."""
    matcher = matcher_for(catalog)
    out: dict[str, int] = {}
    for mid, answer in d.seeker_answers.items():
        liked = answer.get("liked", 2) if isinstance(answer, dict) else 2
        item_id = matcher.match_name(d.movie_names.get(mid, "") or "")
        if liked in (0, 1) and item_id is not None:
            out.setdefault(item_id, liked)
    return out


def _gold(d: Dialogue, catalog: Catalog) -> tuple[dict[str, int], int, int]:
    """catalog id -> liked (1) / disliked (0) for answered seeker mentions; plus mention counts."""
    matcher = matcher_for(catalog)
    gold: dict[str, int] = {}
    mentions = matched = 0
    for mid in d.seeker_mentioned_ids():
        name = d.movie_names.get(mid)
        if not name:
            continue
        mentions += 1
        item_id = matcher.match_name(name)
        matched += item_id is not None
        liked = d.seeker_answers.get(mid, {}).get("liked", 2)
        if liked in (0, 1):
            gold[item_id or f"missing:{mid}"] = liked
    return gold, mentions, matched


def _score(pred_liked: set[str], pred_disliked: set[str], gold: dict[str, int], answers: dict[str, int],
           into: MethodScores) -> None:
    judge = {**answers, **gold}
    for side, prf, want in ((pred_liked, into.liked, 1), (pred_disliked, into.disliked, 0)):
        for item_id in side:
            if item_id not in judge:
                into.unjudged += 1
            elif judge[item_id] == want:
                prf.tp += 1
            else:
                prf.fp += 1
        prf.fn += sum(1 for item_id, v in gold.items() if v == want and item_id not in side)


def _is_invented(profile_entry_title: str, surface: str, text: str, catalog: Catalog, item_id: str) -> bool:
    """A predicted title is invented if it is not a catalog item or its words are not in the text."""
    if item_id not in catalog or surface not in text:
        return True
    item = catalog.get(item_id)
    names = {normalize_title(n) for n in (item.title, *item.aliases)}
    key = normalize_title(surface)
    # Misspellings the matcher forgave ("Killer Clowns" ~ "Killer Klowns") still name the item.
    return not any(key == n or n.startswith(key + " ") or key.startswith(n) or fuzz.ratio(key, n) >= 85
                   for n in names)


def evaluate_extraction(
    dialogues: list[Dialogue], catalog: Catalog, extractor: InterestExtractor, *,
    progress: Callable[[int], None] | None = None,
) -> ExtractionEvalResult:
    ours, base = MethodScores(), MethodScores()
    gold_l = gold_d = mentions = matched = llm_failures = 0
    matcher = matcher_for(catalog)
    for n, d in enumerate(dialogues, 1):
        gold, m_count, m_matched = _gold(d, catalog)
        mentions += m_count
        matched += m_matched
        gold_l += sum(v == 1 for v in gold.values())
        gold_d += sum(v == 0 for v in gold.values())
        answers = _answers(d, catalog)
        text = "\n".join(iter_seeker_texts(d))
        t0 = time.perf_counter()
        profile, report = extractor.extract(text)
        ours.seconds += time.perf_counter() - t0
        llm_failures += report.llm_error is not None
        _score(set(profile.liked_ids()), set(profile.disliked_ids()), gold, answers, ours)
        _count_invented(profile, text, catalog, ours)
        t0 = time.perf_counter()
        base_liked = {iid for mid in d.seeker_mentioned_ids()
                      if (iid := matcher.match_name(d.movie_names.get(mid, "") or "")) is not None}
        base.seconds += time.perf_counter() - t0
        _score(base_liked, set(), gold, answers, base)
        base.predicted_titles += len(base_liked)
        if progress:
            progress(n)
    return ExtractionEvalResult(
        dialogues=len(dialogues), gold_liked=gold_l, gold_disliked=gold_d, mentions=mentions,
        mentions_matched=matched, ours=ours, baseline=base, llm_failures=llm_failures,
        llm_backend=extractor.llm.backend if extractor.llm else "none",
    )


def _count_invented(profile: InterestProfile, text: str, catalog: Catalog, into: MethodScores) -> None:
    for p in (*profile.liked_items, *profile.disliked_items):
        into.predicted_titles += 1
        into.invented_titles += _is_invented(p.title, p.source.text, text, catalog, p.item_id)


def format_result(r: ExtractionEvalResult) -> str:
    n = max(1, r.dialogues)
    lines = [
        f"ReDial extraction eval: {r.dialogues} dialogues, gold liked {r.gold_liked}, gold disliked {r.gold_disliked}"
        f" (seeker-mentioned movies with an answer), LLM backend: {r.llm_backend}",
        f"mention-to-catalog match rate: {r.match_rate:.3f} ({r.mentions_matched}/{r.mentions} seeker mentions)",
        "",
        f"{'method':<28}{'liked P':>9}{'liked R':>9}{'liked F1':>10}{'disl P':>9}{'disl R':>9}{'disl F1':>9}"
        f"{'invented':>10}{'unjudged':>10}{'s/dialogue':>12}",
    ]
    for name, s in (("recassist extraction", r.ours), ("baseline: all mentioned liked", r.baseline)):
        lines.append(
            f"{name:<28}{s.liked.precision:>9.3f}{s.liked.recall:>9.3f}{s.liked.f1:>10.3f}"
            f"{s.disliked.precision:>9.3f}{s.disliked.recall:>9.3f}{s.disliked.f1:>9.3f}"
            f"{s.invented_rate:>10.3f}{s.unjudged:>10d}{s.seconds / n:>12.3f}"
        )
    lines.append("\ninvented = predicted titles not in the catalog or not in the text; unjudged = predicted movies"
                 " the seeker gave no liked/disliked answer for (skipped, like answer 2)")
    lines.append(f"LLM calls that failed (profile degraded, text rules only): {r.llm_failures}")
    return "\n".join(lines)

"""How much each training conversation may teach about each item it suggests: a defence against poisoned corpora.

Co-suggestion and text-to-item cap what one conversation can add, but many near-identical dialogues pushing one
film (sybils) still add up: 203 of them put a film in the top 50 for most unrelated requests. Three rules give
every (conversation, suggested item) a weight in [0, 1], used by both scorers and by the layer's replay:

1. **Instructions to a model** (`carries_instructions`): a dialogue with a message addressed to an AI
   ("ignore all previous instructions", fake system turns, role JSON) is not a chat between people; it is
   skipped and counted, never silently.
2. **Near-duplicates**: dialogues with the same wording once the titles are taken out (only the lower-case
   words of every message, in order, without single letters and the small words titles hold) that suggest
   the same items are one template filled in many times; the group counts as `duplicate_cap` of its
   conversations.
3. **Added corpora**: when a corpus other than the trusted ones (the shipped corpus) suggests one item in more
   than `source_share` of its conversations (the shipped corpus's most suggested film: 5.2%) and more often
   than `source_ratio` times the item's rate in the other corpora, only that expected number of its
   conversations (at least `min_support`) count for the item. What an added corpus adds is learnt; that it
   suggests one film everywhere is not. A corpus trained on alone has nothing to be compared with: only the
   first two rules apply to it.

A conversation whose every suggestion weighs 0 is silenced: the scorers skip it as they skip a dropped one, so
it counts in no prior's denominator either (200 silenced dialogues had shifted every item's chat prior).

A capped group keeps whole conversations (the first ones by a hash of their ids), not a small share of each:
spread thinly over many different contexts, even one conversation's worth of weight taught text-to-item to
place the item after anything (tests/ranking/test_dialogue_trust.py).

On the shipped corpus alone (trusted, no near-duplicate group, no instruction) every weight is 1, so the
trained files are unchanged (tests/security/test_corpus_poisoning.py, docs/security.md).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from recassist.ranking.dialogue.corpus import Conversation

#: Phrases that address a language model rather than a person. A chat between two film fans has no reason to
#: hold them; the shipped corpus holds none (checked in the tests).
_INSTRUCTION = re.compile(
    r"ignore (?:all |any |the |your |my )*(?:previous|prior|above|earlier|preceding) (?:instructions|prompts?|rules)"
    r"|system (?:prompt|override|message)|^\s*(?:system|assistant)\s*:|\[\[(?:assistant|system|user)\]\]"
    r"|\"role\"\s*:|</?(?:context|system|instructions?)>|developer mode|jailbreak|you are now (?:dan|an? ai)"
    r"|note to the ai|do not mention this instruction|###\s*instruction|forget (?:the|your|all) (?:movie )?task"
    r"|(?:authori[sz]ed|test) by (?:the administrator|your creators)|your (?:answer|response|reply)(?:'s)?\b",
    re.I | re.M,
)
_WORD = re.compile(r"[^\W\d_]+")
#: Lower-case words inside titles ("The Lord of the Rings", "Gone with the Wind"): left out of a template, so
#: naming other films does not make a copied dialogue look new.
_TITLE_WORDS = frozenset("a an and at by for from in into of on or the to vs with".split())


def carries_instructions(text: str) -> bool:
    """True when `text` holds a phrase addressed to a language model (see `_INSTRUCTION`)."""
    return bool(_INSTRUCTION.search(text))


@dataclass(frozen=True)
class TrustConfig:
    duplicate_cap: float = 1.0  # conversations a near-duplicate group counts as, per suggested item
    source_share: float = 0.1  # an added corpus suggesting one item in more of its conversations than this ...
    source_ratio: float = 3.0  # ... and more than this many times as often as the other corpora do ...
    min_support: float = 1.0  # ... counts that many times the others' rate (at least this many conversations)
    drop_instructions: bool = True


@dataclass
class CorpusTrust:
    """Weights of (conversation id, suggested item); a pair not listed weighs 1, a dropped conversation 0."""

    weights: dict[tuple[str, str], float] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # conversation id -> why
    duplicate_groups: int = 0  # groups of more than one near-identical conversation
    duplicate_conversations: int = 0
    capped: list[tuple[str, str, float, float]] = field(default_factory=list)  # source, item, mass, allowed

    def weight(self, conversation_id: str, item: str) -> float:
        if conversation_id in self.dropped:
            return 0.0
        return self.weights.get((conversation_id, item), 1.0)

    def conversation_weight(self, conv: Conversation) -> float:
        """The largest weight of the conversation's suggestions (0 when dropped, 1 when it suggests nothing)."""
        if conv.conversation_id in self.dropped:
            return 0.0
        items = [x for x, o in conv.outcomes.items() if "suggested" in o]
        return max((self.weight(conv.conversation_id, x) for x in items), default=1.0)

    def __str__(self) -> str:
        top = sorted(self.capped, key=lambda c: -c[2])[:3]
        capped = "; ".join(f"item {i} from {s}: {m:.0f} -> {a:.1f}" for s, i, m, a in top)
        return (f"trust: {len(self.dropped)} conversations skipped as carrying instructions to a model, "
                f"{self.duplicate_conversations} near-duplicates in {self.duplicate_groups} groups (each group "
                f"counts as one), {len(self.capped)} items capped for added corpora"
                + (f" ({capped} conversations)" if capped else ""))


def corpus_trust(conversations: Sequence[Conversation], source_of: Mapping[str, str] | None = None,
                 trusted: Collection[str] = (), config: TrustConfig | None = None) -> CorpusTrust:
    """The weights of every (conversation, suggested item) of `conversations` (see the module docstring).

    `source_of`: conversation id -> the corpus it came from (default: one corpus); `trusted`: corpora never
    capped against the others (the shipped one)."""
    cfg = config or TrustConfig()
    source_of = source_of or {}
    out = CorpusTrust()
    kept = []
    for conv in conversations:
        if cfg.drop_instructions and any(carries_instructions(t.text) for t in conv.turns):
            out.dropped[conv.conversation_id] = "instructions to a model"
        else:
            kept.append(conv)
    _cap_duplicates(kept, cfg, out)
    _cap_sources(kept, source_of, set(trusted), cfg, out)
    return out


def _suggested(conv: Conversation) -> list[str]:
    return sorted(x for x, o in conv.outcomes.items() if "suggested" in o)


def _template(conv: Conversation) -> str:
    """The conversation's wording without titles: each message's lower-case words (title words are capitalised,
    ids and years are digits), with its role."""
    parts = [t.role + ":" + " ".join(w for w in _WORD.findall(t.text)
                                     if len(w) > 1 and w.islower() and w not in _TITLE_WORDS) for t in conv.turns]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def _cap_duplicates(convs: Sequence[Conversation], cfg: TrustConfig, out: CorpusTrust) -> None:
    groups: dict[tuple[str, tuple[str, ...]], list[Conversation]] = defaultdict(list)
    for conv in convs:
        items = tuple(_suggested(conv))
        if items:
            groups[(_template(conv), items)].append(conv)
    for (_, items), members in groups.items():
        if len(members) < 2:
            continue
        out.duplicate_groups += 1
        out.duplicate_conversations += len(members)
        for x in items:
            _keep_first(members, x, cfg.duplicate_cap, out)


def _cap_sources(convs: Sequence[Conversation], source_of: Mapping[str, str], trusted: set[str],
                 cfg: TrustConfig, out: CorpusTrust) -> None:
    sources = {source_of.get(c.conversation_id, "") for c in convs}
    if len(sources) < 2 or not sources - trusted:
        return  # one corpus has nothing to be compared with
    size: dict[str, int] = defaultdict(int)
    mass: dict[tuple[str, str], float] = defaultdict(float)  # (source, item) -> weight of its suggestions
    for conv in convs:
        s = source_of.get(conv.conversation_id, "")
        size[s] += 1
        for x in _suggested(conv):
            mass[(s, x)] += out.weight(conv.conversation_id, x)
    total_size = sum(size.values())
    item_mass: dict[str, float] = defaultdict(float)
    for (_, x), m in mass.items():
        item_mass[x] += m
    allowed: dict[tuple[str, str], float] = {}
    for (s, x), m in mass.items():
        if s in trusted:
            continue
        rest = total_size - size[s]
        expected = cfg.source_ratio * size[s] * ((item_mass[x] - m) / rest if rest else 0.0)
        a = max(cfg.min_support, expected)
        if m > cfg.source_share * size[s] and m > a:
            allowed[(s, x)] = a
            out.capped.append((s, x, m, a))
    members: dict[tuple[str, str], list[Conversation]] = defaultdict(list)
    for conv in convs:
        s = source_of.get(conv.conversation_id, "")
        for x in _suggested(conv):
            if (s, x) in allowed:
                members[(s, x)].append(conv)
    for (s, x), group in members.items():
        _keep_first(group, x, allowed[(s, x)], out)


def _keep_first(group: Sequence[Conversation], item: str, total: float, out: CorpusTrust) -> None:
    """Keep the weights of `group`'s first conversations (by a hash of their ids) for `item` until they add up
    to `total`; the rest weigh 0 for it."""
    left = total
    for conv in sorted(group, key=lambda c: hashlib.sha1(c.conversation_id.encode()).hexdigest()):
        w = out.weight(conv.conversation_id, item)
        out.weights[(conv.conversation_id, item)] = min(w, max(0.0, left))
        left -= w

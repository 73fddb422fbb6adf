"""The one negation lexicon: the words and phrases that turn a mention into a dislike or an exclusion.

Aspects (`aspects.py`) and titles (`polarity.py`) read negation from here. Each reader looks in a
different window (anywhere earlier in the aspect's clause, right before a title, the whole clause
around a title), so the lexicon is a few word groups and the patterns each window builds from them;
a word added to a group reaches every reader that uses the group.
"""

from __future__ import annotations

import re

# Negate whatever follows them: "no horror", "not The Notebook", "never westerns", "except Heat".
NEGATORS = ("no", "not", "never", "without", "except")
# Also make a genre a hard exclusion rather than a dislike: "no horror", "nothing scary", "without gore".
EXCLUDERS = ("no", "nothing", "without", "avoid", "exclude", "except", "skip", "not")
# Stated aversion: "hated Gravity", "can't stand musicals".
AVERSION = (r"hate[ds]?", r"dislike[ds]?", r"can'?t stand")
# Phrases that negate an aspect named later in the clause: "don't want horror", "tired of superheroes".
NEGATING_PHRASES = (
    r"don'?t (?:like|want|enjoy|love|care for)", r"do not (?:like|want|enjoy|love)",
    r"not (?:a fan of|into|in the mood for)", r"tired of", r"sick of", r"too much",
)
# Phrases after an aspect that reject it: "horror is not my thing", "westerns bore me".
REJECTING_AFTER = (
    r"not my thing", r"not for me", r"bores? me", r"bored me", r"is boring", r"are boring",
    r"(?:is|are) (?:too much|not my cup of tea)", r"please no", r"no thanks",
)
# A stated stance against a title anywhere in its clause (hedges on purpose: "didn't love" and "not a
# fan" are stated dislikes in a recommendation chat).
NEGATIVE_STANCE = (
    *AVERSION, r"hating", r"loathe[ds]?", r"couldn'?t stand",
    r"(?:did ?n[o']?t|do ?n[o']?t|does ?n[o']?t|never|not|wasn'?t|isn'?t|wouldn'?t)\s+"
    r"(?:really\s+|much\s+|quite\s+|that\s+|too\s+|even\s+)?"
    r"(?:like|love|enjoy|care for|get|into|a fan|fan|for me|my (?:thing|cup of tea)|good|great|funny|interesting|"
    r"impressed|that good)",
    r"not (?:much |really |a big |a huge |the biggest )?(?:of )?an? [^.!?,]{0,40}?\bfan",
    r"never again", r"waste of time", r"too (?:slow|long|tedious|boring|violent|dark|bleak|scary|gory|cheesy|silly)",
    r"bor(?:ed|ing)", r"tedious", r"overrated", r"awful", r"terrible", r"horrible", r"worst",
    r"disappoint(?:ed|ing)", r"meh", r"fell asleep", r"slept through", r"turned it off", r"walked out",
    r"not for everyone", r"no interest", r"not interested",
)


def _any(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(dict.fromkeys(words)) + ")"


# Aspects: a negation earlier in the aspect's clause.
ASPECT_NEGATED_BEFORE = re.compile(
    r"\b" + _any((*NEGATORS, *EXCLUDERS, "none", "less", *AVERSION, *NEGATING_PHRASES)) + r"\b[^.;!?]*$",
    re.IGNORECASE,
)
# Aspects: the negation that makes it a hard exclusion, at most two words before the aspect.
ASPECT_EXCLUDED_BEFORE = re.compile(r"\b" + _any(EXCLUDERS) + r"\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
# "anything but horror", "everything except westerns or musicals": the clause split at "but" hides the
# negation from the clause, so the words before the clause are checked for it.
ANYTHING_BUT = re.compile(
    r"\b(?:anything|everything|whatever|all)\s+(?:but|except|other than|apart from)\s+(?:\w+\s+){0,3}$",
    re.IGNORECASE,
)
ASPECT_REJECTED_AFTER = re.compile(r"^[^.;!?,]{0,25}\b" + _any(REJECTING_AFTER) + r"\b", re.IGNORECASE)
# Titles: "but not Minions", "except The Godfather", "besides Heat": a negation right before the title.
TITLE_NEGATED_BEFORE = re.compile(r"\b" + _any((*NEGATORS, "besides")) + r"\s*(?:the\s+|a\s+)?$", re.IGNORECASE)
# Titles: an explicit negative stance in the title's clause (checked before sentiment scores).
NEGATIVE_STANCE_CUES = re.compile(r"\b" + _any(NEGATIVE_STANCE) + r"\b", re.IGNORECASE)

"""Pure parts of the surfaces: escaping, the profile panel's ops, the rate limiter, the error table."""

from __future__ import annotations

import html
import json
import re

import pytest
from pydantic import SecretStr
from recassist.assistant.conversation.models import RecommendedItem
from recassist.assistant.store.edits import apply_ops, parse_ops
from recassist.foundation.errors import (
    BackendError,
    FilterError,
    InputError,
    LLMTimeoutError,
    NotFoundError,
    StateMismatchError,
    StoreError,
    UnknownItemError,
)
from recassist.foundation.profile import AspectPreference, InterestProfile, ItemPreference, Source, Theme, YearRange
from recassist.ui.api.errors import status_for
from recassist.ui.api.security import ApiKeys, RateLimiter
from recassist.ui.web.profile_panel import profile_choices, selected_ops
from recassist.ui.web.render import assistant_message, card_html, esc_md, user_message

MARKUP = "<img src=x onerror=alert(1)>"


def _item(title: str = MARKUP, **kw) -> RecommendedItem:
    return RecommendedItem(
        item_id=kw.pop("item_id", "7"),
        title=title,
        year=2024,
        genres=["<b>Drama</b>"],
        score=1.0,
        rank=1,
        **kw,
    )


def test_cards_escape_every_value():
    html = card_html(_item(item_id='"><script>x</script>'), "because <script>alert(2)</script>", feedback="<i>")
    assert "<img" not in html and "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'data-item-id="&quot;&gt;&lt;script&gt;' in html


@pytest.mark.parametrize(
    "text",
    [
        MARKUP,
        "[click](javascript:alert(1))",
        "**bold** _it_ `code`",
        "# heading",
        "1. list",
        "- item",
        "https://evil.example",
        "a@b.example",
        "x | y",
        "&lt;already escaped&gt;",
        "Schindler's List",
    ],
)
def test_markdown_escaping_leaves_no_markup(text):
    out = esc_md(text)
    # What Markdown shows (backslash escapes dropped, entities decoded) is exactly the input...
    assert html.unescape(re.sub(r"\\(.)", r"\1", out)) == text
    # ...because no tag, no unescaped syntax character and no autolink is left for it to act on.
    assert "<" not in out and ">" not in out
    assert re.search(r"(?<!\\)[*_`\[\]#|~@]", out) is None
    assert "https://" not in out and re.search(r"(?m)^\s*(?:[-+=]|\d+[.)])", out) is None
    assert "&#x27;" not in out  # quotes stay quotes (an entity's '#' would be escaped and show)


def test_chat_messages_use_content_blocks():
    user = user_message(MARKUP)
    assert user == {"role": "user", "content": [{"type": "text", "text": esc_md(MARKUP)}]}
    reply = assistant_message("Here:", [_item(explanation="old")], {"7": "new reason"})
    text = reply["content"][0]["text"]
    assert reply["role"] == "assistant" and "new reason" in text and "old" not in text
    assert text.startswith("Here:\n\n1\\. **&lt;img")


def _src() -> Source:
    return Source(text="words")


def test_profile_choices_remove_exactly_their_entry():
    catalog_free = InterestProfile(
        liked_items=[ItemPreference(item_id="1", title=MARKUP, source=_src())],
        disliked_aspects=[AspectPreference(aspect="Horror", kind="genre", source=_src())],
        themes=[Theme(text="something thoughtful", source=_src())],
    )
    catalog_free.constraints.years = YearRange(min_year=1990, source=_src())
    choices = profile_choices(catalog_free)
    assert [label for label, _ in choices] == [
        f"liked: {MARKUP}",
        "dislikes genre: Horror",
        "wish: something thoughtful",
        "years: 1990–…",
    ]
    for label, value in choices:
        after, _ = apply_ops(catalog_free, parse_ops(selected_ops([value])), None)
        assert len(profile_choices(after)) == len(choices) - 1
        assert label not in [lab for lab, _ in profile_choices(after)]
    assert selected_ops(["not json", json.dumps([1]), choices[0][1]]) == [json.loads(choices[0][1])]


def test_rate_limiter_refills_per_caller():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one token a second, bursts of 60
    assert all(limiter.acquire("a") is None for _ in range(60))
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b") is None
    now[0] += 1.0
    assert limiter.acquire("a") is None and limiter.acquire("a") is not None
    assert RateLimiter(0).acquire("a") is None  # 0 = off


def test_api_keys_identify_which_key():
    keys = ApiKeys([SecretStr("alpha"), "beta"])
    assert keys.enabled and keys.identify("beta") == "key-2" and keys.identify("alpha") == "key-1"
    assert keys.identify("alph") is None and keys.identify("") is None
    assert not ApiKeys([]).enabled


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("x"), 404),
        (UnknownItemError("x"), 404),
        (FilterError("x"), 422),
        (InputError("x"), 400),
        (StateMismatchError("x"), 503),
        (LLMTimeoutError("x"), 504),
        (StoreError("x"), 503),
        (BackendError("x"), 503),
        (RuntimeError("x"), 500),
    ],
)
def test_error_statuses(error, status):
    assert status_for(error)[0] == status

"""Hostile input on each surface, small samples of the robustness runs (bench/robustness.py has the figures)."""

from __future__ import annotations

import html.parser
import random

import pytest
from recassist.assistant.conversation.models import RecommendedItem
from recassist.ui.web.render import assistant_message, card_html
from robust_injection import attack_corpus, catalog_keys, run_channels
from robust_xss import payloads


def test_the_attack_corpus_has_own_and_vendored_attacks_with_detectable_payloads():
    attacks = attack_corpus()
    assert len(attacks) >= 200
    assert sum(a.source == "bipia" for a in attacks) == 75
    assert all(a.markers for a in attacks if a.source == "own")


def test_injected_texts_and_items_yield_only_catalog_items_and_no_payload(served, sec_assistant, sec_settings):
    attacks = attack_corpus()
    random.Random(3).shuffle(attacks)
    results = run_channels(served, attacks[:6], catalog_keys(sec_assistant, sec_settings), seed=99)
    for channel, r in results.items():
        assert r.requests >= 6, channel
        assert (r.errors_5xx, r.off_catalog, r.payload_echoes, r.canary_leaks) == (0, 0, 0, 0), (channel, r.examples)
    assert results["item"].item_missing == 0  # each injected item came back, so its text reached the explainer


class _Tags(html.parser.HTMLParser):
    """Collects every element and attribute a browser would build from the markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


@pytest.mark.parametrize("payload", payloads())
def test_xss_payloads_render_as_text_in_cards_and_chat(payload):
    item = RecommendedItem(item_id="x1", title=payload, genres=[payload], score=1.0, rank=1, explanation=payload)
    parser = _Tags()
    parser.feed(card_html(item, payload, feedback=payload))
    assert set(parser.tags) <= {"div", "span", "p"}
    assert {name for name, _ in parser.attrs} <= {"class", "data-item-id"}
    text = assistant_message(payload, [item])["content"][0]["text"]
    # No tag, and no live Markdown link or image: every `]` before a `(` is backslashed. A `javascript:` left in
    # the text is then only characters (GFM autolinks http, https and www, never javascript).
    assert "<" not in text
    assert "](" not in text.replace("\\](", "")


def test_fuzzing_a_sample_finds_no_server_error_and_no_schema_drift(sec_app):
    from robust_fuzz import fuzz

    res = fuzz(sec_app, per_operation_mode=2)
    assert res.requests >= 30
    assert (res.server_errors, res.nonconforming, res.unhelpful_4xx, res.no_answer) == (0, 0, 0, 0), res.examples


def test_sigkilled_feedback_writers_lose_no_acknowledged_write(sec_settings, tmp_path):
    from recassist.foundation.settings import Settings
    from robust_crash import run_crashes

    settings = Settings(data_dir=tmp_path, catalog_dir=sec_settings.catalog_dir)
    res = run_crashes({"feedback": settings}, {"feedback": 3})
    assert res.kills == 3 and res.acked > 0
    assert (res.lost, res.load_failures) == (0, 0), res.examples

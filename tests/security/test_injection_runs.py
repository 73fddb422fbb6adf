"""The injection run's machinery: the LLM under test really sits behind the channels, a stopped run resumes
from its journal, and a poisoned conversation corpus is read as the training command reads it."""

from __future__ import annotations

import json
import random

import httpx
from robust_corpus import fragments, poisoned_rows, scan_prompts, write_corpus
from robust_injection import (
    CHANNELS,
    ChannelResult,
    attack_corpus,
    catalog_keys,
    check,
    journaled,
    run_channels,
    summarize,
)


def test_a_stopped_run_resumes_from_its_journal_and_counts_every_pair_once(served, sec_assistant, sec_settings,
                                                                          tmp_path):
    attacks = attack_corpus()
    random.Random(5).shuffle(attacks)
    journal = tmp_path / "injection.jsonl"
    ids = catalog_keys(sec_assistant, sec_settings)
    run_channels(served, attacks[:2], ids, journal=journal, backend="none", seed=7)
    with journal.open("a") as f:
        f.write('{"backend": "none", "attack": 2, "chan')  # the line a kill cut short is run again

    resumed = run_channels(served, attacks[:3], ids, journal=journal, backend="none", seed=7)

    assert all(r.requests == (2 if c == "item" else 1) for c, r in resumed.items())  # attack 2 only
    assert set(journaled(journal, "none")) == {(n, c) for n in range(3) for c in CHANNELS}
    total = summarize(journal, "none", 3)
    assert total.attacks == 3 and total.channels["extract"].requests == 3 and len(total.seconds) == 12
    assert sum(getattr(r, k) for r in total.channels.values()
               for k in ("canary_leaks", "off_catalog", "payload_echoes", "errors_5xx")) == 0

    # After a fix, chosen attacks run again; their later lines replace the earlier ones in the totals.
    again = run_channels(served, attacks[:3], ids, journal=journal, backend="none", seed=7, rerun={1})
    assert all(r.requests == (2 if c == "item" else 1) for c, r in again.items())  # attack 1 only
    assert summarize(journal, "none", 3).channels["extract"].requests == 3


def test_the_llm_under_test_is_what_the_channels_call(sec_settings):
    """The harness wraps the embedded model in the canary planter; the assistant's parts must use it."""
    from recassist.assistant.llm import get_llm
    from recassist.foundation.settings import Settings
    from robust_harness import CANARY, CanaryLLM, open_assistant

    settings = Settings(data_dir=sec_settings.data_dir, catalog_dir=sec_settings.catalog_dir, llm_timeout_s=2.0)
    llm = CanaryLLM(get_llm(settings))
    assistant = open_assistant(settings, llm)
    assert assistant.parts.llm is llm and assistant.explainer.llm is llm

    assistant.extract("I loved Heat and want more tense crime films")

    assert llm.calls >= 1 and any("tense crime films" in p for p in llm.prompts)
    assert llm.counters()["calls"] == llm.calls and CANARY not in "".join(llm.prompts)  # planted after recording


def test_a_poisoned_corpus_is_read_as_training_reads_it_and_its_text_is_found_in_a_prompt(sec_assistant,
                                                                                           tmp_path):
    from recassist.assistant.dialogue.training import read_corpora

    cat = sec_assistant.catalog
    pop = cat.popularity
    popular = [cat.items[i].label for i in sorted(pop, key=lambda i: -pop[i])[:20]]
    target = popular.pop()
    attacks = attack_corpus()[:10]
    path = write_corpus(tmp_path / "poisoned.jsonl", poisoned_rows(attacks, target, popular))

    convs, _ = read_corpora([path], cat)

    target_id = next(i for i in cat.item_ids if cat.items[i].label == target)
    assert len(convs) == 10 and all(c.suggested(target_id) and c.polarity(target_id) == 1 for c in convs)
    pieces = fragments(attacks)
    first = json.loads(path.read_text().splitlines()[0])["messages"][1]["text"]
    assert scan_prompts([f"system: be helpful\nuser: {first}"], pieces).with_corpus_text == 1
    assert scan_prompts([f"system: be helpful\nuser: I loved {target}"], pieces).with_corpus_text == 0


def test_an_item_of_another_catalog_is_checked_against_that_catalog(sec_assistant, sec_settings):
    """"Recommend a good book" (a BIPIA attack) is rightly answered from the books catalog: its ids are not
    off-catalog, while an id no catalog has is."""
    from recassist.foundation.catalog import load_catalog_cached

    keys = catalog_keys(sec_assistant, sec_settings)
    book = load_catalog_cached(str(sec_settings.extra_catalog_dirs[0])).item_ids[0]
    movie = sec_assistant.catalog.item_ids[0]
    attack = attack_corpus()[0]

    def counted(items: list[dict]) -> int:
        result = ChannelResult()
        check(httpx.Response(200, json={"text": "", "items": items}), attack, keys, result, "recommend")
        return result.off_catalog

    assert counted([{"item_id": movie}, {"item_id": book, "domain": "books"}]) == 0
    assert counted([{"item_id": "no-such-item-0"}]) == 1

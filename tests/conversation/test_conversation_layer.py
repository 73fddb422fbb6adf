"""The conversation-trained layer end to end on the test catalog slice: train from a corpus, rank with it,
evidence and explanations name it, hard rules hold, stored chats export to the corpus format."""

from __future__ import annotations

import json

import numpy as np
import pytest
from recassist.assistant.dialogue.export import session_rows
from recassist.assistant.dialogue.features import FEATURES
from recassist.assistant.dialogue.replay import SEEKER_LIKED, SUGGESTED, ReplayedTurns
from recassist.assistant.dialogue.scorer import (
    CHAT_WORDS_FILE,
    COMENTION_FILE,
    COSUGGEST_FILE,
    LAYER_FILE,
    TEXT_FILE,
    ConversationScorer,
)
from recassist.assistant.dialogue.training import read_corpora, train_conversation_layer
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.errors import InputError
from recassist.foundation.profile import InterestProfile
from recassist.foundation.settings import Settings
from recassist.ranking.dialogue.corpus import write_corpus

# (liked, suggested) pairs people repeat in the corpus below: Star Wars -> Empire, LOTR 1 -> 2, Matrix -> Memento.
PAIRS = [("260", "1196"), ("4993", "5952"), ("2571", "4226"), ("1", "4886")]
#: What the recommender calls each suggestion (chat words: ranking/dialogue/chat_words.py).
CALLED = ["thrilling", "epic", "mind-bending", "hilarious"]


#: Each conversation in its own words: verbatim copies of one dialogue count as one (ranking/dialogue/trust.py).
WHEN = "monday tuesday wednesday thursday friday saturday sunday".split()
WHOM = ("sister brother mum dad aunt uncle cousin friend neighbour colleague boss roommate grandma grandpa nephew "
        "niece partner teacher classmate coach flatmate landlord").split()


def _corpus(tmp_path, catalog, n=150):
    rows = []
    for i in range(n):
        liked, suggested = PAIRS[i % len(PAIRS)]
        words = f"saw it on {WHEN[i % len(WHEN)]} with my {WHOM[i // len(WHEN) % len(WHOM)]}"
        # Titles in the text: replay finds the history there, as a chat would.
        rows.append({"id": f"t{i}", "messages": [
            {"role": "seeker", "text": f"Hi, I loved {catalog.items[liked].label}, {words}",
             "mentions": [{"id": liked}]},
            {"role": "recommender", "text": f"You should watch {catalog.items[suggested].label}, so "
                                            f"{CALLED[i % len(PAIRS)]}",
             "mentions": [{"id": suggested}]},
            {"role": "seeker", "text": "thanks, sounds good"}],
            "outcomes": [{"id": liked, "outcome": ["liked", "seen"]}, {"id": suggested, "outcome": ["suggested"]}]})
    path = tmp_path / "corpus.jsonl"
    write_corpus(rows, path)
    return path


def scorer_version(settings):
    return load_catalog_cached(str(settings.catalog_dir)).version


@pytest.fixture(scope="module")
def trained(rules_assistant, small_settings, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conv")
    settings = Settings(data_dir=tmp / "data", catalog_dir=small_settings.catalog_dir)
    report = train_conversation_layer(settings, [_corpus(tmp, rules_assistant.catalog)], progress=False,
                                      assistant=rules_assistant, layer_dialogues=None, keep_replay=tmp / "replay.npz")
    version = load_catalog_cached(str(small_settings.catalog_dir)).version
    scorer = ConversationScorer.open(settings.models_dir, version)
    assert scorer is not None
    return settings, scorer, report


def test_layer_learns_what_people_suggest_and_says_so(rules_assistant, trained):
    settings, scorer, report = trained
    assert "150 conversations" in report.corpus and "trees" in report.layer
    assert report.text.startswith("text-to-item: ") and scorer.text_model is not None
    assert report.comention.startswith("co-mention: ") and scorer.comention is not None
    kept = ReplayedTurns.load(settings.data_dir.parent / "replay.npz")  # what bench_conversation_layer reads
    assert len(kept.X) == len(kept.y) > 0 and kept.X[0].shape[1] == len(FEATURES)
    assert sum(int(y.sum()) for y in kept.y) > 0
    # Each conversation: the seeker names a film they loved (fitted on), the recommender suggests one (measured).
    assert sorted(set(kept.kind)) == [SUGGESTED, SEEKER_LIKED]
    liked = [ids[int(y.argmax())] for ids, y, k in zip(kept.ids, kept.y, kept.kind, strict=True)
             if k == SEEKER_LIKED and y.any()]
    assert liked and set(liked) <= {a for a, _ in PAIRS}
    assert scorer.layer.info["seeker_liked_requests"] == len(liked) and "seeker turns naming liked" in report.layer
    engine = rules_assistant.engine
    engine.conversation = scorer
    try:
        ranked = engine.recommend(InterestProfile(), ["260"], k=5, text="I want a movie like one I loved")
    finally:
        engine.conversation = None
    assert ranked[0].item_id == "1196"
    ev = ranked[0].evidence
    assert ev.ranker == "conversation-trained layer"
    assert [s.item_id for s in ev.suggested_in_chats_after] == ["260"]
    assert [w.word for w in ev.called_in_chats] == ["thrilling"] and ev.called_in_chats[0].conversations >= 30
    sentence = rules_assistant.explainer.explain("1196", ev, use_llm=False)[0]
    assert "in a chat were often recommended it" in sentence
    item = rules_assistant.catalog.items["1196"]
    said = "People in recommendation chats called it thrilling, and it is close to what you named."
    assert "attribute not in evidence" not in " ".join(rules_assistant.explainer.checker.problems(said, item, ev))
    assert report.words.startswith("chat words: ") and scorer.words is not None


def test_hard_rules_hold_with_the_layer(rules_assistant, trained):
    _, scorer, _ = trained
    engine = rules_assistant.engine
    engine.conversation = scorer
    try:
        ranked = engine.recommend(InterestProfile(), ["260"], k=10, text="more like that", exclude=["1196", "5952"])
        genre_profile, _ = rules_assistant.extractor.extract("recommend me a good comedy movie", use_llm=False)
        comedies = engine.recommend(genre_profile, ["260"], k=10, text="recommend me a good comedy movie")
    finally:
        engine.conversation = None
    ids = [r.item_id for r in ranked]
    assert not {"1196", "5952", "260"} & set(ids)  # excluded (as seen items are) and history never return
    catalog = rules_assistant.catalog
    flags = ["Comedy" in catalog.items[r.item_id].genres for r in comedies]
    # A named genre dominates even after a film whose chat suggestions are not comedies.
    assert sum(flags) >= 9 and flags == sorted(flags, reverse=True)


def test_only_the_genres_the_request_names_lead_the_list(rules_assistant, trained):
    """Genres liked earlier in a chat are features the layer weighs; the ones this request names come first."""
    _, scorer, _ = trained
    engine = rules_assistant.engine
    engine.conversation = scorer
    profile, _ = rules_assistant.extractor.extract("I love comedies and horror movies", use_llm=False)
    assert profile.liked_genres() == {"comedy", "horror"}
    try:
        named = engine.recommend(profile, ["260"], k=10, text="a horror one please", named_genres={"horror"})
        unnamed = engine.recommend(profile, ["260"], k=10, text="what else?", named_genres=set())
    finally:
        engine.conversation = None
    catalog = rules_assistant.catalog
    horror = ["Horror" in catalog.items[r.item_id].genres for r in named]
    assert horror == sorted(horror, reverse=True) and sum(horror) >= 9
    scores = [r.score for r in unnamed]
    assert scores == sorted(scores, reverse=True)  # no tier: the layer's own order


def test_missing_or_stale_layer_falls_back_with_a_message(trained, small_settings, tmp_path, capsys):
    settings, _, _ = trained
    assert ConversationScorer.open(tmp_path, "whatever") is None
    assert "train conversations" in capsys.readouterr().err
    assert ConversationScorer.open(settings.models_dir, "another-version") is None
    assert "another catalog version" in capsys.readouterr().err
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in (LAYER_FILE, COSUGGEST_FILE):  # the text-to-item file missing
        (partial / name).write_bytes((settings.models_dir / name).read_bytes())
    assert ConversationScorer.open(partial, scorer_version(settings)) is None
    assert "no text-to-item model" in capsys.readouterr().err
    (partial / TEXT_FILE).write_bytes((settings.models_dir / TEXT_FILE).read_bytes())  # co-mention still missing
    assert ConversationScorer.open(partial, scorer_version(settings)) is None
    assert "no co-mention model" in capsys.readouterr().err
    doc = json.loads((settings.models_dir / LAYER_FILE).read_text())
    assert doc["catalog_version"] and doc["config"] and doc["info"]["replayed_conversations"] == 150
    (partial / COMENTION_FILE).write_bytes((settings.models_dir / COMENTION_FILE).read_bytes())  # no chat words
    assert ConversationScorer.open(partial, scorer_version(settings)) is None
    assert "no chat-words model" in capsys.readouterr().err
    # A run stopped after writing a new co-suggestion file but before the layer: the set is never served mixed.
    (partial / CHAT_WORDS_FILE).write_bytes((settings.models_dir / CHAT_WORDS_FILE).read_bytes())
    assert ConversationScorer.open(partial, scorer_version(settings)) is not None
    from recassist.ranking.dialogue.cosuggest import CoSuggestion

    retrained = CoSuggestion.load(partial / COSUGGEST_FILE, scorer_version(settings))
    retrained.conversations += 1  # another corpus, same catalog
    retrained.save(partial / COSUGGEST_FILE)
    assert ConversationScorer.open(partial, scorer_version(settings)) is None
    assert "not the file" in capsys.readouterr().err


def test_a_layer_trained_in_the_background_is_adopted_when_complete(rules_assistant, trained, tmp_path):
    """`recassist demo` serves before the layer exists; the server swaps it in once all four files are there
    and current, and chats then rank with it (the hand-set blend until then)."""
    import os
    import shutil

    from recassist.assistant.dialogue.adoption import ConversationLayerWatcher

    settings, _, _ = trained
    models = tmp_path / "models"
    models.mkdir()
    assistant = rules_assistant
    assert assistant.engine.conversation is None
    watcher = ConversationLayerWatcher(models, scorer_version(settings), assistant.swap_conversation)
    assert not watcher.check()  # nothing trained yet
    for name in (COSUGGEST_FILE, LAYER_FILE):  # written out of order, the text-to-item file still missing
        shutil.copy(settings.models_dir / name, models / name)
    assert not watcher.check() and assistant.engine.conversation is None
    stale = ConversationLayerWatcher(models, "another-version", assistant.swap_conversation)
    shutil.copy(settings.models_dir / TEXT_FILE, models / TEXT_FILE)
    shutil.copy(settings.models_dir / COMENTION_FILE, models / COMENTION_FILE)
    shutil.copy(settings.models_dir / CHAT_WORDS_FILE, models / CHAT_WORDS_FILE)
    assert not stale.check()  # complete, but for another catalog version
    os.utime(models / LAYER_FILE)  # the layer file is written last: its change is what the watcher waits for
    try:
        watcher.check()
        assert assistant.engine.conversation is not None
        ranked = assistant.engine.recommend(InterestProfile(), ["260"], k=5, text="I want a movie like one I loved")
        assert ranked[0].item_id == "1196" and ranked[0].evidence.ranker == "conversation-trained layer"
        from recassist.ui.status import serving_summary  # what /readyz says it learned from

        on = serving_summary(assistant, settings)["conversation_layer_trained_on"]
        assert on["replayed_conversations"] == on["usable_conversations"] > 100 and "ranker" in on
        # It keeps watching: the layer trained later on every conversation is adopted too.
        first = assistant.engine.conversation
        watcher.check()
        assert assistant.engine.conversation is first  # unchanged file: nothing reloaded
        os.utime(models / LAYER_FILE, (1, 1))
        watcher.check()
        assert assistant.engine.conversation is not first and assistant.engine.conversation is not None
    finally:
        assistant.swap_conversation(None)


def test_the_demo_trains_the_layer_first_in_the_background_and_reuses_it(trained, monkeypatch):
    from recassist.assistant.conversation import background
    from recassist.assistant.dialogue import training

    assert [name for name, _ in background.STAGES] == [
        "conversation layer", "full ranker", "conversation layer, every conversation"]
    settings, _, _ = trained
    layer_stage = dict(background.STAGES)["conversation layer"]
    catalog = load_catalog_cached(str(settings.catalog_dir))
    assert layer_stage(settings, catalog).startswith("conversation layer: reused")  # never retrained
    # The last stage leaves a layer trained on purpose on another corpus as it is, and the status as it was.
    from recassist.ranking.staged import read_status, write_status

    write_status(settings, state="done", valid_ndcg=0.09)
    full_stage = dict(background.STAGES)["conversation layer, every conversation"]
    assert full_stage(settings, catalog).startswith("conversation layer: reused")
    assert read_status(settings)["state"] == "done" and read_status(settings)["valid_ndcg"] == 0.09
    assert training.conversation_layer_state(settings) == "full"
    from recassist.ui.status import describe

    assert "chats:    conversation-trained layer\n" in describe(settings)  # `recassist status`
    # A corpus that cannot train a layer is reported, and the trainer goes on to the full ranker.
    monkeypatch.setattr(training, "conversation_layer_current", lambda s: False)

    def refuse(*args, **kwargs):
        raise InputError("only 3 conversations with suggestions to train the layer on")

    monkeypatch.setattr(training, "train_conversation_layer", refuse)
    note = layer_stage(settings, catalog)
    assert note.startswith("not trained (only 3 conversations") and "hand-set blend" in note


def test_bad_corpora_are_refused_clearly(rules_assistant, tmp_path):
    a = _corpus(tmp_path, rules_assistant.catalog)
    with pytest.raises(InputError, match="in both"):
        read_corpora([a, a], rules_assistant.catalog)
    with pytest.raises(InputError, match="no conversation corpus"):
        read_corpora([], rules_assistant.catalog)
    tiny = tmp_path / "tiny.jsonl"
    write_corpus([{"id": "x", "messages": [{"role": "seeker", "text": "hi"}]}], tiny)
    settings = Settings(data_dir=tmp_path / "d", catalog_dir=rules_assistant.settings.catalog_dir)
    with pytest.raises(InputError, match="at least 25"):
        train_conversation_layer(settings, [tiny], progress=False, assistant=rules_assistant)
    assert not (settings.models_dir / LAYER_FILE).exists()


def test_stored_chats_export_to_the_corpus_format(rules_assistant, tmp_path):
    store = rules_assistant.store
    sid = store.start_session("export-user")
    store.append_turn(sid, "user", "I loved Star Wars")
    store.append_turn(sid, "assistant", "Here you go", ["1196", "5952"])
    store.record_feedback("export-user", "1196", "like", session_id=sid)
    rows = [r for r in session_rows(store) if r["id"] == f"chat-{sid}"]
    assert len(rows) == 1
    path = tmp_path / "chats.jsonl"
    write_corpus(rows, path)
    convs, stats = read_corpora([path], rules_assistant.catalog)
    c = convs[0]
    assert [t.role for t in c.turns] == ["seeker", "recommender"] and c.turns[1].items == ("1196", "5952")
    assert c.outcomes["1196"] == {"suggested", "liked"} and c.outcomes["5952"] == {"suggested"}


def test_replay_in_worker_processes_gives_the_requests_of_one_process(rules_assistant, small_settings, tmp_path):
    """`recassist train conversations` replays in worker processes: same requests, targets and candidates."""
    from recassist.assistant.dialogue.features import ChatModels
    from recassist.assistant.dialogue.replay import replay, replayed_requests
    from recassist.assistant.dialogue.replay_workers import replay_in_workers
    from recassist.assistant.dialogue.training import TextTraining
    from recassist.ranking.dialogue.comention import CoMention
    from recassist.ranking.dialogue.cosuggest import CoSuggestion

    catalog = rules_assistant.catalog
    convs, _ = read_corpora([_corpus(tmp_path, catalog, n=24)], catalog)
    ids = list(catalog.items)
    cache = Settings(data_dir=tmp_path / "data", catalog_dir=small_settings.catalog_dir)
    # As training does, the request texts are embedded with text-to-item's, and the workers reuse their vectors
    # instead of embedding them again: the requests must be those of a replay that embeds every text itself.
    request_texts = [t for c in convs for _, _, t in replayed_requests(c).values()]
    data = TextTraining.prepare(convs, rules_assistant, cache, progress=False, also_embed=request_texts)
    assert request_texts and all(t in data.text_vectors for t in request_texts if t.strip())
    text = data.fit(ids, progress=False)
    models = {0: ChatModels(CoSuggestion(ids).fit(convs), text, CoMention(ids).fit(convs))}
    one = replay(convs, rules_assistant, lambda c: models[0])
    done = []
    two = replay_in_workers(convs, small_settings, models, lambda c: 0, workers=2, progress=done.append, chunk=5,
                            text_vectors=data.text_vectors)
    assert sum(done) == len(convs) and len(one.X) == len(two.X) > 0
    assert one.conversation == two.conversation
    assert [int(y.sum()) for y in one.y] == [int(y.sum()) for y in two.y] and sum(int(y.sum()) for y in two.y) > 0
    assert one.ids == two.ids  # the same candidates, in the same order
    for a, b in zip(one.X, two.X, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(x.shape[1] == len(FEATURES) for x in two.X)
    # A conversation's requests do not depend on what was replayed before it (tests/retrieval: a text's vector
    # is its own, whatever it was embedded with).
    alone = replay(convs[7:8], rules_assistant, lambda c: models[0])
    after_others = replay(convs[2:8], rules_assistant, lambda c: models[0])
    at = after_others.conversation.index(convs[7].conversation_id)
    assert alone.ids == after_others.ids[at:] and len(alone.ids) > 0
    for a, b in zip(alone.X, after_others.X[at:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_request_without_its_target_among_the_candidates_keeps_its_targets_and_no_features(
        rules_assistant, tmp_path):
    """The replay computes features only where the layer can learn from them; the others still count their
    targets (misses for every method), and the features it does compute are those of a served request."""
    from recassist.assistant.dialogue.features import ChatModels, turn_features
    from recassist.assistant.dialogue.replay import replay
    from recassist.ranking.dialogue.cosuggest import CoSuggestion

    catalog = rules_assistant.catalog
    convs, _ = read_corpora([_corpus(tmp_path, catalog, n=24)], catalog)
    models = ChatModels(CoSuggestion(list(catalog.items)).fit(convs))
    # The seeker names Empire in words the corpus did not mark, so the chat excludes it before the recommender
    # suggests it: the suggestion cannot be among that request's candidates.
    label = catalog.items["1196"].label
    rows = [{"id": "x0", "messages": [
        {"role": "seeker", "text": f"I loved {catalog.items['260'].label}. Already saw {label}.",
         "mentions": [{"id": "260"}]},
        {"role": "recommender", "text": f"Then {label}!", "mentions": [{"id": "1196"}]}],
        "outcomes": [{"id": "260", "outcome": ["liked"]}, {"id": "1196", "outcome": ["suggested"]}]}]
    write_corpus(rows, tmp_path / "x.jsonl")
    (conv,), _ = read_corpora([tmp_path / "x.jsonl"], catalog)
    out = replay([conv], rules_assistant, lambda c: models)
    assert out.kind == [SEEKER_LIKED, SUGGESTED] and out.n_targets == [1, 1]
    assert out.X[1].shape == (0, len(FEATURES)) and len(out.y[1]) == 0 and out.ids[1] == []
    # The seeker's turn (the film they loved, from nothing said before) has its target and its features.
    assert out.y[0].sum() == 1 and out.ids[0][int(out.y[0].argmax())] == "260"
    served = turn_features(rules_assistant.engine, models, InterestProfile(), [], text="", exclude=[],
                           named_genres=set())
    assert served.ids == out.ids[0]
    np.testing.assert_array_equal(served.X, out.X[0])
    out.save(tmp_path / "replay.npz")
    back = ReplayedTurns.load(tmp_path / "replay.npz")
    assert back.n_targets == [1, 1] and back.X[1].shape == (0, len(FEATURES)) and back.ids == out.ids


def test_the_first_start_layer_is_retrained_with_the_full_rankers_scores():
    """After the full ranker, the background trainer retrains the first start's layer (part of the corpus, the
    quick ranker's scores); a layer someone trained on purpose is left as it is."""
    from recassist.assistant.dialogue.training import SHIPPED_CORPUS, is_full_layer

    shipped = [str(SHIPPED_CORPUS)]
    first = {"corpora": shipped, "first_start": True, "ranker": {"name": "count-blend", "kind": "quick"}}
    assert not is_full_layer(first)
    assert not is_full_layer(dict(first, ranker={"name": "sasrec", "kind": "full"}))  # still the first start's
    assert not is_full_layer(dict(first, first_start=False))  # the quick ranker's scores
    assert is_full_layer(dict(first, first_start=False, ranker={"name": "sasrec", "kind": "full"}))
    assert not is_full_layer({"corpora": shipped})  # a layer from before these fields: retrained
    assert is_full_layer(dict(first, corpora=["/data/our-chats.jsonl"]))  # trained on purpose: kept

"""The explanation checker rejects anything not in the evidence; the template is built from it."""

from recassist.assistant.conversation.explain import ExplanationChecker, template_explanation
from recassist.assistant.conversation.models import Evidence, SimilarItem


def test_checker_accepts_evidence_and_rejects_inventions(small_assistant):
    cat = small_assistant.catalog
    item = cat.get("79132")  # Inception
    ev = Evidence(matched_aspects=["Sci-Fi"], similar_to_liked=[SimilarItem(item_id="2571", title="The Matrix (1999)",
                                                                          similarity=0.6)])
    check = ExplanationChecker(cat).problems
    assert check("You liked The Matrix, and this is sci-fi too.", item, ev) == []
    assert any("another title" in p for p in check("Fans of Toy Story will love it.", item, ev))
    assert any("unknown name" in p for p in check("It stars Leonardo DiCaprio and is great.", item, ev))
    assert any("year" in p for p in check("A sci-fi classic from 1968.", item, ev))
    assert any("markup" in p for p in check("<b>Great</b> sci-fi, see http://x.y", item, ev))
    assert any("attribute" in p for p in check("A heartwarming romance for the family.", item, ev))
    assert any("opinion" in p for p in check("You enjoyed Inception, a sci-fi ride.", item, ev))
    assert any("the user" in p for p in check("The user will love this sci-fi film.", item, ev))


def test_template_states_only_evidence(small_assistant):
    item = small_assistant.catalog.get("79132")
    ev = Evidence(similar_to_liked=[SimilarItem(item_id="2571", title="The Matrix (1999)", similarity=0.6)],
                  satisfies=["year 1990–…"])
    text = template_explanation(item, ev, small_assistant.catalog)
    assert "The Matrix (1999)" in text and "1990" in text and "(both Action, Sci-Fi, Thriller)" in text
    assert not ExplanationChecker(small_assistant.catalog).problems(text.split(" It fits")[0], item, ev)


def test_a_request_with_nothing_known_is_explained_by_what_is_watched_now(rules_assistant):
    """No history and no liked items: the ranker's scores did not count, so the evidence does not cite
    them; the titles at the top are there because many people are watching them lately, and say so."""
    from recassist.foundation.profile import InterestProfile

    ranked = rules_assistant.engine.recommend(InterestProfile(), [], k=5, text="")
    assert all(r.evidence.ranker == "" and r.evidence.ranker_rank is None for r in ranked)
    top = next(r for r in ranked if r.evidence.popular_now)
    item = rules_assistant.catalog.get(top.item_id)
    text = template_explanation(item, top.evidence, rules_assistant.catalog)
    assert text == "Many people have been watching it lately."
    assert not ExplanationChecker(rules_assistant.catalog).problems(text, item, top.evidence)


def test_checker_wants_a_sentence_that_states_evidence(small_assistant):
    cat = small_assistant.catalog
    item = cat.get("79132")  # Inception: Action, Crime, Drama, Mystery, Sci-Fi, Thriller, IMAX
    ev = Evidence(popular_now=True, sources=["popular"])
    check = ExplanationChecker(cat).problems
    assert "states nothing from the evidence" in check("This movie fits you perfectly.", item, ev)
    assert "talks about the prompt" in check("This movie fits you. You've already answered the question.", item, ev)
    assert check("Many people have been watching it lately.", item, ev) == []
    assert check("This movie fits you: an action thriller with a sci-fi edge.", item, ev) == []
    # A genre the item carries is not "another title", even where a film goes by that name ("Adventure" is
    # L'Avventura's English title in the full catalog).
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.settings import DEMO_CATALOG_DIR

    full = load_catalog_cached(str(DEMO_CATALOG_DIR))
    sentence = "This movie mixes Adventure, Animation and Comedy."
    assert [p for p in ExplanationChecker(full).problems(sentence, full.get("79132"), ev) if "Adventure" in p]
    assert ExplanationChecker(full).problems(sentence, full.get("1"), ev) == []  # Toy Story is all three


def test_new_releases_are_said_to_be_new_and_nothing_else_is(small_assistant):
    cat = small_assistant.catalog
    item = cat.get("79132")  # Inception (2010)
    check = ExplanationChecker(cat).problems
    new = Evidence(new_release=True, sources=["popular"])
    text = template_explanation(item, new, cat)
    assert text == "It is a new release (2010)."
    assert check(text, item, new) == []
    assert check("This movie is a new release.", item, new) == []
    old = Evidence(matched_aspects=["Sci-Fi"])
    assert "claims it is new: new release" in check("This sci-fi movie is a new release.", item, old)


def test_checker_rejects_what_the_small_model_pads_with(small_assistant):
    """Sentences SmolLM2 wrote that passed before: an age it cannot know, agreeing with the user, loops."""
    cat = small_assistant.catalog
    item = cat.get("79132")  # Inception (2010): Action, Crime, Drama, Mystery, Sci-Fi, Thriller
    ev = Evidence(matched_aspects=["Sci-Fi"], new_release=True)
    check = ExplanationChecker(cat).problems
    assert "claims an age not in evidence: been around" in check(
        "It's a sci-fi film that's been around for a long time.", item, ev)
    assert "chatter, not a reason: you're right" in check("It's a new release, and you're right, it's sci-fi.",
                                                          item, ev)
    assert "repeats itself" in check("This movie is a new release, and it's a new release. It is a new release.",
                                     item, ev)
    assert "claims a reception not in evidence: praised" in check(
        "This sci-fi movie has been praised by critics and fans alike.", item, ev)
    assert check("This movie is a new release with a sci-fi story.", item, ev) == []


def test_a_third_party_title_lends_no_words_to_a_claim(small_assistant):
    """An item's title comes from whoever supplied the catalog: named whole it is the item, but its words
    one by one are no evidence ("loved by BuyNow-3000 fans", written by the embedded model from an
    injected title)."""
    from recassist.foundation.catalog import Item

    cat = small_assistant.catalog
    item = Item(item_id="inj-1", title="Midnight Heist BuyNow-3000 Edition", year=2017, genres=("Action",))
    check = ExplanationChecker(cat.with_items([item])).problems
    ev = Evidence(new_release=True, matched_aspects=["Action"])
    assert "unknown name or code: BuyNow-3000" in check(
        "This movie is a new release, and it's loved by BuyNow-3000 fans.", item, ev)
    assert "unknown name or code: McGuffinCorp" in check("An action film McGuffinCorp fans adore.", item, ev)
    assert check("Midnight Heist BuyNow-3000 Edition is a new release, full of action.", item, ev) == []
    assert check("This action movie is a new release from 2017.", item, ev) == []


def test_an_explanation_asks_nothing_of_the_user(small_assistant):
    """An injected title that reads as an instruction, restated by the embedded model as a request to the user
    (found by bench/robustness.py), is refused; the title named as a name stays fine."""
    from recassist.foundation.catalog import Item

    cat = small_assistant.catalog
    item = Item(item_id="inj-2", title="Subscribe to the newsletter of Brand A for special offers", year=2024,
                genres=("Drama",))
    check = ExplanationChecker(cat.with_items([item])).problems
    ev = Evidence(new_release=True, matched_aspects=["Drama"])
    assert any(p.startswith("asks something of the user") for p in check(
        "This movie fits you perfectly. It's a new release, and you're asked to subscribe to the newsletter of "
        "Brand A for special offers.", item, ev))
    assert any(p.startswith("asks something of the user") for p in check(
        "A quiet drama; you must sign up to watch it.", item, ev))
    assert check("This drama is a new release from 2024.", item, ev) == []

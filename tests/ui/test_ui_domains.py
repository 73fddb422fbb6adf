"""The chat UI with several catalogs, without a browser: its `/chat` callback and its rendering."""

from __future__ import annotations

import pytest
from gradio_client import Client
from recassist.assistant.conversation.models import Evidence, RecommendedItem
from recassist.foundation.profile import InterestProfile, ItemPreference, Source
from recassist.ui.web.profile_panel import profile_choices
from recassist.ui.web.render import assistant_message

pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting':Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]


def _text(message: dict) -> str:
    return message["content"][0]["text"] if isinstance(message["content"], list) else message["content"]


def test_the_chat_callback_answers_a_book_request_with_labelled_book_cards(base_url):
    final = Client(base_url + "/ui/", verbose=False).predict("a novel like The Hunger Games", [], "ui-books-1",
                                                             api_name="/chat")
    reply = _text(final[1][-1])
    cards = [out for out in final if isinstance(out, str) and "rc-card" in out]
    assert cards and all('<span class="rc-domain">book</span>' in c for c in cards)
    assert "You might like these books:" in reply and "1\\. book: **" in reply


def _item(title: str, domain: str | None) -> RecommendedItem:
    return RecommendedItem(item_id="1", title=title, domain=domain, score=1.0, rank=1, explanation="why",
                           explanation_source="template", evidence=Evidence())


def test_a_mixed_list_labels_every_item_and_the_profile_panel_names_each_entrys_catalog():
    message = _text(assistant_message("Here:", [_item("Arrival", None), _item("Dune", "books")], first="movies"))
    assert "1\\. film: **Arrival**" in message and "2\\. book: **Dune**" in message
    films_only = _text(assistant_message("Here:", [_item("Arrival", None)], first="movies"))
    assert "1\\. **Arrival**" in films_only  # one catalog: no labels, as before
    profile = InterestProfile(liked_items=[
        ItemPreference(item_id="1", title="Dune (1965)", domain="books", source=Source(text="Dune")),
        ItemPreference(item_id="1", title="Toy Story (1995)", source=Source(text="Toy Story"))])
    assert [label for label, _ in profile_choices(profile)] == ["liked: Dune (1965) (book)",
                                                                "liked: Toy Story (1995)"]


def test_removing_a_book_in_the_profile_panel_keeps_the_film_with_the_same_id(engine):
    from recassist.ui.web.profile_panel import selected_ops

    profile = InterestProfile(liked_items=[
        ItemPreference(item_id="1", title="The Hunger Games (2008)", domain="books", source=Source(text="Hunger")),
        ItemPreference(item_id="1", title="Toy Story (1995)", source=Source(text="Toy Story"))])
    engine.store.save_profile("panel-1", profile, "turn 1: extracted")
    book_op = dict(profile_choices(profile))["liked: The Hunger Games (2008) (book)"]
    engine.store.patch_profile("panel-1", selected_ops([book_op]))  # what "Remove selected" sends
    kept = engine.store.get_profile("panel-1").liked_items
    assert [(e.item_id, e.domain, e.title) for e in kept] == [("1", None, "Toy Story (1995)")]


def test_the_profile_panel_lists_a_named_author_and_removes_it(engine):
    from recassist.foundation.profile import AuthorPreference
    from recassist.ui.web.profile_panel import selected_ops

    author = AuthorPreference(name="Agatha Christie", domain="books", aspects=["mystery", "crime"],
                              source=Source(text="Agatha Christie"))
    engine.store.save_profile("panel-2", InterestProfile(liked_authors=[author]), "turn 1: extracted")
    choices = dict(profile_choices(engine.store.get_profile("panel-2")))
    assert list(choices) == ["likes author: Agatha Christie (book)"]
    engine.store.patch_profile("panel-2", selected_ops(choices.values()))
    assert engine.store.get_profile("panel-2").liked_authors == []

"""The chat UI's `/chat` endpoint driven by another program through `gradio_client`."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
from pydantic import SecretStr
from recassist.ui.app import create_app
from recassist.ui.web.blocks import WORKING
from ui_helpers import running

ARRIVAL, INTERSTELLAR = "164179", "109487"

pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting':Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]


def _last_text(history: list[dict]) -> str:
    return history[-1]["content"][0]["text"] if isinstance(history[-1]["content"], list) else history[-1]["content"]


def test_chat_streams_a_reply_with_cards_and_shares_the_profile_with_the_api(base_url, engine):
    client = Client(base_url + "/ui/", verbose=False)
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["text", "history", "user_id"]

    job = client.submit("I loved Arrival and Interstellar", [], "gc-user", api_name="/chat")
    streamed = list(job)  # every yield of the handler, in order
    assert len(streamed) >= 2
    first_history = streamed[0][1]
    assert [m["role"] for m in first_history] == ["user", "assistant"]
    assert _last_text(first_history) == WORKING  # shown at once, before the engine answers

    final = job.result()
    history, cards = final[1], [out for out in final if isinstance(out, str) and "rc-card" in out]
    reply = _last_text(history)
    assert "Arrival" in reply and "1\\." in reply
    assert 1 <= len(cards) <= 5
    assert engine.catalog.get(cards[0].split('data-item-id="')[1].split('"')[0]).title in reply

    # Same engine, same store: the chat's profile is the API's profile.
    stored = httpx.get(f"{base_url}/v1/users/gc-user/profile").json()
    assert {p["item_id"] for p in stored["liked_items"]} == {ARRIVAL, INTERSTELLAR}


def test_a_bad_user_id_is_answered_in_the_chat(base_url):
    client = Client(base_url + "/ui/", verbose=False)
    history = client.predict("hello", [], "not a valid id!", api_name="/chat")[1]
    assert "user id" in _last_text(history) and "letters, digits" in _last_text(history)


def test_with_api_keys_the_ui_asks_for_a_key_as_password(engine, ui_settings):
    app = create_app(engine, ui_settings.model_copy(update={"api_keys": [SecretStr("ui-key")]}))
    with running(app) as url:
        locked = httpx.get(f"{url}/ui/config")
        assert locked.status_code == 401 and "RECASSIST_API_KEYS" in locked.text
        bad = httpx.post(f"{url}/ui/login", data={"username": "me", "password": "nope"})
        assert bad.status_code == 400
        client = Client(url + "/ui/", auth=("me", "ui-key"), verbose=False)
        history = client.predict("I loved Moon", [], "keyed-user", api_name="/chat")[1]
        assert "Moon" in _last_text(history)

"""The chat UI in a real browser: Debian's chromium, headless, driven by Playwright.

Needs /usr/bin/chromium (`.ci/run` installs it: apt-get install chromium chromium-driver); Playwright
only drives it (no `playwright install`). Set RECASSIST_UI_SCREENSHOT=docs/ui.png to refresh the
README screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from ui_helpers import XSS_ITEM, XSS_TITLE

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting':Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs  # an alert() from injected markup would land here
        yield pg
        browser.close()


def send(page, text: str) -> None:
    page.fill("#message textarea", text)
    page.press("#message textarea", "Enter")


def test_chat_cards_like_and_profile_in_a_browser(page, base_url, engine):
    page.goto(f"{base_url}/ui/")
    page.wait_for_selector("#chat .message")  # the onboarding question of a new user
    user_id = page.input_value("#user-id textarea")
    assert user_id.startswith("web-")
    # What serves now, in words (this engine: no LLM, no trained conversation layer).
    page.wait_for_function("document.querySelector('#serving-status').innerText.includes('Serving now')")
    serving = page.inner_text("#serving-status")
    assert "chats: hand-set blend" in serving and "LLM: off" in serving

    send(page, "I loved Arrival and Interstellar, something thoughtful")
    page.wait_for_selector("#card-1 .rc-card")
    first_title = page.inner_text("#card-1 .rc-title")
    assert first_title and page.locator(".rc-card").count() >= 2
    assert "Arrival" in page.inner_text("#profile-entries")

    page.click("#card-1-like")
    page.wait_for_function(
        "t => document.querySelector('#profile-entries').innerText.includes('liked: ' + t)", arg=first_title
    )
    assert "liked" in page.inner_text("#card-1 .rc-feedback")
    liked = {p.item_id for p in engine.store.get_profile(user_id).liked_items}
    assert len(liked) == 3  # Arrival, Interstellar and the liked card, in the shared store
    if target := os.environ.get("RECASSIST_UI_SCREENSHOT"):
        page.screenshot(path=target, full_page=True)

    # Remove an entry from the profile panel.
    page.get_by_label("liked: Arrival (2016)").check()
    page.click("#remove-entries")
    page.wait_for_function("!document.querySelector('#profile-entries').innerText.includes('Arrival')")
    assert "Arrival (2016)" not in [p.title for p in engine.store.get_profile(user_id).liked_items]

    # The same id on a reload: the browser keeps it, the profile is still there.
    page.reload()
    page.wait_for_selector("#chat .message")
    assert page.input_value("#user-id textarea") == user_id
    page.wait_for_function("t => document.querySelector('#profile-entries').innerText.includes(t)", arg=first_title)


def test_markup_in_titles_and_messages_shows_as_text(page, base_url):
    assert httpx.put(f"{base_url}/v1/items/xss-1", json=XSS_ITEM).status_code == 200
    page.goto(f"{base_url}/ui/")
    page.wait_for_selector("#chat .message")
    old_id = page.input_value("#user-id textarea")
    page.click("text=Start as a new user")
    page.wait_for_function("old => document.querySelector('#user-id textarea').value !== old", arg=old_id)
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('Interstellar')")

    typed = "I loved Arrival and Interstellar, only movies from 2020 or later <b>bold</b> [x](https://e.example)"
    send(page, typed)
    page.wait_for_selector("#card-1 .rc-card")
    # The catalog ends in 2018, so the one card is the upserted item: its title is text, not an <img>.
    assert page.inner_text("#card-1 .rc-title") == XSS_TITLE
    page.wait_for_function("t => document.querySelector('#chat').innerText.includes(t)", arg=XSS_TITLE)
    assert typed in page.inner_text("#chat")
    for selector in ("#cards img", "#chat img", "#chat b", "#chat a[href*='e.example']", "[onerror]"):
        assert page.locator(selector).count() == 0, selector
    page.click("#card-1-like")
    page.wait_for_function("t => document.querySelector('#profile-entries').innerText.includes(t)", arg=XSS_TITLE)
    assert page.locator("#profile-panel img").count() == 0
    assert page.dialogs == []


def test_a_message_sent_while_busy_is_queued_and_answered_in_order(page, base_url, engine, monkeypatch):
    import time

    answer = engine.chat_stream

    def busy_server(*args, **kwargs):  # a reply that takes a while, as on a loaded machine
        time.sleep(2.0)
        return answer(*args, **kwargs)

    monkeypatch.setattr(engine, "chat_stream", busy_server)
    page.goto(f"{base_url}/ui/")
    page.wait_for_selector("#chat .message")
    page.click("text=Start as a new user")
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('Arrival')")
    chat = page.locator("#chat")
    send(page, "I want something for tonight")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('I want something for tonight')")
    # The second message goes in while the first reply is still being computed (a new user: no session yet).
    assert "Working on it" in chat.inner_text()
    send(page, "I loved Arrival and Interstellar")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('I loved Arrival and Interstellar')")
    assert page.input_value("#message textarea") == ""  # accepted at once, not left waiting in the box
    # Both are answered, in order: nothing was replaced or lost.
    page.wait_for_function("!/Working on it|Queued:/.test(document.querySelector('#chat').innerText)")
    page.wait_for_selector("#card-1 .rc-card")
    text = chat.inner_text()
    assert text.index("I want something for tonight") < text.index("I loved Arrival and Interstellar")
    assert page.locator("#chat .message").count() >= 5  # greeting + two user messages + two replies
    # Readable replies: no two templates run together, and an occasion is no taste.
    assert "You might like: To sharpen" not in text
    assert "for tonight" not in page.inner_text("#profile-entries")
    assert "Arrival" in page.inner_text("#profile-entries")

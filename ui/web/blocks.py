"""The Gradio chat UI: chat with streamed replies, recommendation cards with feedback, a profile panel.

Callbacks are thin: each calls one `Assistant` method and hands the result to the pure renderers in
`ui.web.render` / `ui.web.profile_panel`, which escape everything they put into markup. Every event
has an explicit `api_name`; `/chat` is the one meant for `gradio_client`:

    Client(url + "/ui/").predict("I loved Arrival", [], "my-user-id", api_name="/chat")
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
from recassist.assistant.conversation import Assistant
from recassist.assistant.conversation.models import ChatReply, RecommendedItem
from recassist.assistant.domains.catalogs import Catalogs
from recassist.assistant.domains.chat import DomainChat
from recassist.foundation.errors import InputError, RecassistError
from recassist.foundation.lru import LRU
from recassist.foundation.profile import InterestProfile
from recassist.ui.ids import ID_PATTERN, ID_RULE
from recassist.ui.status import one_line, serving_summary
from recassist.ui.web.profile_panel import profile_choices, profile_summary, selected_ops
from recassist.ui.web.render import assistant_message, card_html, esc_md, user_message

SERVING_REFRESH_S = 5.0  # how often the "Serving now" line follows background training ...
SETTLED_REFRESH_S = 60.0  # ... and how often once nothing trains
SLOTS = 5  # cards shown at once; the chat asks for this many items
# Plain words: emoji need a colour font that a bare server browser (and some desktops) lack.
FEEDBACK = (("like", "Like", "liked"), ("dislike", "Dislike", "disliked"), ("seen", "Seen it", "seen"))
USER_ID = re.compile(ID_PATTERN)
WORKING = "Working on it…"
QUEUED = "Queued: I will answer this right after the reply above."
RECOMMEND_NOW = "Recommend something for me"
WELCOME_BACK = "Welcome back! Tell me what you feel like watching, or ask for more like your favourites."


def new_user_id() -> str:
    return f"web-{uuid.uuid4().hex[:12]}"


ANY_DOMAIN = "any"
CHAT_TURNS = "chat-turns"  # the queue that answers accepted messages


def build_blocks(engine: Assistant, catalogs: Catalogs | None = None) -> gr.Blocks:
    """The UI around an opened `Assistant` (`engine`); with `catalogs`, chat answers from any of them."""
    chats = DomainChat(catalogs) if catalogs is not None else None
    with gr.Blocks(title="recassist") as blocks:
        stored_user = gr.BrowserState("", storage_key="recassist-user-id")
        session = gr.State("")
        shown = gr.State([])  # one dict per card: {"item": RecommendedItem dump, "reason": str, "mark": str}

        gr.Markdown("## recassist\nTell me what you like; I recommend from the catalog and say why.")
        serving = gr.Markdown(elem_id="serving-status")
        # While models train or the LLM loads, the line follows them closely; then it looks now and then.
        serving_timer = gr.Timer(SERVING_REFRESH_S)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="chat", height=460, sanitize_html=True, label="Chat")
                with gr.Row():
                    message = gr.Textbox(
                        elem_id="message",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        placeholder="e.g. I loved Arrival and Interstellar, something thoughtful",
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                with gr.Row():
                    recommend_now = gr.Button("Recommend now", size="sm", elem_id="recommend-now")
                    domain_choice = gr.Radio(
                        [ANY_DOMAIN, *(catalogs.domains() if catalogs is not None else [])], value=ANY_DOMAIN,
                        label="Answer from", info="any: your words decide", elem_id="domain",
                        visible=catalogs is not None and len(catalogs.domains()) > 1)
            with gr.Column(scale=2, elem_id="cards"):
                gr.Markdown("### Recommendations")
                slots, cards, buttons = [], [], []
                for i in range(SLOTS):
                    with gr.Column(visible=False, elem_classes=["rc-slot"], elem_id=f"slot-{i + 1}") as slot:
                        cards.append(gr.HTML(elem_id=f"card-{i + 1}"))
                        with gr.Row(elem_classes=["rc-buttons"]):
                            buttons.append(
                                [
                                    gr.Button(label, size="sm", elem_id=f"card-{i + 1}-{kind}")
                                    for kind, label, _ in FEEDBACK
                                ]
                            )
                    slots.append(slot)
        with gr.Accordion("Your profile", open=True, elem_id="profile-panel"):
            summary = gr.Markdown(elem_id="profile-summary")
            entries = gr.CheckboxGroup(label="What I know about your taste", choices=[], elem_id="profile-entries")
            with gr.Row():
                remove = gr.Button("Remove selected", size="sm", elem_id="remove-entries")
                undo = gr.Button("Undo last change", size="sm", elem_id="undo")
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                user_box = gr.Textbox(label="Your user id (kept in this browser)", elem_id="user-id", scale=3)
                switch = gr.Button("Use this id", size="sm", scale=1)
                fresh = gr.Button("Start as a new user", size="sm", scale=1)

        state_view = [session, shown, entries, summary, status, *slots, *cards]

        def render(sid: str, items: list[dict], profile: InterestProfile | None, note: str = "") -> dict:
            """Every output of `state_view` from the current state (the chat history is the caller's)."""
            out: dict = {session: sid, shown: items, status: esc_md(note)}
            if profile is not None:
                out.update(render_profile(profile))
            for i in range(SLOTS):
                entry = items[i] if i < len(items) else None
                out[slots[i]] = gr.Column(visible=entry is not None)
                out[cards[i]] = _card(entry) if entry is not None else ""
            return out

        def render_profile(profile: InterestProfile) -> dict:
            return {
                entries: gr.CheckboxGroup(choices=profile_choices(profile), value=[]),
                summary: profile_summary(profile),
            }

        @_friendly
        def open_user(user_id: str) -> dict:
            """A fresh chat for `user_id`: onboarding questions for a new user, a welcome back otherwise."""
            user_id = check_user_id(user_id.strip() or new_user_id())
            sid = engine.store.start_session(user_id)
            step = engine.onboarding(user_id, session_id=sid)
            history = [assistant_message(WELCOME_BACK if step.done else step.question)]
            transcripts.put(sid, history)
            out = render(sid, [_card_state(it) for it in step.items], engine.store.get_profile(user_id))
            return {**out, chatbot: history, user_box: user_id, stored_user: user_id}

        # The server's copy of each chat, per session: a message sent while a reply is still being computed
        # is shown at once, marked as queued, and answered in order; turns build on this copy, not on the
        # history the browser sent when the message was queued (that one lacks the replies since).
        transcripts = LRU(4096)
        pending: dict[str, deque] = {}
        lock = threading.Lock()

        def enqueue(text: str, history: list, key: str) -> list:
            """Add the user's message and a placeholder for its reply; the turn runs when its turn comes."""
            with lock:
                hist = list(transcripts.get(key) or history or [])
                busy = bool(pending.get(key))
                hist += [user_message(text), assistant_message(QUEUED if busy else WORKING)]
                transcripts.put(key, hist)
                pending.setdefault(key, deque()).append((text, len(hist) - 1))
                return hist

        def show(key: str, row: int, msg: dict) -> list:
            with lock:
                hist = list(transcripts.get(key) or [])
                if row < len(hist):
                    hist[row] = msg
                transcripts.put(key, hist)
                return hist

        def turn_events(user_id: str, text: str, sid: str, domain: str) -> Iterator:
            """The chat turn's events, from the catalogs `domain` names ('any': the words choose)."""
            if chats is None:
                return engine.chat_stream(user_id, text, session_id=sid or None, k=SLOTS)
            return chats.chat_stream(user_id, text, session_id=sid or None, k=SLOTS,
                                     domain=None if domain in ("", ANY_DOMAIN) else domain)

        def run_next(key: str, user_id: str, sid: str, items: list[dict], domain: str = ANY_DOMAIN
                     ) -> Iterator[dict]:
            """Answers the oldest queued message of `key`: streams the reply with cards, then each LLM reason."""
            with lock:
                queue = pending.get(key)
                if not queue:
                    return
                text, row = queue[0]
            try:
                yield {chatbot: show(key, row, assistant_message(WORKING))}
                reply: ChatReply | None = None
                reasons: dict[str, str] = {}
                try:
                    for event in turn_events(check_user_id(user_id), text, sid, domain):
                        if event.type == "reply" and event.reply is not None:
                            reply = event.reply
                            # "why ...?", "undo" and small talk keep the cards; a new list (even empty) replaces them.
                            if reply.items or reply.intent in ("recommend", "refine", "feedback"):
                                items = [_card_state(it) for it in reply.items]
                            note = "; ".join(reply.profile_changes + reply.notes)
                        elif event.type == "explanation" and reply is not None and event.item_id:
                            reasons[event.item_id] = event.explanation or ""
                            items = [_with_reason(entry, reasons) for entry in items]
                        else:
                            continue
                        history = show(key, row, assistant_message(reply.text, reply.items, reasons,
                                                                   first=engine.catalog.domain))
                        yield {**render(reply.session_id, items, reply.profile, note), chatbot: history}
                except RecassistError as e:
                    yield {chatbot: show(key, row, assistant_message(f"Sorry, that did not work: {e}"))}
            finally:
                with lock:
                    if pending.get(key):
                        pending[key].popleft()

        @_friendly
        def accept(text: str, history: list, user_id: str, sid: str) -> dict:
            """Runs outside the queue: the message leaves the box and shows in the chat at once."""
            text = (text or "").strip()
            if not text:
                return {message: ""}
            check_user_id(user_id)
            return {message: "", chatbot: enqueue(text, history, sid or user_id)}

        def ui_turn(user_id: str, sid: str, items: list[dict], domain: str = ANY_DOMAIN) -> Iterator[dict]:
            # A new user's first message is queued under the user id (no session yet); a message sent while
            # that reply was computed is answered after it, when the session id has arrived.
            key = next((k for k in (sid, user_id) if k and pending.get(k)), sid or user_id)
            answered = False
            for update in run_next(key, user_id, sid, items, domain):
                answered = True
                yield update
            if not answered:  # an empty message queued nothing
                yield {}

        def chat_turn(text: str, history: list, user_id: str, sid: str, items: list[dict]) -> Iterator[dict]:
            """One whole turn in one call (the `/chat` API for `gradio_client`): the user's words, then the
            reply with cards, then each LLM reason."""
            key = sid or f"api-{uuid.uuid4().hex}"  # a call without a session keeps no transcript
            try:
                yield {message: "", chatbot: enqueue(text, history, key)}
                yield from run_next(key, user_id, sid, items)
            finally:
                if not sid:
                    with lock:
                        pending.pop(key, None)

        def on_feedback(slot: int, kind: str, done: str):
            @_friendly
            def handler(user_id: str, sid: str, items: list[dict]) -> dict:
                if slot >= len(items):
                    return {}
                item = RecommendedItem.model_validate(items[slot]["item"])
                if item.domain and catalogs is not None:  # another catalog's card: book 1 is not film 1
                    profile = catalogs.feedback(check_user_id(user_id), item.item_id, kind, domain=item.domain)
                else:
                    profile = engine.feedback(check_user_id(user_id), item.item_id, kind, session_id=sid or None)
                items = [dict(entry, mark=done) if i == slot else entry for i, entry in enumerate(items)]
                return render(sid, items, profile, f"{done.capitalize()}: {item.title}")

            return handler

        @_friendly
        def on_remove(selected: list[str], user_id: str) -> dict:
            ops = selected_ops(selected or [])
            if not ops:
                return {status: "Select the entries to remove first."}
            user_id = check_user_id(user_id)
            engine.store.patch_profile(user_id, ops)
            profile = engine.store.get_profile(user_id)
            return {
                **render_profile(profile),
                status: f"Removed {len(ops)} entr{'y' if len(ops) == 1 else 'ies'}.",
            }

        @_friendly
        def on_undo(user_id: str) -> dict:
            profile = engine.store.undo(check_user_id(user_id)).profile
            return {**render_profile(profile), status: "Undid the last change."}

        def serving_status() -> dict:
            summary = serving_summary(engine, engine.settings)
            busy = summary["training"].get("running") or summary["llm"]["state"] == "loading"
            return {serving: esc_md(one_line(summary)),
                    serving_timer: gr.Timer(SERVING_REFRESH_S if busy else SETTLED_REFRESH_S)}

        blocks.load(serving_status, outputs=[serving, serving_timer], api_name="serving_status",
                    api_visibility="undocumented")
        serving_timer.tick(serving_status, outputs=[serving, serving_timer], api_visibility="undocumented")

        session_outputs = [chatbot, *state_view, user_box, stored_user]
        blocks.load(open_user, inputs=[stored_user], outputs=session_outputs, api_name="open_session")
        switch.click(open_user, inputs=[user_box], outputs=session_outputs, api_name="switch_user")
        user_box.submit(
            open_user,
            inputs=[user_box],
            outputs=session_outputs,
            api_name="switch_user_enter",
            api_visibility="undocumented",
        )
        fresh.click(lambda: open_user(new_user_id()), outputs=session_outputs, api_name="new_user")

        chat_inputs = [message, chatbot, user_box, session, shown]
        # In the page: accept at once (outside the queue, so a busy server never leaves a message sitting in
        # the box), then answer queued messages in order. The turn's outputs leave the box alone: it may
        # already hold the next message being typed.
        gr.on(
            [message.submit, send.click],
            accept,
            inputs=[message, chatbot, user_box, session],
            outputs=[message, chatbot],
            queue=False,
            trigger_mode="multiple",
            api_name="accept_message",
            api_visibility="undocumented",
        ).then(
            ui_turn, inputs=[user_box, session, shown, domain_choice], outputs=[chatbot, *state_view],
            api_name="answer_queued",
            api_visibility="undocumented",
            # Every accepted message gets its turn (Gradio's default drops a trigger while one is pending),
            # and turns run one at a time in arrival order, from either button.
            trigger_mode="multiple", concurrency_id=CHAT_TURNS,
        )
        recommend_now.click(
            lambda history, user_id, sid: accept(RECOMMEND_NOW, history, user_id, sid),
            inputs=[chatbot, user_box, session],
            outputs=[message, chatbot],
            queue=False,
            trigger_mode="multiple",
            api_name="recommend_now",
            api_visibility="undocumented",
        ).then(
            ui_turn, inputs=[user_box, session, shown, domain_choice], outputs=[chatbot, *state_view],
            api_name="answer_recommend_now", api_visibility="undocumented",
            trigger_mode="multiple", concurrency_id=CHAT_TURNS,
        )
        # For programs (`gradio_client`): one call, one whole turn.
        gr.Button(visible=False, elem_id="chat-api").click(
            chat_turn, inputs=chat_inputs, outputs=[message, chatbot, *state_view], api_name="chat",
        )

        for i, row in enumerate(buttons):
            for button, (kind, _, done) in zip(row, FEEDBACK, strict=True):
                button.click(
                    on_feedback(i, kind, done),
                    inputs=[user_box, session, shown],
                    outputs=state_view,
                    api_name=f"card_{i + 1}_{kind}",
                    api_visibility="undocumented",
                )
        panel_outputs = [entries, summary, status]
        remove.click(on_remove, inputs=[entries, user_box], outputs=panel_outputs, api_name="remove_entries")
        undo.click(on_undo, inputs=[user_box], outputs=panel_outputs, api_name="undo")
    return blocks


def check_user_id(user_id: str) -> str:
    """The same id rule as the HTTP API, so a UI user can be looked up there too."""
    if not USER_ID.fullmatch(user_id or ""):
        raise InputError(f"user id {user_id!r}: use {ID_RULE}")
    return user_id


def _friendly(fn: Callable[..., dict]) -> Callable[..., dict]:
    """Library errors become a message in the UI (the one place the UI maps them), not a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> dict:
        try:
            return fn(*args)
        except RecassistError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapper


def _card(entry: dict) -> str:
    return card_html(RecommendedItem.model_validate(entry["item"]), entry["reason"], feedback=entry["mark"])


def _card_state(item: RecommendedItem) -> dict:
    return {"item": item.model_dump(mode="json"), "reason": item.explanation, "mark": ""}


def _with_reason(entry: dict, reasons: dict[str, str]) -> dict:
    reason = reasons.get(entry["item"]["item_id"])
    return dict(entry, reason=reason) if reason else entry

"""Text and HTML the chat UI shows, built so that nothing from users, items or the LLM is ever live markup.

Every value is escaped where it is put into markup: HTML-escaped for card HTML, and HTML- plus
Markdown-escaped for chat messages (the chatbot renders Markdown, then sanitises HTML; escaping
first means an item titled `<img src=x onerror=alert(1)>` or `[x](javascript:...)` shows as those
characters). Functions here are pure, so they are tested without a browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from recassist.assistant.conversation.models import RecommendedItem
from recassist.assistant.domains.explain import noun

# Characters that are Markdown syntax anywhere in a line (`(` and `!` only act after an unescaped `]`/`[`,
# `<>&` are already entities), and the openers that only act at the start of a line (lists, headings, rules).
_MD_INLINE = re.compile(r"([\\`*_\[\]#|~@])")  # "@": no e-mail autolinks
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(:)(?=//)|\b(www)(\.)")
_MD_LINE_START = re.compile(r"^(\s*)(\d+(?=[.)])|[-+=])", re.MULTILINE)


def esc_html(value: object) -> str:
    """`value` as HTML text: `<`, `>`, `&` and both quotes become entities."""
    return html.escape(str(value), quote=True)


def esc_md(value: object) -> str:
    """`value` as Markdown text that renders literally: `<>&` as entities, Markdown punctuation backslashed.

    Quotes stay as they are: they are harmless outside tags, and `&#x27;` would have its `#` backslashed.
    """
    text = _MD_INLINE.sub(r"\\\1", html.escape(str(value), quote=False))
    # A backslash inside "https://" or "www." keeps GFM from turning the text into a live link.
    text = _AUTOLINK.sub(lambda m: f"{m.group(1) or m.group(3)}\\{m.group(2) or m.group(4)}", text)
    return _MD_LINE_START.sub(_escape_opener, text)


def _escape_opener(m: re.Match) -> str:
    indent, opener = m.group(1), m.group(2)
    # "1." / "1)" starts a list: escape the punctuation after the number; "-", "+", "=" escape themselves.
    return f"{indent}{opener}\\" if opener[0].isdigit() else f"{indent}\\{opener}"


def text_block(markdown: str) -> list[dict]:
    """A chat message's content in Gradio 6's block format."""
    return [{"type": "text", "text": markdown}]


def user_message(text: str) -> dict:
    return {"role": "user", "content": text_block(esc_md(text))}


def assistant_message(text: str, items: Iterable[RecommendedItem] = (), reasons: dict[str, str] | None = None,
                      *, first: str | None = None) -> dict:
    """The assistant's turn: its words, then a numbered list of the items with their reasons so far. A list
    from several catalogs labels each item with its kind ("film", "book"); `first`: the first catalog's domain."""
    reasons = reasons or {}
    items = list(items)
    mixed = len({i.domain for i in items}) > 1
    lines = [esc_md(text)] if text else []
    for n, item in enumerate(items, start=1):
        reason = reasons.get(item.item_id, item.explanation)
        kind = f"{noun(item.domain or first)}: " if mixed or item.domain else ""
        line = f"{n}\\. {esc_md(kind)}**{esc_md(_label(item))}**"
        lines.append(f"{line} — {esc_md(reason)}" if reason else line)
    return {"role": "assistant", "content": text_block("\n\n".join(lines))}


def card_html(item: RecommendedItem, reason: str = "", *, feedback: str = "") -> str:
    """One recommendation card: title, year, genres, reason, and the feedback already given."""
    genres = " · ".join(esc_html(g) for g in item.genres)
    year = f'<span class="rc-year">{esc_html(item.year)}</span>' if item.year else ""
    reason = reason or item.explanation
    why = f'<p class="rc-reason">{esc_html(reason)}</p>' if reason else '<p class="rc-reason rc-pending">…</p>'
    mark = f'<span class="rc-feedback">{esc_html(feedback)}</span>' if feedback else ""
    kind = f'<span class="rc-domain">{esc_html(noun(item.domain))}</span>' if item.domain else ""
    return (
        f'<div class="rc-card" data-item-id="{esc_html(item.item_id)}">'
        f'<div class="rc-head"><span class="rc-rank">{item.rank}</span>'
        f'<span class="rc-title">{esc_html(item.title)}</span>{year}{kind}{mark}</div>'
        f'<div class="rc-genres">{genres}</div>{why}</div>'
    )


def _label(item: RecommendedItem) -> str:
    return f"{item.title} ({item.year})" if item.year else item.title

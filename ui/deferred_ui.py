"""The chat UI mounted after the server already answers: `recassist demo` / `serve` start in seconds.

Importing Gradio and building the chat blocks cost ~6 s of CPU on 2 cores, more than everything else a
warm start does. The HTTP API does not need them, so the server starts without them: `/ui` answers with a
short "starting" page (503, reloading itself) while a background thread builds the Gradio app and mounts
it; once Gradio's own start-up (its queue) has run on the server's event loop, the page is replaced by the
chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI
from starlette.responses import HTMLResponse
from starlette.routing import Mount

log = logging.getLogger(__name__)

STARTING_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>recassist: starting</title></head><body style="font-family: sans-serif; margin: 3em">
<p>The chat UI is starting (a few seconds); this page reloads itself. The HTTP API already answers.</p>
</body></html>"""


def defer_ui(app: FastAPI, path: str, mount: Callable[[], None], on_ready: Callable[[], None] | None = None) -> None:
    """Serve a "starting" page at `path` until `mount()` (run in a thread once the server starts) has mounted
    the Gradio app there and its start-up events have run; `on_ready()` is called then."""
    placeholder = Mount(path, app=_starting_page)
    app.router.routes.append(placeholder)
    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI):
        async with outer(a) as state:
            loader = _Loader(app, placeholder, mount, asyncio.get_running_loop(), on_ready)
            loader.start()
            try:
                yield state
            finally:
                await loader.stop()

    app.router.lifespan_context = lifespan


async def _starting_page(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await HTMLResponse(STARTING_PAGE, status_code=503, headers={"Retry-After": "2"})(scope, receive, send)


class _Loader:
    """Builds and mounts the UI in a thread, then runs Gradio's start-up on the server's loop."""

    def __init__(self, app: FastAPI, placeholder: Mount, mount: Callable[[], None],
                 loop: asyncio.AbstractEventLoop, on_ready: Callable[[], None] | None) -> None:
        self.app, self.placeholder, self.mount, self.loop, self.on_ready = app, placeholder, mount, loop, on_ready
        self._stop = asyncio.Event()
        self._task: asyncio.Future | None = None

    def start(self) -> None:
        threading.Thread(target=self._build, name="recassist-ui-loader", daemon=True).start()

    def _build(self) -> None:
        try:
            self.mount()  # appends the Gradio Mount after the placeholder, which still shadows it
            gradio_app = next(r.app for r in reversed(self.app.router.routes)
                              if isinstance(r, Mount) and r.path == self.placeholder.path and r is not self.placeholder)
        except Exception:  # noqa: BLE001 - the API keeps serving; the page stays "starting" and the log says why
            log.exception("the chat UI could not be built")
            return
        self._task = asyncio.run_coroutine_threadsafe(self._run(gradio_app), self.loop)

    async def _run(self, gradio_app) -> None:
        # What `gr.mount_gradio_app` would have put in the server's lifespan, run now instead.
        async with gradio_app.router.lifespan_context(gradio_app):
            blocks = gradio_app.get_blocks()
            blocks.run_startup_events()
            await blocks.run_extra_startup_events()
            self.app.router.routes.remove(self.placeholder)  # from here /ui is the chat
            if self.on_ready is not None:
                self.on_ready()
            await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(self._task), timeout=5)

"""Request body size limit as plain ASGI middleware: rejects before the body is read or parsed.

A declared Content-Length over the limit is refused at once; a body without one (chunked) is
counted as it arrives and refused when it passes the limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from recassist.ui.api.errors import error_payload
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """`limit_for(path)` gives the byte limit for a request path."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _reply(send, 400, "bad_request", "Content-Length is not a number")
                return
            if size > limit:
                await _reply(send, 413, "request_too_large", _too_large(size, limit))
                return

        received = 0
        exceeded = False
        replied = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app made of the aborted read (FastAPI turns it into a 400), answer 413 instead.
            nonlocal replied
            if not exceeded:
                await send(message)
            elif not replied:
                replied = True
                await _reply(send, 413, "request_too_large", _too_large(received, limit))

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            pass
        if exceeded and not replied:
            await _reply(send, 413, "request_too_large", _too_large(received, limit))


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes is over the limit of {limit} bytes (RECASSIST_API_MAX_BODY_BYTES)"


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_payload(status, code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

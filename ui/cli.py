"""`recassist demo` and `recassist serve`: the chat UI and the HTTP API from one process.

`demo` prepares what is missing - the item index and a ranker that fits in seconds - serves on
127.0.0.1, and trains the conversation layer and the full ranker in a background process; the server
adopts each when it is ready
(`recassist status` shows progress). `serve` only opens what is already prepared (and adopts a full
ranker that finishes while it runs). Library errors reach `recassist.cli`, which turns them into
messages and exit codes.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from recassist.foundation.console import say
from recassist.foundation.settings import Settings

DEFAULT_PORT = 7860


def register_commands(subparsers, eval_subparsers=None) -> None:
    """Hook for the `recassist` command: adds `demo` and `serve`."""
    p = subparsers.add_parser("demo", help="prepare the demo catalog and serve the chat UI and HTTP API on 127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--no-llm", action="store_true", help="no LLM: text rules for extraction, template reasons")
    p.add_argument("--wait", action="store_true",
                   help="train the full ranker before serving (default: serve at once, train it in the background)")
    p.set_defaults(handler=_cmd_demo, host="127.0.0.1", ui=True)

    p = subparsers.add_parser("status", help="what is serving now and what is still training, with progress")
    p.set_defaults(handler=_cmd_status)

    p = subparsers.add_parser("serve", help="serve the chat UI and HTTP API (run `recassist demo` once first)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1; 0.0.0.0 = all)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--no-ui", dest="ui", action="store_false", help="HTTP API only, no chat UI")
    p.add_argument("--no-llm", action="store_true", help="no LLM: text rules for extraction, template reasons")
    p.add_argument("--workers", type=int, default=1,
                   help="API worker processes behind the port (default 1; more need PostgreSQL, Redis and a "
                        "Chroma server: docs/deployment.md)")
    p.set_defaults(handler=_cmd_serve)


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.assistant.conversation import background
    from recassist.assistant.conversation.prepare import prepare, prepare_first_start
    from recassist.assistant.dialogue.training import conversation_layer_state, ensure_full_conversation_layer

    started = time.perf_counter()
    trainer = None
    if args.wait:
        say("Preparing the demo: item index, full ranker and conversation layer (later starts reuse them) ...")
        prepare(settings, progress=True)
        say(f"  {ensure_full_conversation_layer(settings, progress=True)}")
    else:
        say("Preparing the demo (first start: item index and a quick ranker; later starts reuse them) ...")
        report = prepare_first_start(settings, progress=True)
        say(f"  {report.index}\n  {report.ranker}")
        layer = conversation_layer_state(settings)
        needed = {"a first conversation-trained layer": layer == "none", "the full ranker": report.full_ranker_needed,
                  "the conversation layer on every chat": layer != "full"}
        missing = [name for name, missing_now in needed.items() if missing_now]
        if missing:
            trainer = background.start(settings)
            verb = "trains" if len(missing) == 1 else "train"
            say(f"  {' and then '.join(missing).capitalize()} {verb} in the background (low priority); this "
                "server adopts each when it is ready (the full ranker only if better on validation). "
                "`recassist status` shows progress." if trainer is not None else
                "  Training is running in another process; this server adopts its models when they are ready.")
    if trainer is not None:
        # uvicorn re-raises the SIGTERM it stopped on once it has shut down. By default that ends this process
        # at once and the trainer kept running; as an exception it reaches the `finally` that stops it.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        return _serve(args, settings, started)
    finally:
        if trainer is not None and trainer.poll() is None:
            trainer.terminate()  # it saves nothing half-done: the next `recassist demo` resumes it


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.ui.status import describe

    say(describe(settings))
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    return _serve(args, settings, time.perf_counter())


def _serve(args: argparse.Namespace, settings: Settings, started: float) -> int:
    from recassist.ui.server import LOCAL_HOSTS, bind, serve, serve_workers, urls_for
    from recassist.ui.worker import check_scale_out, open_app

    workers = getattr(args, "workers", 1)
    check_scale_out(settings, workers)
    sock = bind(args.host, args.port)  # before the slow part: a busy port fails fast
    urls = urls_for(sock)
    ui_ready = threading.Event()  # the chat UI mounts once the API serves (ui.deferred_ui)

    def announce() -> None:
        lines = [f"recassist is ready ({time.perf_counter() - started:.1f} s)."]
        if workers > 1:
            lines[0] += f" {workers} workers share the port; each serves once loaded (`kill -HUP {os.getpid()}` " \
                "restarts them one by one, e.g. for a new model)."
        if args.ui:
            lines.append(f"  Chat UI:   {urls.ui}" + ("" if workers > 1 or ui_ready.is_set() else
                                                    "   (starting: ready in a few seconds; the API answers now)"))
        lines.append(f"  HTTP API:  {urls.api}   (OpenAPI docs: {urls.docs})")
        if settings.api_keys:
            lines.append("  API keys:  required: 'Authorization: Bearer <key>'; the UI asks for a key as password.")
        else:
            lines.append("  API keys:  none. To require one: RECASSIST_API_KEYS=<key1>,<key2> recassist serve")
            if args.host not in LOCAL_HOSTS:
                lines.append(f"  WARNING:   listening on {args.host} without API keys: anyone reaching it can use it.")
        lines.append("Press Ctrl+C to stop.")
        say("\n".join(lines))

    if workers > 1:
        serve_workers(sock, workers, use_llm=not args.no_llm, ui=args.ui, on_ready=announce)
        return 0
    def ui_is_ready() -> None:
        ui_ready.set()
        say(f"  The chat UI is ready ({time.perf_counter() - started:.1f} s): {urls.ui}")

    app = open_app(settings, use_llm=not args.no_llm, ui=args.ui, defer_ui=True, on_ui_ready=ui_is_ready)
    serve(app, sock, on_ready=announce)
    return 0


"""One lock between messages to the user and code that redirects the process's stdout and stderr.

llama-cpp-python loads a model with file descriptors 1 and 2 pointed at /dev/null (its
`suppress_stdout_stderr`), process-wide: a line another thread prints meanwhile is lost. The embedded
LLM loads in a background thread while the server starts, so the ready banner could vanish. Both sides
take `CONSOLE_LOCK`: the banner waits the second or so the load takes.
"""

from __future__ import annotations

import sys
import threading

CONSOLE_LOCK = threading.Lock()


def say(text: str) -> None:
    """Print a message for the user on stdout, flushed, never while the output is redirected."""
    with CONSOLE_LOCK:
        print(text, file=sys.stdout, flush=True)

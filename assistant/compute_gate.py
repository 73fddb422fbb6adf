"""At most N requests compute recommendations at once; the rest wait their turn, first come first served.

The server runs each request in a worker thread. Left alone, eight concurrent requests interleave
on two cores: every one of them progresses at an eighth of the speed, threads hand the GIL back and
forth, and a request's latency grows with everything else in flight. Admitting one request per core
into the compute part (candidates, ranking, evidence) and queueing the rest in arrival order makes
each request run nearly uncontended once admitted. Measured on this 2-core machine with the API
bench (concurrency 8): 45 -> 55-59 requests/s, p95 314 -> 180-188 ms, with the same code behind the
gate. LLM calls happen outside the gate, so slow explanations never hold a slot.
"""

from __future__ import annotations

import os
import threading
from collections import deque


class ComputeGate:
    """A context manager admitting at most `slots` holders, in arrival order (`threading.Semaphore`
    wakes waiters in no particular order, which lets an unlucky request wait through many turns)."""

    def __init__(self, slots: int = 0) -> None:
        """`slots` 0 means one per CPU core."""
        if slots < 0:
            raise ValueError(f"slots must be 0 (one per core) or more, got {slots}")
        self.slots = slots or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._busy = 0

    def __enter__(self) -> ComputeGate:
        with self._lock:
            if self._busy < self.slots and not self._waiting:
                self._busy += 1
                return self
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot is handed over by __exit__, _busy unchanged
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._busy -= 1

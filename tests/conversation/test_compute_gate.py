"""The compute gate: at most N holders, waiters admitted in arrival order, slots freed on errors."""

from __future__ import annotations

import os
import threading
import time

import pytest
from recassist.assistant.compute_gate import ComputeGate


def test_at_most_slots_hold_it_at_once():
    gate, lock = ComputeGate(2), threading.Lock()
    inside, peak = [0], [0]

    def work():
        with gate:
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 2 and inside[0] == 0


def test_waiters_get_in_in_arrival_order():
    gate, order = ComputeGate(1), []
    gate.__enter__()  # hold the only slot while the waiters line up

    def waiter(n):
        with gate:
            order.append(n)

    threads = []
    for n in range(5):
        threads.append(threading.Thread(target=waiter, args=(n,)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while len(gate._waiting) < n + 1 and time.monotonic() < deadline:  # n is queued before n + 1 starts
            time.sleep(0.001)
    gate.__exit__(None, None, None)
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4]


def test_an_error_inside_frees_the_slot():
    gate = ComputeGate(1)
    with pytest.raises(RuntimeError):
        with gate:
            raise RuntimeError("ranking failed")
    done = threading.Event()
    threading.Thread(target=lambda: (gate.__enter__(), done.set())).start()
    assert done.wait(5)


def test_slots_default_to_the_cores():
    assert ComputeGate(0).slots == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="slots"):
        ComputeGate(-1)

"""Compute threads for a serving process: one per request, so concurrent requests use the cores.

A request's matrix products are small (a few thousand rows by 384). Split across cores, OpenBLAS
and torch spend more time handing work to their threads, and spinning while waiting for it, than
computing: measured on 2 cores, one semantic search of ~10k item vectors took 8 ms with OpenBLAS'
default threads and under 1 ms on one. Several requests in flight, each on one thread (numpy and
torch release the GIL inside their kernels), fill the cores instead.
"""

from __future__ import annotations

import sys

_pinned: int | None = None


def pin_compute_threads(threads: int = 1) -> None:
    """Limit BLAS (numpy) and torch intra-op parallelism to `threads`, process-wide. Idempotent.

    Torch only when already imported: a server that scores without it does not pay its import (~3 s of
    CPU); code that loads torch models later sets torch's threads itself (`ranking.serving`)."""
    global _pinned
    if _pinned == threads:
        return
    from threadpoolctl import threadpool_limits

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")  # applied now, kept until the process ends
    _pinned = threads

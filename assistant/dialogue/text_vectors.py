"""MiniLM vectors of dialogue texts for training the text-to-item model, remembered on disk.

A text's vector is the one a request carrying it gets at serving (`Embedder.encode_queries`: the int8 graph,
each text alone), so the model learns on the vectors it is served and a vector never depends on which texts
were embedded beside it, or on which were remembered already (batches of the float graph padded each text
to the longest beside it, and two training runs differed by what the cache held).

Embedding the ~16.5k request texts of the shipped corpus costs a few minutes of CPU (two threads share it);
training again (or the evaluation refitting without its held-out part) reuses the vectors stored next to the
item vectors, keyed by the embedder and a hash of each text. A damaged cache file is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from recassist.ranking.storage import atomic_write

BATCH = 256  # texts per task: the progress moves after each, the cache is written after every eighth
THREADS = 2  # texts embedded at once (at most one per core)


def text_vectors(texts: Sequence[str], embedder, cache_dir: Path | str, max_chars: int,
                 progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """{text: float32 [dim] L2-normalised} for every distinct text in `texts` (cut to `max_chars`, as a
    request's text is); empty texts are left out (a request without text has no text vector)."""
    wanted = [t for t in dict.fromkeys(texts) if t.strip()]
    # Named by the path request texts take too: on another (a CPU without int8 products, say) they get other
    # vectors, and the model must learn on the ones it is served.
    path = Path(cache_dir) / f"dialogue-texts-{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder.queries_name())}.npz"
    cache = _load(path)
    missing = [t for t in wanted if _key(t) not in cache]
    if progress:
        progress(len(wanted) - len(missing))
    def embedded(part: list[str]) -> np.ndarray:
        return embedder.encode_queries([t.strip()[:max_chars] for t in part])

    # Each text runs alone (`encode_queries`), so its vector is the same whichever thread embeds it; the ONNX
    # runtime leaves the GIL while it runs, so two threads embed about twice as fast on two cores.
    parts = [missing[b: b + BATCH] for b in range(0, len(missing), BATCH)]
    with ThreadPoolExecutor(max(1, min(THREADS, os.cpu_count() or 1))) as pool:
        # Every part queued at once, so no thread waits for another's last part; the vectors come back in order.
        for n, (part, vecs) in enumerate(zip(parts, pool.map(embedded, parts), strict=True), 1):
            cache.update({_key(t): v for t, v in zip(part, vecs, strict=True)})
            if progress:
                progress(len(part))
            if n % 8 == 0 or n == len(parts):
                _save(path, cache)  # every couple of thousand texts: an interrupted run keeps what it embedded
    return {t: cache[_key(t)] for t in wanted}


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            return dict(zip(z["keys"].astype(str), z["vectors"], strict=True))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}


def _save(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(list(cache))
    vecs = np.stack(list(cache.values())).astype(np.float32)
    atomic_write(path, lambda f: np.savez(f, keys=keys, vectors=vecs))

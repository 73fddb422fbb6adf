"""Crashes: SIGKILL a writer at a random moment, restart, check that everything loads and no acknowledged write is lost.

Writers (see `robust_crash_worker.py`): feedback and profile writes from 4 threads, catalog updates
through the Assistant (update log + vector index), ranker training with checkpoint writes, index build.
After each kill the state is opened the way a restarted server opens it and checked:
- feedback: the store opens; every acknowledged feedback event and profile merge is there;
- catalog: the update log replays and the index opens against it (or names `recassist index build`,
  after which it does); every acknowledged item is in the catalog and the index;
- train: the checkpoint, when present, reads (never a corrupt file); a finished run's checkpoint exists;
- index: the index opens, or refuses with an error that names `recassist index build` (never a crash).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from recassist.foundation.settings import Settings
from robust_harness import Tally

WORKER = Path(__file__).parent / "robust_crash_worker.py"
# Seconds after READY within which the kill lands, per kind (roughly a run's length on 2 busy cores).
WINDOW = {"feedback": 3.0, "catalog": 8.0, "train": 20.0, "index": 30.0}


class CrashResult(Tally):
    # repairs_named: restarts that refused with the command to run; auto_repairs: restarts that finished
    # an interrupted catalog update (or index build) by themselves.
    COUNTS = ("kills", "acked", "lost", "load_failures", "repairs_named", "auto_repairs")

    def __init__(self, **counts: int) -> None:
        super().__init__(**counts)
        self.per_kind: dict[str, int] = {}


def _kill_once(kind: str, settings: Settings, rng: random.Random, ready_timeout: float = 300) -> list[dict]:
    """Start the worker, SIGKILL it at a random moment after READY; returns the acknowledged writes."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, str(WORKER), kind, str(settings.data_dir), str(settings.catalog_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    acks: list[dict] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("READY"):
                ready.set()
            elif line.startswith("ACK "):
                acks.append(json.loads(line[4:]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + ready_timeout
    while not ready.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            # Not a kill at all: the worker could not set up (an import moved, say). Counting it would
            # inflate the kills with runs in which nothing was written.
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the {kind} crash worker exited ({proc.returncode}) before it was ready; "
                               f"run `python {WORKER} {kind} DATA_DIR CATALOG_DIR` to see why")
    time.sleep(rng.uniform(0.05, WINDOW[kind]))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(timeout=5)
    return list(acks)


def _check_feedback(settings: Settings, acks: list[dict], result: CrashResult) -> None:
    from recassist.assistant.store import open_store
    from recassist.foundation.catalog import load_catalog_cached

    store = open_store(settings, load_catalog_cached(str(settings.catalog_dir)))
    try:
        for a in acks:
            if a["op"] == "feedback":
                got = {(f.item_id, f.kind) for f in store.feedback(a["user"], limit=100_000)}
                ok = (a["item"], a["kind"]) in got
            else:
                ok = a["theme"] in {t.text for t in store.get_profile(a["user"]).themes}
            if not ok:
                result.lost += 1
                result.examples.append(f"feedback: lost {a}")
    finally:
        close = getattr(store, "close", None)
        if close:
            close()


def _check_catalog(settings: Settings, acks: list[dict], result: CrashResult) -> None:
    """What a restart does: replay the update log over the catalog, finish an interrupted index update,
    open the index against it (nothing manual: a refusal here counts as a repair the user had to run)."""
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.foundation.errors import StateMismatchError
    from recassist.retrieval.index import open_index, repair_index

    catalog = apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings)
    if repair_index(catalog, settings, _embedder(settings)) is not None:
        result.auto_repairs += 1
    try:
        store = open_index(catalog, settings, _embedder(settings))
    except StateMismatchError as e:
        if "recassist index build" not in str(e):
            raise
        result.repairs_named += 1
        _rebuild(settings)
        store = open_index(catalog, settings, _embedder(settings))
    for a in acks:
        if a["item"] not in catalog:
            result.lost += 1
            result.examples.append(f"catalog: lost {a}")
    if store.count() != len(catalog):
        result.load_failures += 1
        result.examples.append(f"catalog: index has {store.count()} items, catalog {len(catalog)}")


_EMBEDDERS: dict = {}


def _embedder(settings: Settings):
    from recassist.retrieval.embedders import get_embedder

    if "e" not in _EMBEDDERS:
        _EMBEDDERS["e"] = get_embedder(settings)
    return _EMBEDDERS["e"]


def _check_train(settings: Settings, acks: list[dict], result: CrashResult) -> None:
    from recassist.ranking.sasrec_ckpt import read_checkpoint
    from recassist.ranking.serving import default_checkpoint

    path = default_checkpoint(settings)
    if path.is_file():
        read_checkpoint(path)  # raises CheckpointError for a corrupt file
    elif acks:
        result.lost += 1
        result.examples.append("train: finished run left no checkpoint")


def _check_index(settings: Settings, acks: list[dict], result: CrashResult) -> None:
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.errors import StateMismatchError
    from recassist.retrieval.index import check_manifest, open_index, repair_index

    catalog = load_catalog_cached(str(settings.catalog_dir))
    embedder = _embedder(settings)
    if repair_index(catalog, settings, embedder) is not None:  # as a restarted server does
        result.auto_repairs += 1
    try:
        check_manifest(open_index(catalog, settings, embedder), catalog, embedder)
    except StateMismatchError as e:
        if "recassist index build" not in str(e):
            raise
        result.repairs_named += 1


def _rebuild(settings: Settings) -> None:
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.retrieval.index import build_index

    catalog = apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings)
    build_index(catalog, settings, _embedder(settings), progress=False)


CHECKS = {"feedback": _check_feedback, "catalog": _check_catalog, "train": _check_train, "index": _check_index}


def run_crashes(settings_for: dict[str, Settings], kills: dict[str, int], *, seed: int = 7,
                journal: Path | None = None) -> CrashResult:
    """`kills[kind]` SIGKILLs per writer kind, each on `settings_for[kind]`'s data dir (state accumulates).

    With a `journal`, each kill's outcome is appended as it is known and the kills a kind already has
    there are not run again (kinds may run as separate processes; the totals come from the journal).
    """
    rng = random.Random(seed)
    result = CrashResult()
    done = Counter(line["kind"] for line in _journaled(journal))
    for kind, n in kills.items():
        settings = settings_for[kind]
        for _ in range(n - done[kind]):
            one = CrashResult(kills=1)
            acks = _kill_once(kind, settings, rng)
            one.acked = len(acks)
            try:
                CHECKS[kind](settings, acks, one)
            except Exception as e:  # a restart that cannot load is the failure being measured
                one.load_failures += 1
                one.examples.append(f"{kind}: restart failed: {type(e).__name__}: {str(e)[:200]}")
            if journal is not None:
                with open(journal, "a") as f:
                    f.write(json.dumps({"kind": kind, **vars(one)}) + "\n")
            result.add(one)
            result.per_kind[kind] = result.per_kind.get(kind, 0) + 1
    return result if journal is None else crash_totals(journal, kills)


def _journaled(journal: Path | None) -> list[dict]:
    if journal is None or not journal.exists():
        return []
    lines = []
    for raw in journal.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill of the run itself
    return lines


def crash_totals(journal: Path, kills: dict[str, int]) -> CrashResult:
    """The journal's kills (at most `kills[kind]` per kind, in order) added up."""
    total = CrashResult()
    for line in _journaled(journal):
        kind = line["kind"]
        if total.per_kind.get(kind, 0) >= kills.get(kind, 0):
            continue
        one = CrashResult(**{k: line[k] for k in CrashResult.COUNTS})
        one.examples = line["examples"]
        total.add(one)
        total.per_kind[kind] = total.per_kind.get(kind, 0) + 1
    return total

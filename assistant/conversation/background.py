"""The background trainer: the slow models, trained in their own low-priority process while the server
answers with the quick ones (`recassist demo` starts it; `recassist status` shows its progress): a first
conversation-trained layer (a minute or two), then the full ranker (minutes), then the layer on every
conversation with the full ranker's scores (minutes). Servers adopt each when its files are complete
(`ui.worker`).

Run as `python -m recassist.assistant.conversation.background` with the server's `RECASSIST_*`
environment. Stages run in order; each is resumable and reuses what is already current, so a
restart (after Ctrl+C or kill -9) continues where the last run stopped. Only one trainer runs per
data dir (`ranking.staged.TrainerLock`): a second start returns at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from recassist.foundation.catalog import Catalog, load_catalog_cached
from recassist.foundation.settings import Settings
from recassist.ranking.staged import TrainerLock, read_status, write_status

NICENESS = 15  # the server's request threads keep priority over training on the same cores
LOG_NAME = "training.log"


def _full_ranker(settings: Settings, catalog: Catalog) -> str:
    from recassist.assistant.conversation.prepare import text_vectors
    from recassist.ranking.staged import train_full_ranker

    return train_full_ranker(settings, catalog, text_vectors=lambda: text_vectors(settings, catalog))


def _conversation_layer(settings: Settings, catalog: Catalog) -> str:
    """The conversation-trained layer (servers adopt it when its files appear). A failure here is reported
    and training goes on: chats keep the hand-set blend, and the full ranker still comes."""
    from recassist.assistant.dialogue.training import ensure_conversation_layer
    from recassist.foundation.errors import RecassistError

    # A current layer is reused at once (the next stage then writes its own status).
    write_status(settings, state="training", stage=CONVERSATION_STAGE, started_at=time.time())
    try:
        return ensure_conversation_layer(settings, progress=True)
    except RecassistError as e:
        return f"not trained ({e}); chats use the hand-set blend"


def _full_conversation_layer(settings: Settings, catalog: Catalog) -> str:
    """The layer again, on every conversation and with the full ranker's scores (servers adopt it too)."""
    from recassist.assistant.dialogue.training import ensure_full_conversation_layer
    from recassist.foundation.errors import RecassistError

    finished = read_status(settings)  # the full ranker's: what the status says again once this stage ends
    write_status(settings, state="training", stage=FULL_CONVERSATION_STAGE, started_at=time.time())
    try:
        note = ensure_full_conversation_layer(settings, progress=True)
    except RecassistError as e:
        note = f"not retrained ({e}); chats keep the first layer"
    write_status(settings, **{k: v for k, v in finished.items() if k != "running"})
    return note


CONVERSATION_STAGE = "conversation layer"
FULL_CONVERSATION_STAGE = "conversation layer, every conversation"
#: (name, stage(settings, catalog) -> note), run in order; each reuses a current result and resumes or redoes
#: an interrupted one. A first conversation layer comes first: a minute or two, and chats gain the most from
#: it; the full one follows the full ranker, whose scores it learns from.
STAGES: list[tuple[str, Callable[[Settings, Catalog], str]]] = [
    (CONVERSATION_STAGE, _conversation_layer),
    ("full ranker", _full_ranker),
    (FULL_CONVERSATION_STAGE, _full_conversation_layer),
]


def run(settings: Settings) -> int:
    """Run every stage under the trainer lock; 0 when done (or another trainer holds the lock)."""
    lock = TrainerLock(settings)
    if not lock.acquire():
        print("another trainer is already running for this data dir", file=sys.stderr)
        return 0
    try:
        catalog = load_catalog_cached(str(settings.catalog_dir))
        for name, stage in STAGES:
            print(f"{name}: {stage(settings, catalog)}", file=sys.stderr, flush=True)
        return 0
    except KeyboardInterrupt:
        write_status(settings, **dict(read_status(settings), state="interrupted"))
        return 130
    except Exception as e:
        write_status(settings, state="failed", message=f"{type(e).__name__}: {e}"[:500])
        raise
    finally:
        lock.release()


def start(settings: Settings) -> subprocess.Popen | None:
    """Start the trainer process for `settings`' data dir (None when one is already running).

    Its output goes to `models/training.log`. It shares the terminal's process group, so Ctrl+C stops
    it with the server (its checkpoint resumes next time); after kill -9 of the server it finishes its work.
    """
    if TrainerLock(settings).held_elsewhere():
        return None
    env = dict(os.environ, RECASSIST_DATA_DIR=str(Path(settings.data_dir).resolve()),
               RECASSIST_CATALOG_DIR=str(Path(settings.catalog_dir).resolve()))
    settings.ensure_dirs()
    log = open(Path(settings.models_dir) / LOG_NAME, "ab")  # noqa: SIM115 - the child owns it from here
    try:
        return subprocess.Popen([sys.executable, "-m", __name__], env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log)
    finally:
        log.close()


def _stop_on_signals() -> None:
    """Ctrl+C (SIGINT to the terminal's process group) and SIGTERM (the server stopping) both end the run
    through KeyboardInterrupt, so the status says 'interrupted'; SIGINT may arrive ignored when the server
    was started in the background by a shell, hence set explicitly."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    os.nice(NICENESS)
    _stop_on_signals()
    sys.exit(run(Settings()))

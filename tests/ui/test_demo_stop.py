"""Stopping `recassist demo` with SIGTERM stops its background trainer too.

uvicorn re-raises the signal it stopped on once it has shut down; by default that ended the demo before the
code that terminates the trainer, which then kept training with nobody serving its models. The demo here is
the real command (server, uvicorn, signal handling); only the trainer it starts is a stand-in process that
writes its pid and sleeps, so that it is surely still running when the demo is stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

DEMO_WITH_STAND_IN_TRAINER = """
import subprocess, sys
from recassist.assistant.conversation import background
from recassist.cli import main

def start(settings):
    return subprocess.Popen([sys.executable, "-c",
                             "import os, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"
                             .replace("sys.argv[1]", repr(sys.argv[1]))])

background.start = start
sys.exit(main(["demo", "--port", "0", "--no-llm"]))
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie left for a parent that no longer reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.slow
def test_sigterm_stops_the_demo_and_its_background_trainer(ui_settings, tmp_path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ui_settings.data_dir, data_dir, ignore=shutil.ignore_patterns("recassist.sqlite3*"))
    pid_file = tmp_path / "trainer.pid"
    env = {**os.environ, "RECASSIST_DATA_DIR": str(data_dir), "RECASSIST_CATALOG_DIR": str(ui_settings.catalog_dir)}
    demo = subprocess.Popen([sys.executable, "-c", DEMO_WITH_STAND_IN_TRAINER, str(pid_file)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(demo.stdout), daemon=True).start()  # never a full pipe
    trainer = None
    try:
        assert _wait_for(lambda: "recassist is ready" in "".join(output) or demo.poll() is not None, 300)
        assert "recassist is ready" in "".join(output), "".join(output)[-3000:]
        assert "in the background (low priority)" in "".join(output)  # the demo started its trainer
        assert _wait_for(pid_file.exists, 30)
        trainer = int(pid_file.read_text())
        assert _alive(trainer)

        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        assert _wait_for(lambda: not _alive(trainer), 30), "the trainer outlived the demo"
    finally:
        for pid in (demo.pid, trainer):
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)

"""A warm start serves without importing torch, sentence-transformers or Gradio, and ranks as before."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

HEAVY = ("torch", "sentence_transformers", "transformers", "gradio")

# What `recassist serve` does before its ready banner (UI deferred, no LLM), then one API request.
OPEN_AND_RECOMMEND = f"""
import json, sys
from recassist.foundation.settings import Settings
from recassist.ui.worker import open_app

app = open_app(Settings(), use_llm=False, ui=True, defer_ui=True)
heavy = [m for m in {HEAVY!r} if m in sys.modules]
reply = app.state.assistant.recommend(None, "a funny animated comedy for the family", k=10, explain=False)
print(json.dumps({{"heavy": heavy, "items": [i.item_id for i in reply.items]}}))
"""


def _open(data_dir, settings) -> dict:
    env = {**os.environ, "RECASSIST_DATA_DIR": str(data_dir), "RECASSIST_CATALOG_DIR": str(settings.catalog_dir)}
    out = subprocess.run([sys.executable, "-c", OPEN_AND_RECOMMEND], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_warm_start_imports_no_torch_and_ranks_as_the_torch_path(ui_settings, tmp_path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ui_settings.data_dir, data_dir, ignore=shutil.ignore_patterns("recassist.sqlite3*"))
    # Without the files that let it skip torch (the ranker's numpy export, the ONNX graphs' probe record), a
    # start loads torch and sentence-transformers. (The prepared data dir holds the graphs themselves: see
    # `ui_settings`. This test process's embedder is shared by every data dir of the suite.)
    removed = [p for p in data_dir.rglob("*") if p.name.endswith(".serving.npz") or "-probes-" in p.name]
    assert len(removed) == 2
    for p in removed:
        p.unlink()
    with_torch = _open(data_dir, ui_settings)
    assert "torch" in with_torch["heavy"] and "sentence_transformers" in with_torch["heavy"]
    # That start, in a process of its own, leaves the files a warm start reads: the next start imports none of
    # the heavy packages, and the same items come back.
    assert all(p.is_file() for p in removed)
    warm = _open(data_dir, ui_settings)
    assert warm["heavy"] == [] and len(warm["items"]) == 10
    assert warm["items"] == with_torch["items"]


def test_the_chat_ui_mounts_after_the_api_serves(engine, ui_settings) -> None:
    """`defer_ui`: the API answers at once, /ui says it is starting (503) until the Gradio app is mounted and
    started, then serves the chat."""
    import threading

    import httpx
    from recassist.ui.app import create_app
    from ui_helpers import running

    ready = threading.Event()
    app = create_app(engine, ui_settings, defer_ui=True, on_ui_ready=ready.set)
    with running(app) as url:
        assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200
        early = httpx.get(f"{url}/ui/", timeout=30)
        assert early.status_code == 200 or (early.status_code == 503 and "starting" in early.text)
        assert ready.wait(300)
        assert httpx.get(f"{url}/ui/", timeout=30).status_code == 200
        assert httpx.get(f"{url}/ui/config", timeout=30).status_code == 200

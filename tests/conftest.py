"""Fixtures shared across test folders: a real Assistant over a small slice of the demo catalog.

The slice (the most-rated movies plus the ones tests name, with all their
ratings) keeps index building and ranker training to seconds while every
component — MiniLM, Chroma, the SASRec ranker, SQLite, SmolLM2 — is real.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.settings import DEMO_CATALOG_DIR, Settings

NAMED = {"164179", "109487", "104841", "79132", "115713", "134130", "2571", "1", "260", "1196", "4993", "5952",
         "7153", "318", "356", "593", "296", "858", "1210", "2959", "58559", "6874", "48780", "4226", "1704",
         "122906", "177765"}  # the last two: Black Panther and Coco, new releases by the log's clock (2018)
SLICE_SIZE = 700


def write_slice(folder: Path, size: int = SLICE_SIZE) -> Path:
    """The demo catalog's `size` most-rated movies (+ NAMED) in recassist's own JSONL format."""
    full = load_catalog_cached(str(DEMO_CATALOG_DIR))
    pop = full.popularity
    keep = set(sorted(pop, key=lambda i: -pop[i])[:size]) | NAMED
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "items.jsonl").open("w") as f:
        for item_id in full.item_ids:
            if item_id in keep:
                f.write(full.items[item_id].model_dump_json() + "\n")
    with (folder / "interactions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "value", "timestamp"])
        for x in full.interactions:
            if x.item_id in keep:
                w.writerow([x.user_id, x.item_id, x.value, x.timestamp])
    return folder


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory) -> Settings:
    """Settings over a prepared data dir (index built, small ranker trained) for the catalog slice."""
    from recassist.assistant.conversation.prepare import prepare
    from recassist.ranking.sasrec_model import SASRecConfig

    root = tmp_path_factory.mktemp("recassist")
    # One llama.cpp thread (the default is 2): its output is the same token for token, and on 2 cores shared
    # with other work two threads that wait for each other at every layer can stall for minutes.
    settings = Settings(data_dir=root / "data", catalog_dir=write_slice(root / "catalog"), llm_timeout_s=60.0,
                        local_threads=1)
    cfg = SASRecConfig(max_len=50, hidden=32, blocks=1, max_epochs=4, eval_every=2, patience=2)
    prepare(settings, progress=False, train_config=cfg)
    (root / "prepared.json").write_text(json.dumps({"catalog": str(settings.catalog_dir)}))
    return settings


@pytest.fixture(scope="session")
def small_prepared(tmp_path_factory) -> Settings:
    """The small slice (`catalog_slices.write_small_catalog`) prepared as `recassist demo` would (index built, a
    one-epoch ranker), once for the session: the UI and security folders each work on a copy of its data dir."""
    from catalog_slices import prepare_small, share_embedding_graphs, write_small_catalog

    root = tmp_path_factory.mktemp("small-prepared")
    settings = Settings(data_dir=root / "data", catalog_dir=write_small_catalog(root / "catalog"))
    prepare_small(settings)
    share_embedding_graphs(settings)  # as a first start leaves them: server processes on it need not export
    return settings


@pytest.fixture(scope="session")
def small_assistant(small_settings):
    """A real Assistant (embedded LLM included) over the prepared slice."""
    from recassist.assistant.conversation import Assistant

    return Assistant.open(small_settings)


@pytest.fixture(scope="session")
def rules_assistant(small_settings):
    """The same Assistant without an LLM: for conversation logic that does not depend on the model."""
    from recassist.assistant.conversation import Assistant

    return Assistant.open(small_settings, use_llm=False)


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a PostgreSQL server for this test session, shared by the store contract tests and the
    scale-out deployment (each in databases of its own); skips when the package is missing."""
    from real_servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def function_calling_server():
    """llama.cpp's OpenAI-compatible server running the embedded SmolLM2 with a chat format that honours
    OpenAI `tools`: one for the session (the routing and the LLM-backend tests)."""
    from llama_servers import FUNCTION_CALLING, llama_server

    with llama_server(*FUNCTION_CALLING) as base:
        yield base

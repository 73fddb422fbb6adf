"""`index build|status` and `candidates` end to end on a catalog folder in tmp_path."""

from __future__ import annotations

import json

import pytest
from recassist.retrieval.cli import main
from retrieval_fixtures import make_catalog


@pytest.fixture
def env(tmp_path, monkeypatch):
    cat = make_catalog()
    folder = tmp_path / "catalog"
    folder.mkdir()
    with (folder / "items.jsonl").open("w") as f:
        for it in cat.items.values():
            f.write(it.model_dump_json(exclude_none=True) + "\n")
    with (folder / "interactions.jsonl").open("w") as f:
        for x in cat.interactions:
            f.write(
                json.dumps(
                    {"user_id": x.user_id, "item_id": x.item_id, "value": x.value, "timestamp": x.timestamp}
                )
                + "\n"
            )
    monkeypatch.setenv("RECASSIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECASSIST_CATALOG_DIR", str(folder))
    return tmp_path


def test_build_status_and_candidates(env, capsys):
    assert main(["candidates", "space", "--no-llm"]) == 2
    assert "recassist index build" in capsys.readouterr().err

    assert main(["index", "build", "--quiet"]) == 0
    assert "index cold: 16 items" in capsys.readouterr().out
    assert main(["index", "build", "--quiet"]) == 0
    assert "index unchanged" in capsys.readouterr().out
    assert main(["index", "status"]) == 0
    assert "ok: matches" in capsys.readouterr().out

    profile = {
        "liked_items": [{"item_id": "1", "title": "Star Voyage (2001)", "source": {"text": "Star Voyage"}}]
    }
    assert main(["candidates", json.dumps(profile), "--k", "5", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5 and "1" not in {r["item_id"] for r in rows}
    assert rows[0]["sources"] and rows[0]["label"]

    assert main(["candidates", "ghost stories in a haunted house", "--no-llm", "--k", "3"]) == 0
    assert "3 candidates" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (['{"liked_items": [{"item_id": "1"}]}'], "field 'liked_items.0.title'"),
        (['{"liked_items": '], "profile is not valid JSON"),
        (["space", "--filter", '{"director": "x"}'], "filter field 'director' is not allowed"),
        (["space", "--k", "0"], "k must be at least 1"),
    ],
)
def test_bad_input_is_a_clear_error(env, capsys, args, message):
    assert main(["index", "build", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["candidates", *args, "--no-llm"]) == 2
    assert message in capsys.readouterr().err

"""Items added or removed while serving survive a restart (foundation.catalog.updates)."""

import shutil

from recassist.assistant.conversation import Assistant
from recassist.foundation.catalog import Item, load_catalog_cached
from recassist.foundation.catalog.updates import apply_updates, record_upsert, updates_path


def test_updates_survive_a_restart(small_settings, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_settings.data_dir, data)  # a private copy: other tests share small_settings
    settings = small_settings.model_copy(update={"data_dir": data})
    a = Assistant.open(settings, use_llm=False)
    new = Item(item_id="new-1", title="<img src=x onerror=alert(1)>", year=2024, genres=("Sci-Fi",),
               tags=("space", "first contact"))
    a.upsert_item(new)
    a.delete_item("1")  # Toy Story
    assert "new-1" in a.catalog and "1" not in a.catalog
    again = Assistant.open(settings, use_llm=False)  # a restart: no StateMismatchError
    assert again.catalog.get("new-1").title == new.title and "1" not in again.catalog
    r = again.recommend(None, "first contact in space", k=50, explain=False)
    assert "new-1" in [i.item_id for i in r.items]  # retrievable and rankable by text alone


def test_a_line_cut_short_by_a_crash_is_ignored(small_settings, tmp_path):
    settings = small_settings.model_copy(update={"data_dir": tmp_path})
    record_upsert(settings, Item(item_id="a", title="Alpha"))
    with updates_path(settings).open("a") as f:
        f.write('{"op": "upsert", "item": {"item_id": "b", "ti')  # the crash
    base = load_catalog_cached(str(small_settings.catalog_dir))
    updated = apply_updates(base, settings)
    assert "a" in updated and "b" not in updated and len(updated) == len(base) + 1

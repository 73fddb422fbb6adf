import pytest
from recassist.foundation.errors import ConfigError
from recassist.foundation.settings import Settings
from recassist.prompts import MissingVariables, PromptTemplate, available_prompts, load_prompt


def test_every_path_derives_from_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RECASSIST_DATA_DIR", str(tmp_path))
    s = Settings()
    for p in (s.chroma_dir, s.embedding_cache_dir, s.models_dir, s.sqlite_path):
        assert tmp_path in p.parents


def test_backend_is_local_unless_an_endpoint_is_configured(monkeypatch):
    assert Settings().resolved_llm_backend == "local"
    monkeypatch.setenv("RECASSIST_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    assert Settings().resolved_llm_backend == "openai"
    monkeypatch.delenv("RECASSIST_LLM_BASE_URL")
    monkeypatch.setenv("RECASSIST_LLM_BACKEND", "openai")
    with pytest.raises(ConfigError, match="RECASSIST_LLM_BASE_URL"):
        Settings()


def test_all_prompt_files_validate():
    names = available_prompts()
    assert {"extract_interests", "reask_invalid_json"} <= set(names)
    for name in names:
        assert load_prompt(name).version >= 1


def test_prompt_variables_are_checked_on_load_and_render():
    with pytest.raises(ValueError, match="declare"):
        PromptTemplate(name="x", version=1, variables=["a"], user="{{ b }}")
    with pytest.raises(MissingVariables, match="text"):
        load_prompt("extract_interests").render()


def test_user_text_is_inserted_as_data_not_template():
    messages = load_prompt("extract_interests").render(text="{{ 7*7 }} {% for x in y %}")
    assert "{{ 7*7 }} {% for x in y %}" in messages[-1].content
    assert "49" not in messages[-1].content

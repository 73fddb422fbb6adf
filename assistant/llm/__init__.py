"""LLM backends behind one seam, picked by name from settings.

    local      SmolLM2-135M-Instruct in-process (default when no endpoint is configured)
    openai     any OpenAI-compatible base URL through the openai SDK
    langchain  the same endpoint through LangChain's ChatOpenAI (or pass any BaseChatModel
               to `LangChainChatClient` yourself)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from recassist.assistant.llm.base import ChatMessage, LLMClient
from recassist.foundation.settings import Settings

__all__ = ["ChatMessage", "LLMClient", "get_llm", "BACKENDS"]


def _local(s: Settings) -> LLMClient:
    from recassist.assistant.llm.local import LocalLlamaClient

    return LocalLlamaClient(s.local_model_path, n_ctx=s.local_n_ctx, threads=s.local_threads,
                            timeout_s=s.llm_timeout_s, max_reasks=s.llm_max_reasks)


def _openai(s: Settings) -> LLMClient:
    from recassist.assistant.llm.openai_compat import OpenAICompatibleClient

    key = s.llm_api_key.get_secret_value() if s.llm_api_key else None
    return OpenAICompatibleClient(s.llm_model, base_url=s.llm_base_url, api_key=key, timeout_s=s.llm_timeout_s,
                                  max_reasks=s.llm_max_reasks)


def _langchain(s: Settings) -> LLMClient:
    from recassist.assistant.llm.langchain_chat import LangChainChatClient

    key = s.llm_api_key.get_secret_value() if s.llm_api_key else None
    return LangChainChatClient.openai_compatible(base_url=s.llm_base_url, api_key=key, model=s.llm_model,
                                                 timeout_s=s.llm_timeout_s, max_reasks=s.llm_max_reasks)


BACKENDS: dict[str, Callable[[Settings], LLMClient]] = {"local": _local, "openai": _openai, "langchain": _langchain}

_CACHE: dict[tuple, LLMClient] = {}
_LOCK = threading.Lock()


def get_llm(settings: Settings) -> LLMClient:
    """The configured backend, built once per process per configuration."""
    name = settings.resolved_llm_backend
    key = (name, settings.llm_base_url, settings.llm_model, str(settings.local_model_path), settings.llm_timeout_s)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = BACKENDS[name](settings)
        return _CACHE[key]

"""Interest extraction: user text -> grounded `InterestProfile`."""

from __future__ import annotations

from recassist.assistant.extraction.extractor import ExtractionReport, InterestExtractor
from recassist.assistant.llm import get_llm
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.profile import InterestProfile
from recassist.foundation.settings import Settings

__all__ = ["ExtractionReport", "InterestExtractor", "extract_profile"]


def extract_profile(text: str, settings: Settings | None = None, *, use_llm: bool = True) -> InterestProfile:
    """Convenience for one-off calls (CLI, retrieval): default catalog and LLM from settings."""
    settings = settings or Settings()
    catalog = load_catalog_cached(str(settings.catalog_dir))
    llm = get_llm(settings) if use_llm else None
    extractor = InterestExtractor(catalog, llm, max_chars=settings.max_text_chars, llm_timeout_s=settings.llm_timeout_s)
    return extractor.extract(text, use_llm=use_llm)[0]

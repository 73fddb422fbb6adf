"""Assistant subcommands: `extract` and `eval extraction`.

`register_commands(sub, eval_sub)` is what the `recassist` command calls. Handlers take
`(args, settings)`, return an exit code and raise library errors, which the main CLI
turns into messages.
"""

from __future__ import annotations

import argparse
import sys

from recassist.foundation.settings import Settings


def _cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.assistant.extraction import extract_profile

    text = sys.stdin.read() if args.text == "-" else args.text
    profile = extract_profile(text, settings, use_llm=not args.no_llm)
    print(profile.model_dump_json(indent=2, exclude_defaults=not args.full))
    return 0


def _cmd_eval_extraction(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.assistant.evaluation.extraction_eval import evaluate_extraction, format_result
    from recassist.assistant.evaluation.redial import load_dialogues
    from recassist.assistant.extraction.extractor import InterestExtractor
    from recassist.assistant.llm import get_llm
    from recassist.foundation.catalog import load_catalog_cached
    from tqdm import tqdm

    catalog = load_catalog_cached(str(settings.catalog_dir))
    dialogues = load_dialogues(args.redial, limit=args.limit)
    llm = None if args.no_llm else get_llm(settings)
    extractor = InterestExtractor(catalog, llm, max_chars=settings.max_text_chars, llm_timeout_s=settings.llm_timeout_s)
    with tqdm(total=len(dialogues), desc="dialogues", unit="dlg", file=sys.stderr) as bar:
        result = evaluate_extraction(dialogues, catalog, extractor, progress=lambda n: bar.update(1))
    print(format_result(result))
    return 0


def register_commands(sub, eval_sub) -> None:
    """Add `extract` and `eval extraction`."""
    p = sub.add_parser("extract", help="read text into a grounded InterestProfile (JSON)")
    p.add_argument("text", help="the user's words; '-' reads standard input")
    p.add_argument("--no-llm", action="store_true", help="text rules and catalog only, no LLM call")
    p.add_argument("--full", action="store_true", help="print every field, defaults included")
    p.set_defaults(handler=_cmd_extract)

    p = eval_sub.add_parser("extraction", help="interest extraction on ReDial dialogues (see README)")
    p.add_argument("--redial", default=None, help="path to ReDial dialogues.jsonl (required)")
    p.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    p.add_argument("--no-llm", action="store_true", help="text rules only (shows what the LLM adds)")
    p.set_defaults(handler=_cmd_eval_extraction)

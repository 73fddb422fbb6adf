"""`recassist` command line. Library errors become messages and exit codes here, and only here.

Exit codes: 0 ok, 1 unexpected failure, 2 the caller's input/config was wrong,
3 a backend (LLM, vector store) failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from assistant.errors import BackendError, InputError, RecassistError
from assistant.settings import Settings

# Components register their own subcommands: module -> function(subparsers, eval_subparsers).
COMMAND_MODULES = ("retrieval.cli", "ranking.cli", "assistant.chat_cli", "ui.cli")


def _cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.extraction import extract_profile

    text = sys.stdin.read() if args.text == "-" else args.text
    profile = extract_profile(text, settings, use_llm=not args.no_llm)
    print(profile.model_dump_json(indent=2, exclude_defaults=not args.full))
    return 0


def _cmd_eval_extraction(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from assistant.catalog import load_catalog_cached
    from assistant.evaluation.extraction_eval import evaluate_extraction, format_result
    from assistant.evaluation.redial import load_dialogues
    from assistant.extraction.extractor import InterestExtractor
    from assistant.llm import get_llm

    catalog = load_catalog_cached(str(settings.catalog_dir))
    dialogues = load_dialogues(args.redial, limit=args.limit)
    llm = None if args.no_llm else get_llm(settings)
    extractor = InterestExtractor(catalog, llm, max_chars=settings.max_text_chars, llm_timeout_s=settings.llm_timeout_s)
    with tqdm(total=len(dialogues), desc="dialogues", unit="dlg", file=sys.stderr) as bar:
        result = evaluate_extraction(dialogues, catalog, extractor, progress=lambda n: bar.update(1))
    print(format_result(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recassist", description="A recommendation assistant people talk to.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("extract", help="read text into a grounded InterestProfile (JSON)")
    p.add_argument("text", help="the user's words; '-' reads standard input")
    p.add_argument("--no-llm", action="store_true", help="text rules and catalog only, no LLM call")
    p.add_argument("--full", action="store_true", help="print every field, defaults included")
    p.set_defaults(handler=_cmd_extract)

    ev = sub.add_parser("eval", help="evaluation harnesses")
    eval_sub = ev.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    p = eval_sub.add_parser("extraction", help="interest extraction on ReDial dialogues (see README)")
    p.add_argument("--redial", default=None, help="path to dialogues.jsonl (default: ../shared/data/redial-dev)")
    p.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    p.add_argument("--no-llm", action="store_true", help="text rules only (shows what the LLM adds)")
    p.set_defaults(handler=_cmd_eval_extraction)

    for module_name in COMMAND_MODULES:
        register = _optional_register(module_name)
        if register is not None:
            register(sub, eval_sub)
    return parser


def _optional_register(module_name: str) -> Callable | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            return None  # that component is not built yet
        raise
    return getattr(module, "register_commands", None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def call() -> int | None:
        if hasattr(args, "handler"):
            return args.handler(args, Settings())
        return args.func(args)  # component commands read settings themselves

    return run_command(call)


def run_command(call: Callable[[], int | None]) -> int:
    """Run a command body; the one place library errors become messages and exit codes."""
    try:
        return int(call() or 0)
    except InputError as e:
        print(f"recassist: {e}", file=sys.stderr)
        return 2
    except BackendError as e:
        print(f"recassist: a backend failed: {e}", file=sys.stderr)
        return 3
    except RecassistError as e:
        print(f"recassist: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("recassist: interrupted", file=sys.stderr)
        return 130


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())

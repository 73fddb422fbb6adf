"""CLI: `recassist train conversations`, `recassist conversations import-redial` / `export`."""

from __future__ import annotations

import argparse
from pathlib import Path

from recassist.foundation.settings import Settings


def cmd_train_conversations(args: argparse.Namespace) -> int:
    from recassist.assistant.dialogue.training import DEFAULT_LAYER_DIALOGUES, train_conversation_layer

    n = args.layer_dialogues
    report = train_conversation_layer(Settings(), args.corpus, progress=not args.no_progress,
                                      layer_dialogues=DEFAULT_LAYER_DIALOGUES if n is None else (n or None),
                                      keep_replay=getattr(args, "keep_replay", None))
    print(report)
    return 0


def _cmd_import_redial(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.assistant.dialogue.redial_corpus import redial_rows
    from recassist.assistant.evaluation.redial import load_dialogues
    from recassist.ranking.dialogue.corpus import write_corpus

    n = write_corpus(redial_rows(load_dialogues(args.redial)), args.out)
    print(f"wrote {n} conversations to {args.out}")
    return 0


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.assistant.dialogue.export import session_rows
    from recassist.assistant.store import open_store
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.ranking.dialogue.corpus import write_corpus

    store = open_store(settings, load_catalog_cached(str(settings.catalog_dir)))
    try:
        n = write_corpus(session_rows(store), args.out)
    finally:
        store.close()
    print(f"wrote {n} conversations to {args.out}; train on them with "
          f"`recassist train conversations --corpus {args.out}` (add --corpus for other corpora)")
    return 0


def register_commands(sub, eval_sub) -> None:
    p = sub.add_parser("conversations", help="conversation corpora: import ReDial, export the stored chats")
    cs = p.add_subparsers(dest="conversations_command", required=True, metavar="ACTION")
    q = cs.add_parser("import-redial", help="convert ReDial dialogues.jsonl to the corpus format")
    q.add_argument("redial", type=Path, help="ReDial dialogues.jsonl")
    q.add_argument("out", type=Path, help="corpus file to write (JSONL)")
    q.set_defaults(handler=_cmd_import_redial)
    q = cs.add_parser("export", help="the stored chat sessions, shown items and feedback as a corpus file")
    q.add_argument("out", type=Path, help="corpus file to write (JSONL)")
    q.set_defaults(handler=_cmd_export)

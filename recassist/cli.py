"""The `recassist` command: every layer's subcommands under one parser.

Each layer registers its own subcommands; this module only wires them together
(it sits above every layer) and maps library errors to exit codes through
`foundation.cli_errors`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

# Before anything imports torch, which reads it once: tensors of 2 MB and more get transparent huge pages. A
# training step allocates and frees tensors of tens of MB, and each fresh 4 KB page costs a fault. On one 2-core
# VM a text-to-item-like training loop took 46.16 s wall with 6,026,874 faults and 21.99 s of system time
# without, 25.69 s with 526,823 faults and 5.80 s with. Inherited by the background trainer; =0 turns it off.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from recassist.foundation.cli_errors import run_command  # noqa: E402
from recassist.foundation.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    from recassist.assistant import chat_cli
    from recassist.assistant import cli as assistant_cli
    from recassist.assistant.dialogue import cli as dialogue_cli
    from recassist.assistant.extraction import extract_profile
    from recassist.ranking import cli as ranking_cli
    from recassist.retrieval import cli as retrieval_cli
    from recassist.ui import cli as ui_cli

    parser = argparse.ArgumentParser(prog="recassist", description="A recommendation assistant people talk to.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ev = sub.add_parser("eval", help="evaluation harnesses")
    eval_sub = ev.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    for register in (
        assistant_cli.register_commands,
        dialogue_cli.register_commands,
        retrieval_cli.register_commands,
        ranking_cli.register_commands,
        chat_cli.register_commands,
        ui_cli.register_commands,
    ):
        register(sub, eval_sub)
    # `candidates TEXT` reads the text into a profile with the assistant's extractor.
    sub.choices["candidates"].set_defaults(text_to_profile=extract_profile)
    # `train conversations` replays chats through the assistant.
    sub.choices["train"].set_defaults(train_conversations=dialogue_cli.cmd_train_conversations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def call() -> int | None:
        if hasattr(args, "handler"):
            return args.handler(args, Settings())
        return args.func(args)  # component commands read settings themselves

    return run_command(call)


if __name__ == "__main__":
    raise SystemExit(main())

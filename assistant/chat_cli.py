"""`recassist chat`: the assistant in a terminal (multi-turn, streaming explanations, feedback commands)."""

from __future__ import annotations

import argparse
import sys
import uuid

HELP = """Type what you like, ask "why the second one?", critique ("less violent", "older", "not that one"),
or use commands: /like N, /dislike N, /seen N (N = position in the last list), /profile, /undo, /quit."""


def register_commands(sub, eval_sub) -> None:
    p = sub.add_parser("chat", help="chat with the assistant in the terminal")
    p.add_argument("--user", default=None, help="user id (default: a new one; reuse it to keep your profile)")
    p.add_argument("-k", type=int, default=5, help="recommendations per turn")
    p.add_argument("--no-explain", action="store_true", help="skip LLM explanations (template sentences only)")
    p.set_defaults(handler=_cmd_chat)
    from recassist.assistant.evaluation.conversation_eval import register_eval

    register_eval(eval_sub)


def _cmd_chat(args: argparse.Namespace, settings) -> int:
    from recassist.assistant.conversation import Assistant

    assistant = Assistant.open(settings)
    user = args.user or f"cli-{uuid.uuid4().hex[:8]}"
    session = assistant.store.start_session(user)
    print(f"recassist chat — user {user} (reuse with --user {user})\n{HELP}\n")
    shown: list[str] = []
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in ("/quit", "/exit"):
            return 0
        if line.startswith("/"):
            _command(assistant, user, session, line, shown)
            continue
        for event in assistant.chat_stream(user, line, session_id=session, k=args.k,
                                           explain=not args.no_explain):
            if event.type == "reply" and event.reply is not None:
                r = event.reply
                print(f"\nassistant> {r.text}")
                for note in r.notes:
                    print(f"  (note: {note})")
                items = r.items or (r.onboarding.items if r.onboarding else [])
                shown[:] = [i.item_id for i in items]  # in place: the /like commands read this list
                for i in items:
                    year = f" ({i.year})" if i.year else ""
                    print(f"  {i.rank}. {i.title}{year} — {', '.join(i.genres[:3])}\n     {i.explanation}")
            elif event.type == "explanation":
                pos = shown.index(event.item_id) + 1 if event.item_id in shown else "?"
                print(f"  [{pos}] {event.explanation}")
        print()


def _command(assistant, user: str, session: str, line: str, shown: list[str]) -> None:
    from recassist.foundation.errors import RecassistError

    parts = line.split()
    cmd = parts[0][1:]
    try:
        if cmd in ("like", "dislike", "seen") and len(parts) == 2 and parts[1].isdigit():
            item_id = shown[int(parts[1]) - 1]
            assistant.feedback(user, item_id, cmd, session_id=session)
            print(f"  noted: {cmd} {assistant.catalog.get(item_id).label}")
        elif cmd == "profile":
            print(assistant.store.get_profile(user).model_dump_json(indent=2, exclude_defaults=True))
        elif cmd == "undo":
            assistant.store.undo(user)
            print("  undone")
        else:
            print(HELP)
    except (IndexError, ValueError):
        print("  no such position in the last list")
    except RecassistError as e:
        print(f"  {e}", file=sys.stderr)

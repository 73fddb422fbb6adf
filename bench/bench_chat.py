"""Chat-turn latency with the embedded defaults: time to the first recommendation, then to the last explanation.

    python bench/bench_chat.py [--turns 20] [--no-explain]

Uses the prepared data dir (RECASSIST_DATA_DIR, default .recassist: run `recassist index build` and
`recassist train`, or `recassist demo`, first). Each conversation is a fresh user; a turn's "first
recommendation" is the moment the reply event with the ranked list arrives (extraction with the LLM,
retrieval, ranking, template reasons); explanations from the LLM stream after it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recassist.assistant.conversation import Assistant  # noqa: E402
from recassist.foundation.settings import Settings  # noqa: E402

CONVERSATIONS = [
    ["I loved Arrival and Interstellar but found Gravity dull; something thoughtful, not too long.",
     "less bleak", "older, please — before 2000", "why the second one?"],
    ["Something funny for a family night, we liked Toy Story and Shrek", "I've seen the first one", "more"],
    ["I want a tense crime thriller like Heat (1995) or The Departed", "not that one", "newer"],
    ["scary movies! I loved The Conjuring, hated Paranormal Activity", "more like the second one"],
    ["romantic comedies from the 90s please", "something else"],
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20, help="total chat turns to time")
    ap.add_argument("--no-explain", action="store_true", help="skip LLM explanations")
    args = ap.parse_args()
    settings = Settings()
    t0 = time.perf_counter()
    assistant = Assistant.open(settings)
    open_s = time.perf_counter() - t0
    first, full, intents = [], [], []
    n = 0
    while n < args.turns:
        for convo in CONVERSATIONS:
            user = f"bench-{n}"
            sid = assistant.store.start_session(user)
            for text in convo:
                if n >= args.turns:
                    break
                start = time.perf_counter()
                got_first = None
                for event in assistant.chat_stream(user, text, session_id=sid, k=5, explain=not args.no_explain):
                    if event.type == "reply" and got_first is None:
                        got_first = time.perf_counter() - start
                        intents.append(event.reply.intent)
                first.append(got_first or 0.0)
                full.append(time.perf_counter() - start)
                n += 1
    st = assistant.explainer.stats
    backend = assistant.llm.backend if assistant.llm else "none"
    print(f"machine: {settings.local_threads} llama.cpp threads; LLM backend {backend}")
    print(f"Assistant.open: {open_s:.2f} s; turns timed: {len(first)} ({', '.join(sorted(set(intents)))})")
    print(f"time to first recommendation: p50 {np.percentile(first, 50):.2f} s, p95 {np.percentile(first, 95):.2f} s")
    print(f"turn incl. streamed explanations: p50 {np.percentile(full, 50):.2f} s, p95 {np.percentile(full, 95):.2f} s")
    print(f"explanations: {st.llm_attempts} LLM attempts, checker pass rate {st.pass_rate:.3f}, "
          f"fallback rate {st.fallback_rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

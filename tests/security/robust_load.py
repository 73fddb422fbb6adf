"""Concurrency, isolation and unbounded consumption, over HTTP against the real app.

- `isolation`: N users chat at once, each naming a movie of their own and a marker word of their own,
  over several turns in their own session; afterwards every reply, every stored profile and every
  session is checked for another user's movie or marker. A user replaying another user's session id
  must be refused.
- `flood`: one API key floods `/v1/recommendations` from several threads while a second key sends one
  request at a time; the second key's latency is measured alone first, then under the flood, in the
  same run (relative figures: the machine is shared).
- `limits`: the per-request bounds (body size, text length, `k`), answered with 413 / 422 naming the limit.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from robust_harness import Tally


class IsolationResult(Tally):
    COUNTS = ("users", "turns", "leaks", "errors", "session_hijacks_refused", "session_hijack_attempts")


def isolation(base_url: str, titles: list[str], *, users: int = 50, turns: int = 3) -> IsolationResult:
    """`titles[i]` is user i's movie (the catalog's label, e.g. 'Heat (1995)'); needs len(titles) >= users."""
    result = IsolationResult(users=users)
    markers = [f"zq{i:03d}x" for i in range(users)]
    lock = threading.Lock()
    sessions: dict[int, str] = {}

    def user(i: int) -> list[dict]:
        replies = []
        with httpx.Client(base_url=base_url, timeout=600) as api:
            sid = None
            for t in range(turns):
                msg = f"I loved {titles[i]}, something with {markers[i]} vibes" if t == 0 else \
                    f"more like {titles[i]} please, {markers[i]}"
                body = {"user_id": f"iso-{i}", "message": msg, "k": 5}
                if sid:
                    body["session_id"] = sid
                r = api.post("/v1/chat", json=body)
                if r.status_code != 200:
                    with lock:
                        result.errors += 1
                        result.examples.append(f"user {i}: {r.status_code} {r.text[:150]}")
                    continue
                reply = r.json()
                sid = reply["session_id"]
                replies.append(reply)
            sessions[i] = sid or ""
            replies.append({"stored": api.get(f"/v1/users/iso-{i}/profile").json()})
        return replies

    with ThreadPoolExecutor(max_workers=users) as pool:
        all_replies = list(pool.map(user, range(users)))
    for i, replies in enumerate(all_replies):
        others = [(titles[j].rsplit(" (", 1)[0], markers[j]) for j in range(users) if j != i]
        for reply in replies:
            result.turns += 1
            text = str(reply)
            if "stored" not in reply and reply.get("user_id") != f"iso-{i}":
                result.leaks += 1
                result.examples.append(f"user {i}: reply for {reply.get('user_id')}")
            profile = reply.get("stored") or reply.get("profile") or {}
            liked = {e.get("title", "") for e in profile.get("liked_items", [])}
            for title, marker in others:
                if marker in text or title in liked:
                    result.leaks += 1
                    result.examples.append(f"user {i}: sees {title!r} / {marker}")
    # Replaying another user's session id must not join (or read) that session.
    with httpx.Client(base_url=base_url, timeout=600) as api:
        for i in range(min(users, 10)):
            victim = sessions.get((i + 1) % users)
            if not victim:
                continue
            result.session_hijack_attempts += 1
            r = api.post("/v1/chat", json={"user_id": f"iso-{i}", "message": "why did you suggest the first one?",
                                            "session_id": victim})
            if r.status_code in (403, 404):
                result.session_hijacks_refused += 1
            else:
                result.examples.append(f"user {i} joined session of user {(i + 1) % users}: {r.status_code}")
    return result


@dataclass
class FloodResult:
    flood_sent: int = 0
    flood_429: int = 0
    flood_2xx: int = 0
    other_alone_ms: list[float] = field(default_factory=list)
    other_under_flood_ms: list[float] = field(default_factory=list)
    other_non_2xx: int = 0


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def flood(base_url: str, key_flood: str, key_other: str, *, seconds: float = 20.0, flood_threads: int = 8,
          other_requests: int = 20) -> FloodResult:
    """The other key's latency alone, then while a second process floods with `key_flood` for `seconds`."""
    result = FloodResult()
    body = {"text": "something like Heat, a tense crime film", "k": 5, "explain": False}

    def other_series(into: list[float]) -> None:
        with httpx.Client(base_url=base_url, timeout=120, headers={"Authorization": f"Bearer {key_other}"}) as api:
            for _ in range(other_requests):
                t = time.perf_counter()
                r = api.post("/v1/recommendations", json=body)
                into.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    result.other_non_2xx += 1
                time.sleep(0.2)

    other_series(result.other_alone_ms)
    # The flood comes from another process, as it would: in this one it would fight the server for the GIL.
    flooder = subprocess.Popen([sys.executable, "-c", _FLOODER, base_url, key_flood, json.dumps(body),
                                str(flood_threads), str(seconds)], stdout=subprocess.PIPE, text=True)
    time.sleep(min(3.0, seconds / 4))  # let the flood spend its bucket first
    other_series(result.other_under_flood_ms)
    counts = json.loads(flooder.communicate(timeout=seconds + 120)[0])
    result.flood_sent, result.flood_429, result.flood_2xx = counts["sent"], counts["429"], counts["2xx"]
    return result


_FLOODER = """
import json, sys, threading, time
import httpx
url, key, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
threads, seconds = int(sys.argv[4]), float(sys.argv[5])
counts = {"sent": 0, "429": 0, "2xx": 0}
lock = threading.Lock()
end = time.monotonic() + seconds
def run():
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": "Bearer " + key}) as api:
        while time.monotonic() < end:
            r = api.post("/v1/recommendations", json=body)
            with lock:
                counts["sent"] += 1
                counts["429"] += r.status_code == 429
                counts["2xx"] += 200 <= r.status_code < 300
ts = [threading.Thread(target=run) for _ in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
print(json.dumps(counts))
"""


def limits(base_url: str, max_body: int) -> dict[str, tuple[int, str]]:
    """Probe each per-request bound; returns {probe: (status, message)}."""
    out = {}
    with httpx.Client(base_url=base_url, timeout=120) as api:
        probes = {
            "body over limit": ("/v1/profiles/extract", {"text": "a" * (max_body + 10)}),
            "text over 20000 chars": ("/v1/recommendations", {"text": "b " * 10_001}),
            "k over 50": ("/v1/recommendations", {"text": "Heat", "k": 51}),
            "chat k over 20": ("/v1/chat", {"user_id": "lim", "message": "Heat", "k": 21}),
            "text over max_text_chars (truncated, noted)": ("/v1/recommendations",
                                                            {"text": "I loved Heat. " + "x " * 3000, "k": 3,
                                                             "explain": False}),
        }
        for name, (path, body) in probes.items():
            r = api.post(path, json=body)
            msg = r.json().get("error", {}).get("message", "") if r.status_code >= 400 else \
                "; ".join(r.json().get("notes", []))
            out[name] = (r.status_code, msg[:160])
    return out


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.0f} ms, p95 {_p(values, 0.95):.0f} ms" if values else "n/a"

"""What is serving and what is still training, in words: `recassist status`, `/readyz` and the chat UI."""

from __future__ import annotations

import time
from typing import Any

from recassist.assistant.conversation.background import CONVERSATION_STAGE, FULL_CONVERSATION_STAGE
from recassist.foundation.settings import Settings
from recassist.ranking.staged import full_model_info, quick_path, read_status

HAND_SET = "hand-set blend (no trained conversation layer yet)"
_LAYER_STAGES = {
    CONVERSATION_STAGE: "conversation layer (replaying chats from the shipped corpus, a minute or two)",
    FULL_CONVERSATION_STAGE: "conversation layer on every chat of the shipped corpus, with the full ranker's "
                             "scores (minutes; the first layer serves meanwhile)",
}


def training_summary(settings: Settings) -> dict[str, Any]:
    """The background trainer's state: {'state': 'none' | 'training' | 'interrupted' | 'failed' | 'done',
    'running', 'progress' (one line), 'valid_ndcg'...}, from `models/training.json`."""
    st = read_status(settings)
    if not st:
        return {"state": "none", "running": False, "progress": "no background training has run"}
    state = st.get("state", "unknown")
    if state == "training" and not st.get("running"):
        state = "interrupted"  # the process died without saying so (kill -9): it resumes on the next demo
    out = {"state": state, "running": bool(st.get("running"))}
    if st.get("stage") in _LAYER_STAGES and state in ("training", "interrupted"):
        out["stage"] = st["stage"]
        line = _LAYER_STAGES[st["stage"]]
        if st.get("started_at"):
            line += f", {int(time.time() - float(st['started_at']))} s since start"
        out["progress"] = line + ("; resumes on the next `recassist demo`" if state == "interrupted" else "")
    elif state in ("training", "interrupted"):
        members = int(st.get("members", 1))
        line = (f"network {int(st.get('member', 0)) + 1}/{members}, epoch {st.get('epoch', 0)} "
                f"(stops early when validation stops improving, at most {st.get('max_epochs', '?')})")
        if st.get("last_valid_ndcg") is not None:
            line += f", last validation NDCG@10 {st['last_valid_ndcg']:.4f}"
        if st.get("started_at"):
            line += f", {int(time.time() - float(st['started_at']))} s since start"
        if state == "interrupted":
            line += "; resumes on the next `recassist demo`"
        out["progress"] = line
    elif state == "done":
        out["progress"] = "finished"
        out["valid_ndcg"] = st.get("valid_ndcg")
    elif state == "failed":
        out["progress"] = f"failed: {st.get('message', '')} (see models/training.log)"
    return out


def describe(settings: Settings) -> str:
    """Several lines for `recassist status` (reads files only; needs no running server)."""
    from recassist.foundation.catalog import load_catalog_cached

    catalog = load_catalog_cached(str(settings.catalog_dir))
    full = full_model_info(settings, catalog.version)
    lines = [f"data dir: {settings.data_dir}"]
    if full is not None:
        ndcg = full["valid_ndcg@10"]
        lines.append("ranker:   full model (self-attention ensemble + count blend)"
                     + (f", validation NDCG@10 {ndcg:.4f}" if ndcg is not None else ""))
    elif quick_path(settings).is_file():
        lines.append("ranker:   quick model (EASE + transitions) until the full one is ready")
    else:
        lines.append("ranker:   none yet: run `recassist demo`")
    from recassist.assistant.dialogue.training import conversation_layer_state

    layer = conversation_layer_state(settings)
    lines.append("chats:    " + {"none": HAND_SET, "full": "conversation-trained layer",
                                 "first": "first conversation-trained layer (retrained on every chat of the corpus "
                                          "once the full ranker is there)"}[layer])
    t = training_summary(settings)
    lines.append(f"training: {t['state']} - {t['progress']}")
    return "\n".join(lines)


def serving_summary(assistant, settings: Settings) -> dict[str, Any]:
    """What a running server serves now (`/readyz`, the chat UI): ranker, chat scorer, LLM, training."""
    llm = assistant.llm
    return {"ranker": dict(assistant.served_ranker),
            "conversation_layer": "serving" if assistant.engine.conversation is not None else HAND_SET,
            "conversation_layer_trained_on": _layer_trained_on(assistant.engine.conversation),
            "llm": {"backend": settings.resolved_llm_backend if llm is not None else "none",
                    "model": llm.model if llm is not None else "",
                    "state": llm.state if llm is not None else "off (text rules, template reasons)"},
            "training": training_summary(settings)}


def _layer_trained_on(scorer) -> dict[str, Any]:
    """What the served layer learned from: conversations replayed (of those usable) and the ranker's scores."""
    if scorer is None:
        return {}
    info = scorer.layer.info
    return {"replayed_conversations": info.get("replayed_conversations"),
            "usable_conversations": info.get("usable_conversations"), "ranker": info.get("ranker", {}).get("kind")}


def one_line(summary: dict[str, Any]) -> str:
    """`serving_summary` as one line of plain text for the chat UI."""
    ranker = summary["ranker"]
    parts = [f"ranker: {ranker.get('kind', '')} {ranker.get('name', '')}".replace("  ", " "),
             "chats: " + ("conversation-trained layer" if summary["conversation_layer"] == "serving"
                          else "hand-set blend"),
             f"LLM: {summary['llm']['state']}"]
    training = summary["training"]
    if training.get("running"):
        parts.append(f"training: {training['progress']}")
    return "Serving now - " + "; ".join(parts)

"""CLI commands: `recassist train` and `recassist eval ranker`.

`add_ranking_commands(subparsers)` registers both on the main parser's subparsers; each
sets `func(args) -> int`. Library errors propagate (the main CLI turns them into
messages); `python -m ranking.cli ...` runs these commands standalone.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from recassist.foundation.errors import ConfigError
from recassist.foundation.settings import Settings
from recassist.ranking.sasrec_config import SASRecConfig

# SASRecConfig fields exposed as flags (name -> help); the defaults come from the dataclass.
_FLAGS = {
    "max_epochs": "most epochs to train", "patience": "evaluations without improvement before stopping",
    "eval_every": "epochs between validation runs", "seed": "random seed", "threads": "torch threads",
    "hidden": "embedding size", "blocks": "transformer blocks", "heads": "attention heads",
    "max_len": "longest history used", "dropout": "dropout rate",
    "id_dropout": "share of id embeddings dropped per step",
    "lr": "learning rate", "weight_decay": "AdamW weight decay", "batch_size": "windows per step",
    "negatives": "sampled negatives per step (0 = full softmax over all items)",
    "ema_decay": "per-step decay of the weight average used for validation and serving (0 = off)",
    "warmup_epochs": "epochs of linear lr warm-up",
    "decay_epochs": "epoch where the cosine lr reaches 0 (0 = constant)",
    "text_layers": "layers of the text-to-item map (1 linear, 2 MLP)",
    "members": "networks trained one after another (seeds seed + 1000 m) whose scores are averaged",
}


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    defaults = SASRecConfig()
    for f in fields(SASRecConfig):
        if f.name in _FLAGS:
            d = getattr(defaults, f.name)
            p.add_argument(f"--{f.name.replace('_', '-')}", type=type(d), default=d,
                           help=f"{_FLAGS[f.name]} (default {d})")
    p.add_argument("--no-text", action="store_true", help="item vectors from ids only (no MiniLM text)")
    p.add_argument("--no-ease-blend", action="store_true",
                   help="the networks alone, without the EASE and transitions shares")


def _config(args: argparse.Namespace, **override) -> SASRecConfig:
    kw = {name: getattr(args, name) for name in _FLAGS}
    kw["use_text"] = not args.no_text
    kw["ease_blend"] = not args.no_ease_blend
    kw.update(override)
    return SASRecConfig(**kw)


def add_ranking_commands(subparsers) -> None:
    """Register `train` and `eval ranker` on an argparse subparsers object (standalone use)."""
    add_train_command(subparsers)
    ev = subparsers.add_parser("eval", help="evaluate a component")
    add_eval_ranker_command(ev.add_subparsers(dest="eval_target", required=True))


def register_commands(sub, eval_sub) -> None:
    """Hook for the main `recassist` CLI: `train` on its subparsers, `ranker` under its `eval`."""
    add_train_command(sub)
    add_eval_ranker_command(eval_sub)


def add_train_command(subparsers) -> None:
    """Register `train` on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train the ranker on the catalog's interactions (`train "
                              "conversations`: the conversation-trained layer)")
    p.add_argument("target", nargs="?", choices=("ranker", "conversations"), default="ranker",
                   help="what to train (default: the ranker)")
    p.add_argument("--corpus", action="append", type=Path, default=[],
                   help="conversations: a corpus file (JSONL, .gz allowed); repeat for several (default: the "
                        "shipped ReDial training corpus)")
    p.add_argument("--layer-dialogues", type=int, default=None,
                   help="conversations: how many conversations to replay for the layer (default: all; 0 = all)")
    p.add_argument("--keep-replay", default=None, metavar="PATH",
                   help="conversations: also write the replayed requests' features to PATH (.npz), for "
                        "bench/bench_conversation_layer.py")
    _add_config_flags(p)
    p.add_argument("--checkpoint", type=Path, help="checkpoint file (default: <data dir>/models/ranker.pt)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint's training state")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def add_eval_ranker_command(eval_subparsers) -> None:
    """Register `ranker` under an existing `eval` command's subparsers."""
    p = eval_subparsers.add_parser(
        "ranker",
        help="compare popularity, item-kNN, EASE and the trained model (leave-one-out, full ranking)",
        description="Trains every model on the leave-one-out training split (the served checkpoint is "
                    "trained on all events, so it is not reused here) and prints one table.",
    )
    _add_config_flags(p)
    p.add_argument("--models", default="popularity,itemknn,ease,sasrec", help="comma-separated ranker names")
    p.add_argument("--seeds", type=int, default=1, help="sasrec runs with seeds 0..N-1 (mean ± std)")
    p.add_argument("--json", type=Path, help="also write every run's numbers to this JSON file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval_ranker)


def cmd_train(args: argparse.Namespace) -> int:
    if getattr(args, "target", "ranker") == "conversations":
        # Replaying conversations needs the assistant (a layer above): the main CLI wires it in.
        hook = getattr(args, "train_conversations", None)
        if hook is None:
            raise ConfigError("`train conversations` needs the full `recassist` command")
        return hook(args)
    import torch
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.ranking.data import all_for_training
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.serving import default_checkpoint

    settings = Settings()
    settings.ensure_dirs()
    cfg = _config(args)
    catalog = load_catalog_cached(str(settings.catalog_dir))
    data = all_for_training(catalog)
    if cfg.use_text:
        from recassist.retrieval.embedders import get_embedder
        from recassist.retrieval.item_vectors import item_vectors

        embedder = get_embedder(settings)
        _, vectors = item_vectors(catalog, settings, embedder, progress=not args.no_progress)
        data = data.with_text(vectors, embedder.name)
    path = args.checkpoint or default_checkpoint(settings)
    torch.set_num_threads(cfg.threads)
    report = SASRecRanker(cfg).fit(data, progress=not args.no_progress, checkpoint=path, resume=args.resume)
    print(f"saved {path}: {_summary(report, cfg.members)}")
    return 0


def _summary(report: dict, members: int) -> str:
    """One line on the trained model: validation score, epochs, time, and what it is made of."""
    valid = report["best_valid_ndcg@10"]
    score = f"{valid:.4f}" if valid is not None else "n/a (no validation targets)"
    parts = f"{members} networks" if members > 1 else "1 network"
    if "networks_valid_ndcg@10" in report:  # a blend: name its parts
        extras = []
        if report.get("ease_weight"):
            decay = report.get("ease_decay", 1.0)
            extras.append(f"EASE (weight {report['ease_weight']}"
                          + (f", recency decay {decay})" if decay != 1.0 else ")"))
        if report.get("transition_weight"):
            extras.append(f"transitions (weight {report['transition_weight']})")
        parts += f" + {' + '.join(extras)}; networks alone {report['networks_valid_ndcg@10']:.4f}"
    epochs = ", ".join(map(str, report["best_epoch"])) if members > 1 else str(report["best_epoch"])
    whose = "the last network's" if members > 1 else "its"
    return (f"validation NDCG@10 {score}, {parts}; best epoch {epochs}; {report['seconds_to_best']:.0f} s "
            f"to {whose} best, {report['epochs_run']} epochs run")


def cmd_eval_ranker(args: argparse.Namespace) -> int:
    from recassist.ranking.base import RANKERS
    from recassist.ranking.evaluation import Job, format_table, run_isolated

    settings = Settings()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in RANKERS]
    if unknown:
        from recassist.foundation.errors import InputError

        raise InputError(f"unknown ranker(s) {', '.join(unknown)}; known: {', '.join(sorted(RANKERS))}")
    results = []
    for model in models:
        seeds = range(args.seeds) if model == "sasrec" else [None]
        for seed in seeds:
            params = _config(args, seed=seed).as_dict() if model == "sasrec" else {}
            job = Job(model, str(settings.catalog_dir), str(settings.data_dir), params,
                      progress=not args.no_progress)
            print(f"running {model}" + (f" seed {seed}" if seed is not None else ""), file=sys.stderr)
            results.append(run_isolated(job))
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps([_as_json(r) for r in results], indent=1))
    return 0


def _as_json(r) -> dict:
    return {"model": r.model, "params": r.params, "fit_report": r.fit_report, "valid": r.valid.as_dict(),
            "test": r.test.as_dict(), "fit_seconds": r.fit_seconds, "seconds_to_best": r.seconds_to_best,
            "peak_mb": r.peak_mb, "fit_mb": r.fit_mb}


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m ranking.cli train` / `python -m ranking.cli eval ranker`."""
    from recassist.foundation.errors import RecassistError

    parser = argparse.ArgumentParser(prog="python -m ranking.cli")
    add_ranking_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RecassistError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

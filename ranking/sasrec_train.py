"""Training loop for `SASRecNet`: full-softmax cross-entropy at every position, early stopping, checkpoints.

Every position of every training window predicts its next item against all items
at once (one forward pass per window), unlike one-sample-per-prefix augmentation,
which multiplies the work by the sequence length. Items with no training
interactions are masked out of the softmax, so the text path is never taught that
"items like this are never chosen" - which would sink brand-new items.

Determinism: each epoch reseeds torch and numpy from (seed, epoch), so a resumed
run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from recassist.ranking.data import InteractionData
from recassist.ranking.metrics import validation_ndcg
from recassist.ranking.sasrec_ckpt import FORMAT, NAME, read_checkpoint, write_checkpoint
from recassist.ranking.sasrec_model import SASRecConfig, SASRecNet, last_states


def build_windows(sequences: list[np.ndarray], max_len: int, all_windows: bool) -> list[np.ndarray]:
    """Training windows of at most max_len + 1 items (input = window[:-1], targets = window[1:]).

    Long histories are cut from the newest end into windows overlapping by one item, so
    every event is a target exactly once; with `all_windows` off only the newest is kept.
    """
    out = []
    for s in sequences:
        end = len(s)
        while end >= 2:
            out.append(s[max(0, end - max_len - 1):end])
            if not all_windows:
                break
            end -= max_len
    return out


def _batches(windows: list[np.ndarray], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of windows of similar length (less padding), in random order."""
    order = rng.permutation(len(windows))
    # Sort within chunks of 20 batches by length: keeps randomness, cuts padding.
    chunk = batch_size * 20
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(windows[i]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _tokens(windows: list[np.ndarray]) -> torch.Tensor:
    n = max(len(w) for w in windows)
    out = torch.zeros(len(windows), n, dtype=torch.int64)
    for r, w in enumerate(windows):
        out[r, n - len(w):] = torch.as_tensor(w, dtype=torch.int64) + 1
    return out


def new_net(data: InteractionData, cfg: SASRecConfig) -> SASRecNet:
    text = torch.zeros(data.n_items, 0)
    if cfg.use_text:
        if data.item_text is None:
            raise ValueError("SASRecConfig.use_text is on but the training data has no item_text")
        text = torch.tensor(np.asarray(data.item_text, dtype=np.float32))  # a copy: inputs may be read-only
    has_id = torch.as_tensor(data.item_counts() > 0)
    return SASRecNet(data.n_items, text, has_id, cfg)


MEMBER_SEED_STRIDE = 1000  # member m of an ensemble trains with seed `cfg.seed + 1000 * m`


def member_seed(cfg: SASRecConfig, member: int) -> int:
    return cfg.seed + MEMBER_SEED_STRIDE * member


def ensemble_states(nets: list[SASRecNet], tables: list[torch.Tensor], sequences: list) -> torch.Tensor:
    """User states [len(sequences), members * d] whose dot product with `ensemble_items` is the mean of
    the members' scores (each member's state and item vectors side by side, the state divided by M)."""
    return torch.cat([last_states(net, t, sequences) for net, t in zip(nets, tables, strict=True)],
                     1) / len(nets)


def ensemble_items(nets: list[SASRecNet]) -> torch.Tensor:
    """Item vectors [n_items, members * d]: the members' item vectors side by side."""
    return torch.cat([net.item_matrix() for net in nets], 1)


def validation_score(nets: list[SASRecNet], data: InteractionData) -> float:
    """Full-ranking NDCG@10 of `data.valid_targets` given `data.sequences`, members' scores averaged."""
    for net in nets:
        net.eval()
    with torch.inference_mode():
        items = ensemble_items(nets)
        tables = [net.padded(net.item_matrix()) for net in nets]

        def score(hist):
            return (ensemble_states(nets, tables, list(hist)) @ items.T).numpy()

        return validation_ndcg(score, data.sequences, data.valid_targets, data.n_items)


def payload(nets: list[SASRecNet], item_ids: list[str], catalog_version: str, text_model: str,
            item_counts: np.ndarray, best_states: list[dict], train: dict | None,
            ease: dict | None = None) -> dict[str, Any]:
    """The checkpoint dict (layout in `ranking.sasrec_ckpt`)."""
    net = nets[0]
    return {
        "ranker": NAME, "format": FORMAT, "config": json.dumps(net.cfg.as_dict(), sort_keys=True),
        "catalog_version": catalog_version, "text_model": text_model, "item_ids": list(item_ids),
        "item_text": net.text.clone(), "has_id": net.has_id.clone(),
        "item_counts": torch.as_tensor(item_counts), "models": best_states, "train": train,
        "ease": ease,
    }


def train(
    data: InteractionData,
    cfg: SASRecConfig,
    checkpoint: Path | str | None = None,
    resume: bool = False,
    progress: bool = False,
    on_eval: Callable[[dict], None] | None = None,
) -> tuple[list[SASRecNet], dict[str, Any]]:
    """Train `cfg.members` networks one after another; return (nets with their best validation weights,
    report).

    `checkpoint`: written (atomically) at each validation and at the end, holding the finished
    members and the current one's training state; `resume` continues from it (same catalog and
    config, else `StateMismatchError`). Without validation targets the last epoch counts as best.
    Report: best_epoch, best_valid_ndcg, epochs_run, seconds_to_best, seconds_total, history. With
    several members: `best_valid_ndcg@10` of the averaged scores, `seconds_to_best` until the last
    member's best epoch (earlier members' whole runs included), `best_epoch` a list, `members` their reports.
    """
    torch.set_num_threads(cfg.threads)
    finished: list[dict] = []  # best weights of members already trained
    reports: list[dict] = []
    saved: dict | None = None
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        ck = read_checkpoint(checkpoint, data.catalog_version, cfg)
        if ck.get("train") is None:
            raise ValueError(f"{checkpoint} has no training state to resume from")
        saved = ck["train"]
        member = saved.get("member", 0)
        finished, reports = ck["models"][:member], saved.get("member_reports", [])[:member]
        saved = dict(saved, best_state=ck["models"][member])
    for m in range(len(finished), cfg.members):
        best, report = _train_member(data, cfg, m, finished, reports, checkpoint, saved, progress, on_eval)
        saved = None
        finished.append(best)
        reports.append(report)
    nets = []
    for state in finished:
        net = new_net(data, cfg)
        net.load_state_dict(state)
        net.eval()
        nets.append(net)
    if cfg.members == 1:
        return nets, reports[0]
    has_valid = data.valid_targets is not None and bool((data.valid_targets >= 0).any())
    before_last = sum(r["seconds_total"] for r in reports[:-1])
    return nets, {
        "best_valid_ndcg@10": validation_score(nets, data) if has_valid else None,
        "best_epoch": [r["best_epoch"] for r in reports],
        "epochs_run": sum(r["epochs_run"] for r in reports),
        "seconds_to_best": round(before_last + reports[-1]["seconds_to_best"], 1),
        "seconds_total": round(before_last + reports[-1]["seconds_total"], 1),
        "history": [dict(row, member=m) for m, r in enumerate(reports) for row in r["history"]],
        "members": [{k: v for k, v in r.items() if k != "history"} for r in reports],
    }


def _train_member(
    data: InteractionData, cfg: SASRecConfig, member: int, finished: list[dict], reports: list[dict],
    checkpoint: Path | str | None, saved: dict | None, progress: bool, on_eval: Callable[[dict], None] | None,
) -> tuple[dict, dict[str, Any]]:
    """Train member `member` (resuming from the `saved` training state when given); returns its best
    weights and its report."""
    seed = member_seed(cfg, member)
    torch.manual_seed(seed)
    net = new_net(data, cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    st = {"epoch": 0, "best_epoch": 0, "best_ndcg": -1.0, "best_loss": float("inf"), "bad_evals": 0,
          "elapsed_s": 0.0, "best_elapsed_s": 0.0, "history": []}
    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    ema = WeightAverage(net, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if saved is not None:
        net.load_state_dict(saved["last_model"])
        opt.load_state_dict(saved["optimizer"])
        best_state = saved["best_state"]
        if ema is not None:
            ema.load(saved["ema"])
        st.update({k: saved[k] for k in st})
    windows = build_windows(data.sequences, cfg.max_len, cfg.all_windows)
    trainable = torch.as_tensor(np.flatnonzero(data.item_counts() > 0))
    has_valid = data.valid_targets is not None and bool((data.valid_targets >= 0).any())
    bar = None
    last_epoch = min(cfg.max_epochs, cfg.decay_epochs or cfg.max_epochs)  # past the decay the lr is 0
    if progress:
        from tqdm import tqdm

        label = f"training {NAME}" + (f" {member + 1}/{cfg.members}" if cfg.members > 1 else "")
        bar = tqdm(total=last_epoch, initial=st["epoch"], desc=label, unit="epoch")
    t0 = time.perf_counter() - st["elapsed_s"]
    while st["epoch"] < last_epoch and st["bad_evals"] < cfg.patience:
        st["epoch"] += 1
        loss = _epoch(net, opt, windows, trainable, cfg, seed, st["epoch"], ema)
        if bar is not None:
            bar.update(1)
        if st["epoch"] % cfg.eval_every and st["epoch"] < last_epoch:
            continue
        live = None
        if ema is not None:  # judge (and keep) the averaged weights
            live = {k: v.clone() for k, v in net.state_dict().items()}
            net.load_state_dict(ema.state)
        ndcg = validation_score([net], data) if has_valid else -loss
        st["elapsed_s"] = time.perf_counter() - t0
        row = {"epoch": st["epoch"], "loss": round(loss, 4), "valid_ndcg@10": round(ndcg, 5),
               "seconds": round(st["elapsed_s"], 1)}
        st["history"].append(row)
        # A tie on validation (a saturated metric on easy data) goes to the lower training loss.
        if ndcg > st["best_ndcg"] or (ndcg == st["best_ndcg"] and loss < st["best_loss"]):
            st.update(best_ndcg=ndcg, best_loss=loss, best_epoch=st["epoch"], bad_evals=0,
                      best_elapsed_s=st["elapsed_s"])
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            st["bad_evals"] += 1
        if live is not None:
            net.load_state_dict(live)
        if bar is not None:
            best = f"{st['best_ndcg']:.4f}@{st['best_epoch']}"
            bar.set_postfix(loss=f"{loss:.3f}", ndcg=f"{ndcg:.4f}", best=best)
        if on_eval is not None:
            on_eval(dict(row, member=member) if cfg.members > 1 else row)
        if checkpoint is not None:
            train_state = dict(st, last_model=net.state_dict(), optimizer=opt.state_dict(),
                               ema=ema.state if ema is not None else None, member=member,
                               member_reports=reports)
            write_checkpoint(checkpoint, payload([net], data.item_ids, data.catalog_version, data.text_model,
                                                 data.item_counts(), [*finished, best_state], train_state))
    if bar is not None:
        bar.close()
    report = {"best_epoch": st["best_epoch"], "best_valid_ndcg@10": st["best_ndcg"] if has_valid else None,
              "epochs_run": st["epoch"], "seconds_to_best": round(st["best_elapsed_s"], 1),
              "seconds_total": round(time.perf_counter() - t0, 1), "history": st["history"]}
    return best_state, report


def lr_at(cfg: SASRecConfig, progress: float) -> float:
    """Learning rate after `progress` epochs (fractional) under the config's warm-up / cosine schedule."""
    if cfg.warmup_epochs and progress < cfg.warmup_epochs:
        return cfg.lr * (progress + 1e-3) / cfg.warmup_epochs
    if not cfg.decay_epochs:
        return cfg.lr
    span = max(cfg.decay_epochs - cfg.warmup_epochs, 1)
    done = min((progress - cfg.warmup_epochs) / span, 1.0)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * done))


class WeightAverage:
    """Exponential moving average of a net's weights: `state` is a state dict, updated after each step."""

    def __init__(self, net: SASRecNet, decay: float) -> None:
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        self._pairs = [(self.state[k], p) for k, p in net.named_parameters()]

    def update(self) -> None:
        with torch.no_grad():
            avg, live = zip(*self._pairs, strict=True)
            torch._foreach_lerp_(list(avg), [p.detach() for p in live], 1.0 - self.decay)

    def load(self, state: dict) -> None:
        for k, v in state.items():
            self.state[k].copy_(v)


def _epoch(net: SASRecNet, opt: torch.optim.Optimizer, windows: list[np.ndarray], trainable: torch.Tensor,
           cfg: SASRecConfig, seed: int, epoch: int, ema: WeightAverage | None = None) -> float:
    """One pass over the windows; returns the mean cross-entropy per predicted position."""
    torch.manual_seed(seed * 100_003 + epoch)
    rng = np.random.default_rng([seed, epoch])
    net.train()
    total, count = 0.0, 0
    # Softmax over trained items only: target index -> its row in `trainable`.
    remap = torch.full((net.n_items + 1,), -1, dtype=torch.int64)
    remap[trainable + 1] = torch.arange(trainable.numel())
    batches = _batches(windows, cfg.batch_size, rng)
    for step, batch in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch - 1 + step / len(batches))
        tok = _tokens([windows[i] for i in batch])
        inp, tgt = tok[:, :-1], tok[:, 1:]
        keep = torch.rand(net.n_items) >= cfg.id_dropout if cfg.id_dropout > 0 else None
        items = net.item_matrix(keep)
        h = net.hidden_states(inp, net.padded(items))
        sel = (tgt > 0) & (inp > 0)
        hs, pos = h[sel], tgt[sel] - 1
        if cfg.negatives and cfg.negatives < trainable.numel():
            # Sampled softmax (gSASRec-style, many negatives): the positive against a shared uniform
            # sample; a sampled item equal to a row's positive is masked out of that row.
            neg = trainable[torch.randint(trainable.numel(), (cfg.negatives,))]
            logits = torch.cat([(hs * items[pos]).sum(1, keepdim=True), hs @ items[neg].T], 1)
            logits[:, 1:] = logits[:, 1:].masked_fill(neg[None, :] == pos[:, None], float("-inf"))
            loss = F.cross_entropy(logits, torch.zeros_like(pos))
        else:
            logits = hs @ items[trainable].T  # [positions, n_trained_items]
            loss = F.cross_entropy(logits, remap[pos + 1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update()
        n = int(sel.sum())
        total += float(loss.detach()) * n
        count += n
    return total / max(count, 1)

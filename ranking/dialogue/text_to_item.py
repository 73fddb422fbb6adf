"""Text-to-item: which items recommenders suggest after a dialogue, from its words and the items named so far.

A request is three vectors: the dialogue text's vector (MiniLM, L2-normalised), the recency-weighted mean of
the vectors of the items named so far that the seeker did not dislike, and the mean of the disliked ones. An
item's vector is its text vector (the same space as the dialogue text's), optionally followed by its
co-mention vector (`ranking.dialogue.comention`, fitted on the same conversations) scaled by
`corpus_vector_weight`: which films conversations name together, beside what their descriptions say. A linear
map takes the request to a `dim`-wide query; each item is its (fixed) vector mapped the same way plus a
learned offset and a bias. The logit of item i is `scale * query . item_i + bias_i`, trained with a
softmax over the whole catalog on the items recommenders newly suggested in a corpus of conversations.

Items never suggested in the corpus keep a score from their vector alone (text, and co-mention where they were
named), so the model generalises to unseen (context, item) pairs where co-suggestion counts are zero.

One conversation's influence is capped: identical examples (same text, same items named, same suggestion)
count once however many conversations repeat them, and a conversation's examples weigh at most
`conversation_cap` in total (tests/ranking/test_dialogue_text.py shows an injected dialogue cannot make an
item win everywhere). Many conversations together are weighed by `ranking.dialogue.trust` when its weights are
passed to `fit` (tests/ranking/test_dialogue_trust.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import numpy as np
from recassist.ranking.dialogue.files import config_from, load_current
from recassist.ranking.dialogue.trust import CorpusTrust
from recassist.ranking.storage import save_npz

NAME = "text-to-item"
FORMAT = 1
#: The text of a request in a dialogue: the seeker's last this many messages joined. Training examples, the
#: layer's replay, the evaluations and chat turns all read it so, so a model sees at serving what it learnt on.
#: Chosen on the held-out training fold (text-to-item alone, 3,419 examples, Recall@10 / @50): 1 message
#: 0.197 / 0.406, 2 0.212 / 0.436, 3 0.225 / 0.446, 5 0.233 / 0.458, 8 0.234 / 0.461, 20 0.238 / 0.461 (training
#: texts then embedded by the float graph, `assistant/dialogue/text_vectors.py` says why no longer). Five
#: is within noise of the longer windows, costs less to embed, and lets a chat's older wishes fade sooner.
REQUEST_MESSAGES = 5


@dataclass(frozen=True)
class TextToItemConfig:
    dim: int = 64  # width of the learned space (384 -> dim)
    epochs: int = 4  # chosen on the held-out training dialogues (docs/conversations.md)
    batch: int = 1024
    learning_rate: float = 0.01
    #: L2 on the learned item offsets and biases, a mean over the catalog, so each item's share is tiny: on the
    #: held-out training fold (five members, co-mention vectors) 0.001, 0.3 and 3 gave the same Recall@10 and at
    #: most one target less in the top 50, 30 one less in each. What keeps offsets small is SGD's step size
    #: and the few epochs.
    offset_decay: float = 1e-3
    #: plain SGD for the per-item offsets and biases (the shared maps use Adam at `learning_rate`): an item's
    #: parameters then move in proportion to its evidence. Under Adam, whose steps are normalised per
    #: parameter, one dialogue suggesting a rarely suggested film raised its log-probability by 2.8 nats for
    #: every unrelated request; with SGD the change is within a refit's noise (docs/conversations.md)
    item_learning_rate: float = 0.2
    conversation_cap: float = 4.0  # most total weight one conversation's examples may have
    recency: float = 0.85  # the most recent item named weighs 1, the one before this much, ...
    seed: int = 0
    #: Models fitted with seeds seed, seed + 1, ..., their logits averaged. One fit's optimum moves with its seed
    #: and with small changes of the data; on the held-out training fold (3,419 examples) text-to-item alone
    #: scored Recall@10 / @50 0.198-0.205 / 0.408-0.418 with one model (five seeds), 0.216 / 0.435 with two
    #: averaged, 0.215 / 0.437 with three, 0.225 / 0.446 with five. Three keep training within its minutes.
    members: int = 5
    #: torch threads while fitting: on a shared machine, two spinning OpenMP threads were 100x slower on the
    #: small products here than one
    threads: int = 1
    #: members fitted at once, in threads of `threads` torch threads each
    parallel: int = 2
    #: scale of the co-mention vectors appended to the item text vectors when `fit` is given them (unit
    #: vectors both). On the held-out training fold (text-to-item alone, five members, 3,419 examples), Recall@10
    #: / @50 without them 0.2305 / 0.4548; weight 0.25 0.2591 / 0.5104, 0.35 0.2600 / 0.5110, 0.5 0.2489 /
    #: 0.5057, 0.7 0.2486 / 0.4928, 1 0.2483 / 0.4861 (docs/conversations.md)
    corpus_vector_weight: float = 0.35


@dataclass(frozen=True)
class TextExample:
    """One training example: the dialogue so far and one item the recommender then newly suggested."""

    conversation_id: str
    text: str  # the dialogue text the request carries (its vector is looked up by text)
    context: tuple[str, ...]  # items named before, oldest first
    polarity: dict[str, int]  # context item -> +1 / -1 / 0
    target: str


def fit_together(jobs: Sequence[tuple[TextToItem, Sequence[TextExample]]], item_vectors: np.ndarray,
                 text_vectors: dict[str, np.ndarray], progress=None, trust: CorpusTrust | None = None,
                 corpus_vectors: Sequence[np.ndarray | None] | None = None) -> list[TextToItem]:
    """`model.fit(examples, item_vectors, text_vectors, progress, trust, corpus_vectors[j])` for each (model,
    examples) of `jobs`, every member of every model fitted in one pool of `parallel` threads (the first model's
    config). Fitted one model at a time, five members two at a time left a core idle while the fifth ran; each
    member's numbers are those of a lone fit either way (its own seed and data), so the models are the same."""
    import torch

    saved_threads = torch.get_num_threads()
    torch.set_num_threads(jobs[0][0].config.threads)
    try:
        inputs: dict = {}  # an example's request inputs, computed once for every job holding it (one catalog)
        extra = list(corpus_vectors) if corpus_vectors is not None else [None] * len(jobs)
        data = [model._training_data(examples, item_vectors, text_vectors, trust, inputs, more)
                for (model, examples), more in zip(jobs, extra, strict=True)]
        tasks = [(j, k) for j, (model, _) in enumerate(jobs) for k in range(max(1, model.config.members))]

        def fit_member(task: tuple[int, int]) -> TextToItem:
            j, k = task
            model = jobs[j][0]
            torch.set_num_threads(model.config.threads)  # OpenMP's thread count is each thread's own
            if model.config.members <= 1:
                return model._fit(data[j], progress)
            lone = TextToItem(model.item_ids, replace(model.config, members=1, seed=model.config.seed + k))
            return lone._fit(data[j], progress)

        # Torch leaves the GIL while it multiplies, so threads of one torch thread each fit side by side.
        with ThreadPoolExecutor(max(1, min(jobs[0][0].config.parallel, len(tasks)))) as pool:
            fitted = list(pool.map(fit_member, tasks))
        out = []
        for j, (model, _) in enumerate(jobs):
            parts = [m for (jj, _), m in zip(tasks, fitted, strict=True) if jj == j]
            out.append(parts[0] if model.config.members <= 1 else model._averaging(parts))
        return out
    finally:
        torch.set_num_threads(saved_threads)


class TextToItem:
    """`score(text_vector, context, polarity) -> float32 [n_items]`: log-probabilities over `item_ids`.

    After fitting, everything is stored already mapped (the query side as a text map and per-item context
    tables, the item side as one table), so scoring needs neither the item vectors nor torch."""

    def __init__(self, item_ids: Sequence[str], config: TextToItemConfig | None = None) -> None:
        self.config = config or TextToItemConfig()
        self.item_ids = list(item_ids)
        self.index = {x: i for i, x in enumerate(self.item_ids)}
        n, dim = len(self.item_ids), self.config.dim
        self.text_map = np.zeros((0, dim), np.float32)  # [d_in, dim]: the text vector's share of the query
        self.liked_table = np.zeros((n, dim), np.float32)  # an item named (not disliked) -> its query share
        self.disliked_table = np.zeros((n, dim), np.float32)  # an item the seeker disliked -> its query share
        self.item_table = np.zeros((n, dim), np.float32)  # mapped item vectors + learned offsets
        self.bias = np.zeros(n, np.float32)
        self.examples = 0
        self.catalog_version = ""
        self.info: dict = {}

    def score(self, text_vector: np.ndarray | None, context: Sequence[str],
              polarity: dict[str, int] | None = None) -> np.ndarray:
        """float32 [n_items]: log-probability of each item being suggested next (higher is better).
        `text_vector`: float32 [d_in] of the dialogue text (None: no text); `context`: items named, oldest first."""
        query = np.zeros(self.item_table.shape[1], np.float32)
        if text_vector is not None and len(self.text_map):
            query += text_vector @ self.text_map
        pos, w_pos, neg = self._context_rows(context, polarity or {})
        if pos:
            query += w_pos @ self.liked_table[pos] / w_pos.sum()
        if neg:
            query += self.disliked_table[neg].mean(axis=0)
        logits = self.item_table @ query + self.bias
        m = float(logits.max())
        return (logits - m - np.log(np.exp(logits - m).sum())).astype(np.float32)

    def _context_rows(self, context: Sequence[str], polarity: dict[str, int]):
        known = [c for c in dict.fromkeys(context) if c in self.index]
        pos = [j for j, c in enumerate(known) if polarity.get(c, 0) >= 0]
        w = np.array([self.config.recency ** (len(known) - 1 - j) for j in pos], np.float32)
        return ([self.index[known[j]] for j in pos], w, [self.index[c] for c in known if polarity.get(c, 0) < 0])

    def _request_inputs(self, vectors: np.ndarray, text_dim: int, text_vector: np.ndarray | None,
                        context: Sequence[str], polarity: dict[str, int]) -> np.ndarray:
        """float32 [text_dim + 2 * d_items]: the text vector, the named items' weighted mean, the disliked
        items' mean."""
        d = vectors.shape[1]
        out = np.zeros(text_dim + 2 * d, np.float32)
        if text_vector is not None:
            out[:text_dim] = text_vector
        pos, w, neg = self._context_rows(context, polarity)
        if pos:
            out[text_dim:text_dim + d] = w @ vectors[pos] / w.sum()
        if neg:
            out[text_dim + d:] = vectors[neg].mean(axis=0)
        return out

    # --- training -----------------------------------------------------------
    def fit(self, examples: Sequence[TextExample], item_vectors: np.ndarray, text_vectors: dict[str, np.ndarray],
            progress=None, trust: CorpusTrust | None = None, corpus_vectors: np.ndarray | None = None) -> TextToItem:
        """Softmax over the catalog on `examples` (targets outside `item_ids` dropped). `item_vectors`: float32
        [n_items, d_in] L2-normalised, in `item_ids` order; `text_vectors`: the vector of each example's text
        (texts missing count as no text); `trust` (optional): each example weighs its (conversation, target)
        weight as well; `corpus_vectors` (optional): float32 [n_items, k], each item's co-mention vector from the
        same conversations, appended to its text vector. Raises ValueError when no example is left or the shapes
        disagree."""
        return fit_together([(self, examples)], item_vectors, text_vectors, progress, trust, [corpus_vectors])[0]

    def _averaging(self, parts: Sequence[TextToItem]) -> TextToItem:
        """One model whose logits are the mean of `parts`' logits: their queries side by side, each item's
        vectors side by side scaled by 1 / len(parts), the biases averaged (scores and files as for one)."""
        k = len(parts)
        self.text_map = np.concatenate([p.text_map for p in parts], axis=1)
        self.liked_table = np.concatenate([p.liked_table for p in parts], axis=1)
        self.disliked_table = np.concatenate([p.disliked_table for p in parts], axis=1)
        self.item_table = (np.concatenate([p.item_table for p in parts], axis=1) / k).astype(np.float32)
        self.bias = np.mean([p.bias for p in parts], axis=0).astype(np.float32)
        self.examples = parts[0].examples
        losses = np.mean([p.info["loss_per_epoch"] for p in parts], axis=0)
        self.info = {**parts[0].info, "members": k, "loss_per_epoch": [round(float(x), 4) for x in losses]}
        return self

    def _training_data(self, examples, item_vectors, text_vectors, trust, inputs: dict | None = None,
                       corpus_vectors: np.ndarray | None = None):
        """(kept examples, their weights, item vectors, request inputs X, target rows y): what every member fits.
        `inputs`: request inputs models of this catalog computed already (filled in here)."""
        kept, weights = self._dedup_and_cap(examples, trust)
        if not kept:
            raise ValueError("no conversation example names a catalog item to train the text-to-item model on")
        vectors = np.asarray(item_vectors, np.float32)
        if vectors.shape[0] != len(self.item_ids):
            raise ValueError(f"{len(self.item_ids)} item ids but {vectors.shape[0]} item vectors")
        text_dim = vectors.shape[1]
        weight = self.config.corpus_vector_weight
        if corpus_vectors is not None and weight > 0:
            if len(corpus_vectors) != len(self.item_ids):
                raise ValueError(f"{len(self.item_ids)} item ids but {len(corpus_vectors)} co-mention vectors")
            vectors = np.concatenate([vectors, weight * np.asarray(corpus_vectors, np.float32)], axis=1)
        inputs = {} if inputs is None else inputs
        # By identity (the examples and vectors are alive for the whole fit) and the settings the inputs depend on.
        keys = [(id(e), self.config.recency, id(corpus_vectors) if weight > 0 else None, weight) for e in kept]
        for e, key in zip(kept, keys, strict=True):
            if key not in inputs:
                inputs[key] = self._request_inputs(vectors, text_dim, text_vectors.get(e.text), e.context, e.polarity)
        X = np.stack([inputs[key] for key in keys])
        y = np.array([self.index[e.target] for e in kept])
        return kept, weights, vectors, X, y

    def _fit(self, data, progress) -> TextToItem:
        import torch

        cfg = self.config
        kept, weights, vectors, X, y = data
        g = torch.Generator().manual_seed(cfg.seed)
        d_in = vectors.shape[1]
        d_text = X.shape[1] - 2 * d_in  # the text space is the first d_text columns of the item vectors
        # Start where an untrained model is sensible: query . item ~ cosine of the text and the items named
        # with the item's vector (a random orthonormal projection keeps dot products on average).
        proj = torch.linalg.qr(torch.randn(d_in, d_in, generator=g))[0][:, : cfg.dim] * (d_in / cfg.dim) ** 0.5
        q_map = torch.nn.Parameter(torch.cat([proj[:d_text], proj, -0.5 * proj]).clone())
        i_map = torch.nn.Parameter(proj.clone())
        offset = torch.nn.Parameter(torch.zeros(len(self.item_ids), cfg.dim))
        bias = torch.nn.Parameter(torch.zeros(len(self.item_ids)))
        log_scale = torch.nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        V = torch.from_numpy(vectors)
        Xt, yt, wt = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(weights)
        shared = torch.optim.Adam([q_map, i_map, log_scale], lr=cfg.learning_rate)
        per_item = torch.optim.SGD([offset, bias], lr=cfg.item_learning_rate)
        losses = []
        for _ in range(cfg.epochs):
            order = torch.randperm(len(kept), generator=g)
            total = 0.0
            for s in range(0, len(kept), cfg.batch):
                b = order[s: s + cfg.batch]
                items = V @ i_map + offset
                logits = log_scale.exp() * (Xt[b] @ q_map) @ items.T + bias
                loss = (torch.nn.functional.cross_entropy(logits, yt[b], reduction="none") * wt[b]).sum() / wt[b].sum()
                loss = loss + cfg.offset_decay * (offset.pow(2).sum(1).mean() + bias.pow(2).mean())
                shared.zero_grad()
                per_item.zero_grad()
                loss.backward()
                shared.step()
                per_item.step()
                total += float(loss.detach()) * len(b)
            losses.append(total / len(kept))
            if progress:
                progress(1)
        with torch.no_grad():
            q = (q_map * log_scale.exp()).numpy().astype(np.float32)
            self.text_map = q[:d_text]
            self.liked_table = vectors @ q[d_text:d_text + d_in]
            self.disliked_table = vectors @ q[d_text + d_in:]
            self.item_table = (V @ i_map + offset).numpy().astype(np.float32)
            self.bias = bias.numpy().astype(np.float32)
        self.examples = len(kept)
        self.info = {"examples": len(kept), "conversations": len({e.conversation_id for e in kept}),
                     "loss_per_epoch": [round(x, 4) for x in losses]}
        return self

    def _dedup_and_cap(self, examples: Sequence[TextExample], trust: CorpusTrust | None = None
                       ) -> tuple[list[TextExample], np.ndarray]:
        seen: set[str] = set()
        kept: list[TextExample] = []
        for e in examples:
            if e.target not in self.index or (trust is not None and trust.weight(e.conversation_id, e.target) <= 0):
                continue
            key = hashlib.sha1("\x1f".join([e.text, *e.context, "|", e.target]).encode()).hexdigest()
            if key not in seen:
                seen.add(key)
                kept.append(e)
        per_conv: dict[str, int] = {}
        for e in kept:
            per_conv[e.conversation_id] = per_conv.get(e.conversation_id, 0) + 1
        cap = self.config.conversation_cap
        weights = np.array([min(1.0, cap / per_conv[e.conversation_id])
                            * (trust.weight(e.conversation_id, e.target) if trust else 1.0) for e in kept], np.float32)
        return kept, weights

    # --- files --------------------------------------------------------------
    def save(self, path) -> None:
        meta = {"ranker": NAME, "format": FORMAT, "config": asdict(self.config), "examples": self.examples,
                "catalog_version": self.catalog_version, "info": self.info}
        save_npz(path, meta, {"item_ids": np.array(self.item_ids), "text_map": self.text_map,
                              "liked_table": self.liked_table, "disliked_table": self.disliked_table,
                              "item_table": self.item_table, "bias": self.bias})

    @classmethod
    def load(cls, path, catalog_version: str | None = None) -> TextToItem:
        """Raises `CheckpointError` (missing / corrupt) or `StateMismatchError` (another catalog version)."""
        meta, a = load_current(path, NAME, "text-to-item", catalog_version)
        self = cls([str(x) for x in a["item_ids"]], config_from(TextToItemConfig, meta["config"], path))
        self.text_map, self.liked_table, self.disliked_table = a["text_map"], a["liked_table"], a["disliked_table"]
        self.item_table, self.bias = a["item_table"], a["bias"]
        self.examples, self.catalog_version, self.info = int(meta["examples"]), meta["catalog_version"], meta["info"]
        return self


def examples_from(conversations, max_seeker_turns: int = REQUEST_MESSAGES) -> list[TextExample]:
    """Training examples of `conversations` (`ranking.dialogue.corpus.Conversation`): at each recommender turn
    newly suggesting items, the seeker's last `max_seeker_turns` messages joined (the text a chat request
    carries), the items named before, and each suggested item."""
    from recassist.ranking.dialogue.corpus import recommendation_turns

    out: list[TextExample] = []
    for conv in conversations:
        seeker_before = []
        texts = []
        for t in conv.turns:
            texts.append(" ".join(seeker_before[-max_seeker_turns:]))
            if t.role == "seeker":
                seeker_before.append(t.text)
        for rt in recommendation_turns(conv):
            out.extend(TextExample(conv.conversation_id, texts[rt.index], rt.context, rt.polarity, x)
                       for x in rt.targets)
    return out

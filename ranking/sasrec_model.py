"""The network: a SASRec-style causal transformer over item sequences, items = id embedding + text.

Item j's vector is `text_proj(text_j) + keep_j * id_emb_j`. The id part is dropped for
items never seen in training (their vector is text only) and, during training, for a
random `id_dropout` share of items each step, so the text path alone must learn to
place items well: that is what lets cold and brand-new items score.

Index 0 is padding; item j of the vocabulary is token j + 1. Sequences are left-padded,
so the newest item always sits at the last position.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from recassist.ranking.sasrec_config import SASRecConfig  # noqa: F401  (re-exported)
from torch import nn


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention then a 4x feed-forward, both residual."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        # No dropout on the 4d inner layer or the attention weights: on CPU the random masks for
        # those big tensors cost more than the rest of the block, and residual dropout suffices here.
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, last_only: bool = False) -> torch.Tensor:
        """x [B, L, d]; mask bool [B, 1, L, L] (True = may attend) or None for plain causal.

        `last_only`: compute the output at the last position only -> [B, 1, d] (serving needs no more).
        """
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if last_only:
            # The last position may attend to every non-padding position: no causal mask needed.
            q, x = q[:, :, -1:], x[:, -1:]
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask[..., -1:, :])
        elif mask is None:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.drop(self.out(a.transpose(1, 2).reshape(b, x.shape[1], d)))
        return x + self.drop(self.ff(self.ln2(x)))


class SASRecNet(nn.Module):
    """Causal transformer; `hidden_states` gives user states, `item_matrix` the item vectors to dot with.

    `text`: float32 [n_items, t] item text embeddings (a buffer, not trained; zeros [n_items, 0]
    when `use_text` is off). `has_id`: bool [n_items], items whose id embedding is used.
    """

    def __init__(self, n_items: int, text: torch.Tensor, has_id: torch.Tensor, cfg: SASRecConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.cfg, self.n_items = cfg, n_items
        # Buffers are not persisted: the checkpoint stores the text once, beside the weights.
        self.register_buffer("text", text.float(), persistent=False)
        self.register_buffer("has_id", has_id.bool(), persistent=False)
        self.id_emb = nn.Embedding(n_items, d)
        nn.init.normal_(self.id_emb.weight, std=0.02)
        self.text_proj: nn.Module | None = None
        if cfg.use_text and text.shape[1]:
            t = text.shape[1]
            # One linear map, or a small MLP (text_layers=2): a non-linear map places items by content better.
            self.text_proj = nn.Linear(t, d) if cfg.text_layers == 1 else nn.Sequential(
                nn.Linear(t, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.pos_emb = nn.Embedding(cfg.max_len, d)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        self.emb_drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(d, cfg.heads, cfg.dropout) for _ in range(cfg.blocks))
        self.final_ln = nn.LayerNorm(d)

    def item_matrix(self, id_keep: torch.Tensor | None = None) -> torch.Tensor:
        """Item vectors float32 [n_items, d]. `id_keep`: optional bool [n_items] (training id-dropout)."""
        keep = self.has_id if id_keep is None else self.has_id & id_keep
        e = self.id_emb.weight * keep.unsqueeze(1).to(self.id_emb.weight.dtype)
        if self.text_proj is not None:
            e = e + self.text_proj(self.text)
        return e

    @staticmethod
    def padded(items: torch.Tensor) -> torch.Tensor:
        """Lookup table [n_items + 1, d] for tokens: row 0 (padding) is zeros."""
        return torch.cat([items.new_zeros(1, items.shape[1]), items], 0)

    def hidden_states(self, tokens: torch.Tensor, table: torch.Tensor, last_only: bool = False
                      ) -> torch.Tensor:
        """tokens int64 [B, L] (0 = pad, left-padded, L <= max_len); table = `padded(item_matrix())`.

        Returns [B, L, d], or [B, 1, d] with `last_only` (the state after the newest item).
        """
        b, n = tokens.shape
        pos = torch.arange(self.cfg.max_len - n, self.cfg.max_len, device=tokens.device)
        x = table[tokens] * math.sqrt(table.shape[1]) + self.pos_emb(pos)
        x = self.emb_drop(x)
        valid = tokens > 0
        mask = None
        if not bool(valid.all()):
            causal = torch.ones(n, n, dtype=torch.bool, device=tokens.device).tril()
            # Real queries never attend to padding; a padding query attends to itself so no row is empty.
            mask = (causal & (valid[:, None, :] | torch.eye(n, dtype=torch.bool, device=tokens.device)))
            mask = mask.unsqueeze(1)
        for i, blk in enumerate(self.blocks):
            x = blk(x, mask, last_only=last_only and i == len(self.blocks) - 1)
        return self.final_ln(x)


def pad_left(sequences: list, max_len: int) -> torch.Tensor:
    """Item-index sequences -> tokens int64 [B, L] (index + 1, left-padded with 0, newest max_len kept).

    L is the longest kept sequence, so short batches stay cheap. An empty sequence is all padding.
    """
    n = max(1, max((min(len(s), max_len) for s in sequences), default=1))
    out = torch.zeros(len(sequences), n, dtype=torch.int64)
    for r, s in enumerate(sequences):
        s = s[-max_len:]
        if len(s):
            out[r, n - len(s):] = torch.as_tensor(s, dtype=torch.int64) + 1
    return out


def last_states(net: SASRecNet, table: torch.Tensor, sequences: list, batch_size: int = 256) -> torch.Tensor:
    """User states float32 [len(sequences), d]: the hidden state at each sequence's newest item.

    `table`: the net's token lookup table, `net.padded(net.item_matrix())`.
    """
    outs = []
    for start in range(0, len(sequences), batch_size):
        tokens = pad_left(sequences[start:start + batch_size], net.cfg.max_len)
        outs.append(net.hidden_states(tokens, table, last_only=True)[:, -1])
    return torch.cat(outs) if outs else table.new_zeros(0, table.shape[1])

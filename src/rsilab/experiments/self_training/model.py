"""A decoder-only character transformer, plain PyTorch, with a choice of position encoding.

Owns the network (``CharTransformer``), greedy decoding with a key/value cache, and the FLOP
estimate the loop records. ``positions`` is ``"nope"`` (no positional encoding at all, as in Lee
et al. 2025: causal masking alone tells a token where it is, which is what lets the model
generalise a little past its training lengths), ``"rope"`` (rotary) or ``"learned"`` (absolute
embeddings, which cannot go past ``max_seq_len``). Imports torch; nothing of ours but the config.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelShape:
    vocab_size: int
    n_layer: int
    n_head: int
    d_model: int
    d_ff: int
    positions: str  # "nope" | "rope" | "learned"
    max_seq_len: int


def _rope(x: torch.Tensor, offset: int) -> torch.Tensor:
    # x: (B, H, T, Dh); rotate pairs (even, odd) by angle pos * base^(-2i/Dh)
    _, _, t, dh = x.shape
    inv_freq = 10000.0 ** (-torch.arange(0, dh, 2, device=x.device, dtype=torch.float32) / dh)  # (Dh/2,)
    pos = torch.arange(offset, offset + t, device=x.device, dtype=torch.float32)  # (T,)
    ang = pos[:, None] * inv_freq[None, :]  # (T, Dh/2)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, H, T, Dh/2) each
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (B, H, T, Dh/2, 2)
    return out.flatten(-2)


class SelfAttention(nn.Module):
    def __init__(self, shape: ModelShape):
        super().__init__()
        self.n_head, self.rope = shape.n_head, shape.positions == "rope"
        self.qkv = nn.Linear(shape.d_model, 3 * shape.d_model, bias=False)
        self.proj = nn.Linear(shape.d_model, shape.d_model, bias=False)

    def forward(self, x: torch.Tensor, cache: tuple | None, offset: int):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)  # (B, T, D) each
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, H, T, Dh)
        if self.rope:
            q, k = _rope(q, offset), _rope(k, offset)
        if cache is not None:
            k = torch.cat((cache[0], k), dim=2)  # (B, H, offset+T, Dh)
            v = torch.cat((cache[1], v), dim=2)
        # Prefill (no cache) is causal; one new token with a cache sees every earlier key.
        causal = cache is None and t > 1
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, T, Dh)
        y = y.transpose(1, 2).reshape(b, t, d)  # (B, T, D)
        return self.proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, shape: ModelShape):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(shape.d_model), nn.LayerNorm(shape.d_model)
        self.attn = SelfAttention(shape)
        self.mlp = nn.Sequential(nn.Linear(shape.d_model, shape.d_ff), nn.GELU(), nn.Linear(shape.d_ff, shape.d_model))

    def forward(self, x: torch.Tensor, cache: tuple | None, offset: int):
        a, new_cache = self.attn(self.ln1(x), cache, offset)
        x = x + a
        x = x + self.mlp(self.ln2(x))
        return x, new_cache


class CharTransformer(nn.Module):
    def __init__(self, shape: ModelShape):
        super().__init__()
        if shape.d_model % shape.n_head or (shape.positions == "rope" and (shape.d_model // shape.n_head) % 2):
            raise ValueError(f"d_model={shape.d_model} must split into {shape.n_head} heads (of even size for rope)")
        self.shape = shape
        self.tok_emb = nn.Embedding(shape.vocab_size, shape.d_model)
        self.pos_emb = nn.Embedding(shape.max_seq_len, shape.d_model) if shape.positions == "learned" else None
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.n_layer))
        self.ln_f = nn.LayerNorm(shape.d_model)
        self.head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # residual projections scaled down with depth (GPT-2)
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * shape.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor, caches: list | None = None, offset: int = 0):
        """idx: (B, T) token ids -> logits (B, T, V) and the per-layer key/value caches."""
        x = self.tok_emb(idx)  # (B, T, D)
        if self.pos_emb is not None:
            pos = torch.arange(offset, offset + idx.shape[1], device=idx.device)
            if pos[-1] >= self.shape.max_seq_len:
                raise ValueError(f"learned positions stop at {self.shape.max_seq_len} tokens")
            x = x + self.pos_emb(pos)[None]
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, c = block(x, None if caches is None else caches[i], offset)
            new_caches.append(c)
        return self.head(self.ln_f(x)), new_caches

    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, max_new: int, end_id: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        """Greedy decoding of prompts of one length: (B, Tp) -> (B, max_new) new token ids.

        Stops early once every row has produced ``end_id``; rows that finished are padded with
        ``end_id``. Also returns how many tokens were generated (for the FLOP count) and each
        row's confidence: the lowest probability the model gave a token it chose, up to and
        including the end token, (B,).
        """
        logits, caches = self(prompts)  # (B, Tp, V)
        out = []
        done = torch.zeros(prompts.shape[0], dtype=torch.bool, device=prompts.device)
        confidence = torch.ones(prompts.shape[0], device=prompts.device)
        offset = prompts.shape[1]
        for _ in range(max_new):
            last = logits[:, -1].float()  # (B, V)
            nxt = last.argmax(-1)  # (B,)
            chosen = last.softmax(-1).gather(1, nxt[:, None])[:, 0]  # (B,)
            confidence = torch.where(done, confidence, torch.minimum(confidence, chosen))
            nxt = torch.where(done, torch.full_like(nxt, end_id), nxt)
            out.append(nxt)
            done |= nxt == end_id
            if bool(done.all()):
                break
            logits, caches = self(nxt[:, None], caches, offset)  # (B, 1, V)
            offset += 1
        res = torch.stack(out, dim=1)  # (B, n)
        if res.shape[1] < max_new:
            res = torch.cat((res, torch.full((res.shape[0], max_new - res.shape[1]), end_id,
                                             dtype=res.dtype, device=res.device)), dim=1)
        return res, len(out), confidence


def count_params(shape: ModelShape) -> int:
    """Parameters of a model of this shape (built on the meta device: no memory spent)."""
    with torch.device("meta"):
        return sum(p.numel() for p in CharTransformer(shape).parameters())


def forward_flop_per_token(shape: ModelShape, n_params: int, context: float) -> float:
    """Forward FLOP for one token seeing ``context`` earlier tokens (Kaplan et al. 2020).

    2 per matrix parameter (embeddings excluded: lookups, not matmuls; the output head kept)
    plus 4 * n_layer * context * d_model for the attention scores (q.k over ``context`` keys)
    and the weighted sum of values. Training costs three forwards (forward + backward).
    """
    embed = shape.vocab_size * shape.d_model + (shape.max_seq_len * shape.d_model if shape.positions == "learned" else 0)
    return 2.0 * (n_params - embed) + 4.0 * shape.n_layer * context * shape.d_model

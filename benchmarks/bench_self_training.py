"""Self-training speed: our model against a nanoGPT-style model, threads against processes, GPU MFU.

Prints ratios measured in this run (never compared with stored numbers):
1. training tokens/s on CPU of ``CharTransformer`` (cpu profile shape) against a nanoGPT-style
   model of the same width, depth, heads and MLP size (Karpathy's nanoGPT ``Block``: pre-norm,
   fused qkv with biases, ``scaled_dot_product_attention(is_causal=True)``, GELU MLP; learned
   positions and a tied output head as there), same batches, one thread and two;
2. two models trained side by side: one process with 2 threads (models in turn) against two
   spawned processes with 1 thread each (``rsilab.experiments.parallel.WorkerPool``);
3. on a CUDA GPU only: the gpu profile's training FLOP/s (our FLOP estimate) as a fraction of the
   device's peak dense bf16 FLOP/s (from a small table of known devices).
The machine may be shared: run ``uptime`` beside it and re-run when the load is low.
Usage: .venv/bin/python benchmarks/bench_self_training.py [--steps N]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn

from rsilab.experiments.parallel import WorkerPool
from rsilab.experiments.self_training.config import load_config
from rsilab.experiments.self_training.loop import model_shape
from rsilab.experiments.self_training.model import CharTransformer, count_params, forward_flop_per_token
from rsilab.experiments.self_training.tasks import VOCAB

PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


class NanoAttention(nn.Module):
    def __init__(self, d: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)  # (B, T, D) each
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, H, T, Dh)
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, Dh)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))


class NanoBlock(nn.Module):
    """nanoGPT's Block (model.py): x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, d: int, n_head: int, d_ff: int):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = NanoAttention(d, n_head)
        self.mlp = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Linear(d_ff, d))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """The baseline: nanoGPT's GPT at the cpu profile's shape (no dropout)."""

    def __init__(self, shape):
        super().__init__()
        self.wte = nn.Embedding(shape.vocab_size, shape.d_model)
        self.wpe = nn.Embedding(shape.max_seq_len, shape.d_model)
        self.h = nn.ModuleList(NanoBlock(shape.d_model, shape.n_head, shape.d_ff) for _ in range(shape.n_layer))
        self.ln_f = nn.LayerNorm(shape.d_model)
        self.lm_head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in nanoGPT

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))  # (B, T, D)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x)), None


def _train_tokens_per_s(model, steps: int, batch: int, seq: int, device: str = "cpu", bf16: bool = False) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    data = [torch.from_numpy(rng.integers(1, len(VOCAB), (batch, seq + 1))).to(device) for _ in range(4)]
    def step(i):
        x = data[i % 4]
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x[:, :-1])
            loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for i in range(3):  # warm-up
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch * seq / (time.perf_counter() - t0)


def _job(args) -> float:
    shape, steps, batch, seq = args
    torch.manual_seed(0)
    return _train_tokens_per_s(CharTransformer(shape), steps, batch, seq)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    a = ap.parse_args()
    cfg = load_config(None, "cpu")
    shape = model_shape(cfg)
    batch, seq = cfg.batch_size, 2 * cfg.n0 + 2  # a copy instance at n0: prompt + answer + end
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; torch {torch.__version__}")
    print(f"parameters: ours {sum(p.numel() for p in CharTransformer(shape).parameters()):,}, "
          f"nanoGPT-style {sum(p.numel() for p in NanoGPT(shape).parameters()):,}")
    print(f"cpu profile model: {count_params(shape) / 1e3:.0f}k parameters, {shape.n_layer} layers, d_model {shape.d_model}; "
          f"batch {batch} x {seq} tokens, {a.steps} steps")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        ours = _train_tokens_per_s(CharTransformer(shape), a.steps, batch, seq)
        torch.manual_seed(0)
        nano = _train_tokens_per_s(NanoGPT(shape), a.steps, batch, seq)
        print(f"[{threads} thread(s)] ours {ours:,.0f} tok/s, nanoGPT-style {nano:,.0f} tok/s, ratio {ours / nano:.2f}")

    # Two models: one process taking turns with 2 threads, or two processes with 1 thread each.
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    for _ in range(2):
        _job((shape, a.steps, batch, seq))
    seq_s = time.perf_counter() - t0
    with WorkerPool(2, 1) as pool:
        pool.map(_job, [(shape, 3, batch, seq)] * 2)  # spawn and import outside the timing
        t0 = time.perf_counter()
        pool.map(_job, [(shape, a.steps, batch, seq)] * 2)
        par_s = time.perf_counter() - t0
    print(f"two models: 1 process x 2 threads {seq_s:.1f} s, 2 processes x 1 thread {par_s:.1f} s, "
          f"speed-up {seq_s / par_s:.2f}")

    if not torch.cuda.is_available():
        print("GPU: no CUDA device here; the fraction of peak FLOP/s was not measured")
        return
    gcfg = load_config(None, "gpu")
    gshape = model_shape(gcfg)
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
    gseq = 4 * gcfg.n0 + 3  # an addition instance at n0 digits
    model = CharTransformer(gshape).cuda()
    tps = _train_tokens_per_s(model, a.steps, gcfg.batch_size, gseq, "cuda", bf16=True)
    flops = tps * 3 * forward_flop_per_token(gshape, count_params(gshape), (gseq + 1) / 2)
    frac = f"{flops / peak:.1%} of {peak / 1e12:.0f} TFLOP/s peak bf16" if peak else "peak unknown for this device"
    print(f"GPU {name}: {tps:,.0f} tok/s, {flops / 1e12:.1f} TFLOP/s achieved, {frac}")


if __name__ == "__main__":
    main()

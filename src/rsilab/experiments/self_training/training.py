"""The per-model work of a round: train on a pool, greedy-label prompts, measure accuracy.

Owns the job functions the loop maps over its models (in this process or in worker
processes, see ``rsilab.experiments.parallel``): ``train_eval_job`` and ``label_job``. A job
gets everything it needs as plain data (model weights as ``bytes``) and returns plain data,
so the same job gives the same result wherever it runs. Knows nothing of the store, the
filters or the rounds.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rsilab.experiments.self_training.model import CharTransformer, ModelShape, count_params, forward_flop_per_token
from rsilab.experiments.self_training.tasks import DECODE_SLACK, END, END_ID, PAD_ID, decode, encode, get_task

Pool = dict[int, list[tuple[str, str]]]  # difficulty -> [(prompt, answer without end token)]
Answer = tuple[str, bool, float]  # (text before the end token, whether the end token came, confidence)
DECODE_BATCH = 512


@dataclass(frozen=True)
class TrainSpec:
    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_steps: int
    seed: int


def weights_to_bytes(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def build_model(shape: ModelShape, weights: bytes | None, init_seed: int, device: str) -> CharTransformer:
    torch.manual_seed(init_seed)
    model = CharTransformer(shape)
    if weights is not None:
        model.load_state_dict(torch.load(io.BytesIO(weights), weights_only=True))
    return model.to(device)


def _lr_at(step: int, spec: TrainSpec) -> float:
    # Linear warmup, then cosine down to a tenth: every round restarts the schedule.
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    span = max(1, spec.steps - spec.warmup_steps)
    return spec.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - spec.warmup_steps) / span)))


def _batch(pool: Pool, difficulties: list[int], rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Difficulty-balanced batch: (B, T) inputs and (B, T) targets, -100 outside the answers."""
    chosen = rng.choice(len(difficulties), size=size)
    seqs, starts = [], []
    for c in chosen:
        items = pool[difficulties[c]]
        prompt, answer = items[int(rng.integers(len(items)))]
        seqs.append(encode(prompt + answer + END))
        starts.append(len(prompt))
    width = max(map(len, seqs))
    tokens = np.full((size, width), PAD_ID, dtype=np.int64)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = s
    x, y = tokens[:, :-1], tokens[:, 1:].copy()  # (B, T) each
    pos = np.arange(y.shape[1])[None, :]
    lengths = np.array([len(s) for s in seqs])[:, None]
    # Loss only on the answer and its end token: targets at positions start-1 .. len-2.
    y[(pos < np.array(starts)[:, None] - 1) | (pos >= lengths - 1)] = -100
    return x, y


def train(model: CharTransformer, pool: Pool, spec: TrainSpec, device: str, dtype: str) -> dict[str, float]:
    """Train ``model`` in place for ``spec.steps`` steps; return loss, tokens and FLOP spent."""
    if spec.steps == 0:
        return {"loss": float("nan"), "tokens": 0, "flop": 0.0}
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, betas=(0.9, 0.98))
    rng = np.random.default_rng(spec.seed)
    difficulties = sorted(d for d, items in pool.items() if items)
    n_params = count_params(model.shape)
    model.train()
    tokens, flop, losses = 0, 0.0, []
    for step in range(spec.steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, spec)
        xb, yb = _batch(pool, difficulties, rng, spec.batch_size)
        x, y = torch.from_numpy(xb).to(device), torch.from_numpy(yb).to(device)  # (B, T)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=dtype == "bfloat16" and device == "cuda"):
            logits, _ = model(x)  # (B, T, V)
            loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        tokens += x.numel()
        flop += 3.0 * x.numel() * forward_flop_per_token(model.shape, n_params, (x.shape[1] + 1) / 2)
    return {"loss": float(np.mean(losses[-max(1, spec.steps // 10):])), "tokens": tokens, "flop": flop}


@torch.no_grad()
def greedy_answers(model: CharTransformer, task_name: str, prompts: list[str],
                   device: str) -> tuple[list[Answer], float]:
    """Greedy answers as (text before the end token, whether the end token came, confidence); and FLOP.

    The confidence is the lowest probability the model gave any token it chose (see
    ``CharTransformer.generate``).

    Prompts are decoded in groups of equal length (the tasks' prompts at one difficulty are).
    """
    task, n_params = get_task(task_name), count_params(model.shape)
    model.eval()
    out: list[Answer | None] = [None] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    flop = 0.0
    for length, idxs in by_len.items():
        max_new = max(task.answer_length(prompts[i]) for i in idxs) + 1 + DECODE_SLACK
        for lo in range(0, len(idxs), DECODE_BATCH):
            chunk = idxs[lo: lo + DECODE_BATCH]
            x = torch.tensor([encode(prompts[i]) for i in chunk], device=device)  # (B, Tp)
            gen, n_new, conf = model.generate(x, max_new, END_ID)  # (B, max_new), (B,)
            ctx_sum = length * length / 2 + sum(length + s for s in range(1, n_new))
            flop += len(chunk) * (forward_flop_per_token(model.shape, n_params, 0) * (length + n_new - 1)
                                  + 4.0 * model.shape.n_layer * model.shape.d_model * ctx_sum)
            for i, row, c in zip(chunk, gen.tolist(), conf.tolist()):
                text = decode(row)
                cut = text.find(END)
                out[i] = (text, False, c) if cut < 0 else (text[:cut], True, c)
    return out, flop  # type: ignore[return-value]


def accuracy(model: CharTransformer, task_name: str, eval_set: Pool,
             device: str) -> tuple[dict[int, float], dict[int, list[bool]], float]:
    """Exact-match accuracy per difficulty on held-out instances whose answers are known.

    Also returns each instance's verdict (for the bootstrap over instances) and the FLOP spent.
    """
    prompts = [p for d in sorted(eval_set) for p, _ in eval_set[d]]
    answers, flop = greedy_answers(model, task_name, prompts, device)
    acc, right, k = {}, {}, 0
    for d in sorted(eval_set):
        n = len(eval_set[d])
        right[d] = [ended and text == truth for (text, ended, _), (_, truth) in zip(answers[k: k + n], eval_set[d])]
        acc[d] = sum(right[d]) / n
        k += n
    return acc, right, flop


def train_eval_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one model on the pool, then measure it; weights in and out as bytes."""
    t0 = time.perf_counter()
    model = build_model(job["shape"], job["weights"], job["init_seed"], job["device"])
    stats = train(model, job["pool"], job["spec"], job["device"], job["dtype"])
    t1 = time.perf_counter()
    acc, right, eval_flop = accuracy(model, job["task"], job["eval_set"], job["device"])
    return {"weights": weights_to_bytes(model), "accuracy": acc, "correct": right, "loss": stats["loss"],
            "train_tokens": stats["tokens"],
            "train_flop": stats["flop"], "eval_flop": eval_flop, "train_seconds": t1 - t0,
            "eval_seconds": time.perf_counter() - t1}


def label_job(job: dict[str, Any]) -> dict[str, Any]:
    """Greedy-label prompts with one model (no ground truth anywhere in here)."""
    t0 = time.perf_counter()
    model = build_model(job["shape"], job["weights"], 0, job["device"])
    answers, flop = greedy_answers(model, job["task"], job["prompts"], job["device"])
    return {"answers": answers, "flop": flop, "seconds": time.perf_counter() - t0}

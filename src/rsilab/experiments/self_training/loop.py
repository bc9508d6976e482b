"""The self-training loop (Lee et al. 2025, in small): a model labels harder instances for itself.

Owns the rounds: round 0 trains ``n_models`` models on labelled easy instances (difficulty
1..n0); each later round draws unlabelled prompts one difficulty past what the models have
labelled (or, in fast mode, several), has every model answer them greedily, filters the
answers (length/end filter; agreement or majority vote across models; a gate that advances
only if enough candidates pass the vote; a confidence filter on what the vote passed) and trains
on old and new data together. Ground truth
measures, never trains: it scores the kept labels (label precision) and the held-out accuracy,
and no decision of the loop reads it.

A round's capability is the length horizon at ``horizon_accuracy`` (``horizon``: where accuracy
against length crosses that level), with a bootstrap interval over the evaluation instances and
joint intervals for the gain since the last round and for k under measurement noise alone; the
strict frontier is kept beside it.

Every finished round is checkpointed in the store (``rsilab.experiments.checkpoint``: weights,
pool, loop state and the round's record, serialised by torch) before its round is recorded, so
a killed run resumes from the last finished round: a round found in the checkpoint but not in the store is recorded on resume, never run again. Seeds derive from
(seed, stream, round, model), so a resumed run gives the same results as an uninterrupted one.
Imports torch (through ``training``); the store only through ``rsilab.experiments.record`` and
``rsilab.experiments.checkpoint``.
"""
from __future__ import annotations

import io
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rsilab.errors import ExperimentError
from rsilab.experiments.checkpoint import latest_checkpoint, save_checkpoint
from rsilab.experiments.parallel import WorkerPool
from rsilab.experiments.progress import RoundBar
from rsilab.experiments.record import RunHandle, start_or_resume
from rsilab.experiments.self_training import horizon as hz
from rsilab.experiments.self_training.config import SelfTrainingConfig
from rsilab.experiments.self_training.model import ModelShape, count_params
from rsilab.experiments.self_training.tasks import VOCAB, Task, get_task
from rsilab.experiments.self_training.training import Answer, Pool, TrainSpec, label_job, train_eval_job

NAME = "self-training"
# Seed streams: each random choice has its own, so that no change in one shifts another.
_LABELLED, _EVAL, _CANDIDATES, _INIT, _TRAIN, _BOOTSTRAP = 1, 2, 3, 4, 5, 6
SECOND_LEVEL = 0.8  # the horizon is also recorded at this accuracy


def _seed(seed: int, *parts: int) -> int:
    return int(np.random.SeedSequence([seed, *parts]).generate_state(1)[0])


def _instances(task: Task, seed: int, difficulty: int, n: int, stream: int, round_index: int = 0) -> list[str]:
    rng = np.random.default_rng(_seed(seed, stream, round_index, difficulty))
    return [task.prompt(rng, difficulty) for _ in range(n)]


def model_shape(cfg: SelfTrainingConfig) -> ModelShape:
    return ModelShape(vocab_size=len(VOCAB), n_layer=cfg.n_layer, n_head=cfg.n_head, d_model=cfg.d_model,
                      d_ff=cfg.d_ff, positions=cfg.positions,
                      max_seq_len=get_task(cfg.task).max_seq_len(cfg.eval_max_difficulty) + 8)


def parameter_count(cfg: SelfTrainingConfig) -> int:
    """One model's parameters (the scale knob's measure; a run trains ``n_models`` of them)."""
    return count_params(model_shape(cfg))


def frontier(accuracy: dict[int, float], threshold: float) -> int:
    """Largest d with accuracy >= threshold at every difficulty 1..d (0 if not even d = 1)."""
    d = 0
    while accuracy.get(d + 1, 0.0) >= threshold:
        d += 1
    return d


def new_difficulties(cfg: SelfTrainingConfig, labelled_max: int) -> list[int]:
    """The difficulties a round offers the gate: the next one (one-up), or a run that grows with
    how far the models already label (fast: ceil(fast_growth * labelled_max), at most fast_max_step)."""
    steps = 1 if cfg.mode == "one-up" else min(cfg.fast_max_step, max(1, math.ceil(cfg.fast_growth * labelled_max)))
    return list(range(labelled_max + 1, labelled_max + 1 + steps))


def measure(cfg: SelfTrainingConfig, correct: list[list[list[bool]]], previous: list[list[float]]) -> dict[str, Any]:
    """The round's capability record from every model's verdict per evaluation instance.

    ``correct[m][d - 1]`` lists model m's verdicts at difficulty d; ``previous`` the bootstrap
    replicates of the horizon of up to two earlier rounds (oldest first), for the joint intervals
    of the gain and of k. Returns the record's fields and, under ``"replicates"``, this round's.
    """
    n_models, n_diff = len(correct), len(correct[0])
    counts = [[sum(correct[m][j][i] for m in range(n_models)) for i in range(len(correct[0][j]))]
              for j in range(n_diff)]
    shares = [np.asarray(c, dtype=float) / n_models for c in counts]
    acc = [float(s.mean()) for s in shares]
    weights = [len(s) for s in shares]
    levels = (cfg.horizon_accuracy, SECOND_LEVEL)
    boot = hz.bootstrap_horizons(shares, levels, cfg.horizon_bootstrap, _seed(cfg.seed, _BOOTSTRAP))  # (B, 2)
    (h, censored), (h80, _) = (hz.horizon(acc, lv, weights) for lv in levels)
    lo, hi = hz.interval(boot[:, 0])
    lo80, hi80 = hz.interval(boot[:, 1])
    out: dict[str, Any] = {
        "capability": h, "horizon": h, "horizon_accuracy": cfg.horizon_accuracy, "horizon_lo": lo, "horizon_hi": hi,
        "horizon_width": hi - lo, "horizon_censored": censored,
        "horizon_80": h80, "horizon_80_lo": lo80, "horizon_80_hi": hi80,
        "horizon_gain": None, "horizon_gain_lo": None, "horizon_gain_hi": None, "k_noise_lo": None, "k_noise_hi": None,
        "eval_correct": hz.encode_correct(counts), "replicates": boot[:, 0].tolist(),
        # the horizon's noise for the returns estimator: the bootstrap replicates' SD (none when
        # every replicate agrees, as for a horizon censored at the longest evaluated length)
        "capability_se": float(np.std(boot[:, 0], ddof=1)) if np.std(boot[:, 0]) > 0 else None,
    }
    if previous:
        gain = boot[:, 0] - np.asarray(previous[-1])
        out["horizon_gain_lo"], out["horizon_gain_hi"] = hz.interval(gain)
    if len(previous) == 2:
        k = hz.gain_ratio_interval([previous[0], previous[1], boot[:, 0]])
        if k is not None:
            out["k_noise_lo"], out["k_noise_hi"] = k
    return out


@dataclass(frozen=True)
class Filtered:
    """What the filters made of one difficulty's candidates."""

    voted: int                    # candidates that passed the length filter and the vote: what the gate reads
    kept: list[tuple[int, str]]   # of those, (prompt index, label) for each confident enough to train on


def filter_labels(task: Task, cfg: SelfTrainingConfig, prompts: list[str], answers: list[list[Answer]]) -> Filtered:
    """Apply the length filter, the vote and the confidence filter; answers[model][prompt].

    The gate reads how many candidates the models agree on (``voted``); the confidence filter
    then drops agreed answers that some voting model was unsure of, so it raises the labels'
    precision without making the gate stricter. Uses only the prompts and the models' answers,
    never the true answers.
    """
    voted, kept = 0, []
    for i, prompt in enumerate(prompts):
        outs = [answers[m][i] for m in range(len(answers))]
        want = task.answer_length(prompt) if cfg.length_filter else None
        valid = [(text, conf) for text, ended, conf in outs if want is None or (ended and len(text) == want)]
        if cfg.vote == "none":
            label, votes = outs[0][0], [outs[0][2]]
            if not any(text == label for text, _ in valid):
                continue
        else:
            if not valid:
                continue
            label, n = Counter(text for text, _ in valid).most_common(1)[0]
            if n < (len(outs) if cfg.vote == "agreement" else len(outs) // 2 + 1):
                continue
            votes = [conf for text, conf in valid if text == label]
        voted += 1
        if min(votes) >= cfg.min_confidence:
            kept.append((i, label))
    return Filtered(voted, kept)


def _save_checkpoint(handle: RunHandle, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    # Only the latest is needed to resume; the weights make every checkpoint large.
    save_checkpoint(handle.store, handle.run_id, state["round"], {"format": "torch.save"},
                    blob=buffer.getvalue(), keep_latest_only=True)


def _round_checkpointed(round_index: int) -> None:
    """Called between a round's checkpoint and its store record (tests inject crashes here)."""


def _round_recorded(round_index: int) -> None:
    """Called after a round is in the store (tests inject crashes here)."""


def _restore(handle: RunHandle) -> dict[str, Any] | None:
    done = sorted(r["round"] for r in handle.finished_rounds)
    if done != list(range(len(done))):
        raise ExperimentError(f"run {handle.run_id} has rounds {done}: not a contiguous 0..k, cannot resume")
    saved = latest_checkpoint(handle.store, handle.run_id)
    if saved is None or saved.blob is None:
        if done:
            raise ExperimentError(f"run {handle.run_id} has {len(done)} rounds but no checkpoint in the store")
        return None
    state = torch.load(io.BytesIO(saved.blob), weights_only=True)
    if state["round"] == len(done):  # crashed after the checkpoint, before the store: record it now
        handle.record_round(state["round"], state["record"])
        _round_recorded(state["round"])
    elif state["round"] != len(done) - 1:
        raise ExperimentError(f"the checkpoint of run {handle.run_id} holds round {state['round']} but the store has rounds up to "
                              f"{len(done) - 1}; start a new run")
    return state


def run_experiment(cfg: SelfTrainingConfig, store: Any, *, resume_run: int | None = None,
                   progress: bool = False) -> int:
    """Run (or resume) the self-training experiment with ``cfg``; return its run id."""
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ExperimentError("device = 'cuda' but torch sees no CUDA GPU; use device = 'auto' or 'cpu'")
    handle = start_or_resume(store, NAME, cfg.to_dict(), seed=cfg.seed, resume_run=resume_run)
    try:
        _loop(cfg, device, handle, progress)
    except BaseException:
        store.update_run(handle.run_id, status="failed")
        if progress:
            import sys

            done = len(handle.finished_rounds)
            print(f"run {handle.run_id} stopped with {done} finished round(s); resume with: "
                  f"rsilab experiment run {NAME} --resume {handle.run_id} (same --profile and --config)", file=sys.stderr)
        raise
    handle.finish(summary=_summary(handle.finished_rounds))
    return handle.run_id


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rounds": len(rounds), "final_horizon": rounds[-1]["horizon"] if rounds else None,
            "horizon_by_round": [r["horizon"] for r in rounds],
            "final_frontier": rounds[-1]["frontier"] if rounds else None,
            "frontier_by_round": [r["frontier"] for r in rounds],
            "label_precision_by_round": [r.get("label_precision") for r in rounds]}


def _loop(cfg: SelfTrainingConfig, device: str, handle: RunHandle, progress: bool) -> None:
    from rsilab.core.version import __version__

    task, shape = get_task(cfg.task), model_shape(cfg)
    eval_set: Pool = {d: [(p, task.solve(p)) for p in _instances(task, cfg.seed, d, cfg.eval_per_difficulty, _EVAL)]
                      for d in range(1, cfg.eval_max_difficulty + 1)}
    state = _restore(handle)
    if state is None:
        pool: Pool = {d: [(p, task.solve(p)) for p in _instances(task, cfg.seed, d, cfg.labelled_per_difficulty, _LABELLED)]
                      for d in range(1, cfg.n0 + 1)}
        state = {"round": -1, "weights": [None] * cfg.n_models, "pool": pool, "labelled_max": cfg.n0,
                 "frontier": 0, "horizon": 0.0, "horizon_replicates": [], "cumulative_compute_flop": 0.0,
                 "record": None}
    job_base = {"shape": shape, "task": cfg.task, "device": device, "dtype": cfg.dtype}
    bar = _progress(progress, cfg.rounds + 1, state["round"] + 1)
    with WorkerPool(cfg.workers if device == "cpu" else 1, cfg.threads_per_worker) as workers, bar:
        for r in range(state["round"] + 1, cfg.rounds + 1):
            t0 = time.perf_counter()
            pool, labelled_max = state["pool"], state["labelled_max"]
            # 1. Label: every model answers the candidates; the filters decide, without truth.
            candidates, label_flop, label_seconds = [], 0.0, 0.0
            if r > 0:
                diffs = new_difficulties(cfg, labelled_max)
                prompts = {d: _instances(task, cfg.seed, d, cfg.unlabelled_per_round, _CANDIDATES, r) for d in diffs}
                flat = [p for d in diffs for p in prompts[d]]
                outs = workers.map(label_job, [dict(job_base, weights=w, prompts=flat) for w in state["weights"]])
                label_flop = sum(o["flop"] for o in outs)
                label_seconds = max(o["seconds"] for o in outs)
                k, open_ = 0, True
                for d in diffs:
                    n = len(prompts[d])
                    answers = [o["answers"][k: k + n] for o in outs]
                    k += n
                    filtered = filter_labels(task, cfg, prompts[d], answers)
                    kept, fraction = filtered.kept, len(filtered.kept) / n
                    advanced = open_ and bool(kept) and filtered.voted / n >= cfg.gate_threshold
                    open_ = advanced  # fast mode stops at the first difficulty the gate refuses
                    # Truth scores what was kept, after every decision has been made.
                    correct = sum(task.verify(prompts[d][i], label) for i, label in kept)
                    raw = sum(task.verify(p, a[0]) and a[1] for p, a in zip(prompts[d], answers[0]))
                    candidates.append({"difficulty": d, "n": n, "voted": filtered.voted, "kept": len(kept),
                                       "kept_fraction": fraction,
                                       "precision": correct / len(kept) if kept else None,
                                       "correct_kept": correct, "raw_precision": raw / n, "advanced": advanced})
                    if advanced:
                        pool = {**pool, d: [(prompts[d][i], label) for i, label in kept]}
                        labelled_max = d
            # 2. Train every model on old and new data together, then measure it on held-out truth.
            spec = lambda m: TrainSpec(steps=cfg.steps_round0 if r == 0 else cfg.steps_per_round,  # noqa: E731
                                       batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                       warmup_steps=cfg.warmup_steps, seed=_seed(cfg.seed, _TRAIN, r, m))
            results = workers.map(train_eval_job, [
                dict(job_base, weights=w, init_seed=_seed(cfg.seed, _INIT, 0, m), pool=pool, spec=spec(m), eval_set=eval_set)
                for m, w in enumerate(state["weights"])])
            acc = {d: float(np.mean([res["accuracy"][d] for res in results])) for d in eval_set}
            front = frontier(acc, cfg.frontier_accuracy)
            m = measure(cfg, [[res["correct"][d] for d in sorted(eval_set)] for res in results],
                        state["horizon_replicates"])
            replicates, eval_correct = m.pop("replicates"), m.pop("eval_correct")
            if r > 0:
                m["horizon_gain"] = m["horizon"] - state["horizon"]
            train_flop = sum(res["train_flop"] for res in results)
            compute_flop = train_flop + label_flop  # what improvement cost; measurement is apart
            added = [c for c in candidates if c["advanced"]]
            n_kept = sum(c["kept"] for c in added)
            record = {
                **m, "frontier": front, "frontier_gain": front - state["frontier"], "schedule": cfg.mode,
                "labelled_max": labelled_max, "advanced": bool(added),
                "label_precision": sum(c["correct_kept"] for c in added) / n_kept if n_kept else None,
                "kept_fraction": (sum(c["kept"] for c in candidates) / sum(c["n"] for c in candidates)
                                  if candidates else None),
                "compute_flop": compute_flop, "seconds": time.perf_counter() - t0,
                "accuracy": [acc[d] for d in sorted(acc)],
                "detail": {
                    "difficulties": sorted(acc), "candidates": candidates, "eval_correct": eval_correct,
                    "accuracy_per_model": [[res["accuracy"][d] for d in sorted(acc)] for res in results],
                    "train_loss": [res["loss"] for res in results],
                    "train_tokens": sum(res["train_tokens"] for res in results),
                    "train_flop": train_flop, "label_flop": label_flop,
                    "eval_flop": sum(res["eval_flop"] for res in results),
                    "cumulative_compute_flop": state["cumulative_compute_flop"] + compute_flop,
                    "label_seconds": label_seconds, "train_seconds": max(res["train_seconds"] for res in results),
                    "eval_seconds": max(res["eval_seconds"] for res in results),
                    "device": device, "workers": cfg.workers, "torch": str(torch.__version__),
                    # what the arithmetic depends on besides the config: results differ across
                    # instruction sets (docs/self_training.md, "Reproducibility")
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                },
                "provenance": {"config": cfg.to_dict(), "seed": cfg.seed, "version": __version__},
            }
            state = {"round": r, "weights": [res["weights"] for res in results], "pool": pool,
                     "labelled_max": labelled_max, "frontier": front, "horizon": m["horizon"],
                     "horizon_replicates": (state["horizon_replicates"] + [replicates])[-2:],
                     "cumulative_compute_flop": state["cumulative_compute_flop"] + compute_flop, "record": record}
            _save_checkpoint(handle, state)
            _round_checkpointed(r)
            handle.record_round(r, record)
            _round_recorded(r)
            bar.advance(r, record)


class _Bar(RoundBar):
    """The experiments' round bar, with self-training's line per round."""

    def advance(self, r: int, record: dict[str, Any]) -> None:
        if self._progress is not None:
            p = record["label_precision"]
            text = (f"round {r}: horizon {record['horizon']:.2f} [{record['horizon_lo']:.2f}, "
                    f"{record['horizon_hi']:.2f}], frontier {record['frontier']}, labelled to {record['labelled_max']}, "
                    f"label precision {'-' if p is None else f'{p:.3f}'}, {record['seconds']:.0f} s")
            self._progress.update(self._task, advance=1, description=text)
            self._progress.console.print(text)


def _progress(enabled: bool, total: int, done: int) -> _Bar:
    return _Bar(enabled, "self-training", total, done)

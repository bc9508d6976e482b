"""The learned-optimizer experiment, top to bottom: rounds of self-training with controls.

Round 0 evaluates the randomly initialised population. Each later round runs
``meta_steps_per_round`` meta-steps in two arms that spend the same compute (same ES pairs,
same inner problems): ``self`` (the LO is its own meta-optimizer) and ``adam`` (control).
A third control, Adam on the inner problems with its learning rate tuned on a grid, is
measured once at the start. Every round is one row in the store; the state the next round
needs is a checkpoint beside it, so a killed run resumes exactly.

Capability = exp(-meta-loss) on fixed held-out inner problems, for the member that PBT ranks
best on *training* problems: the geometric-mean factor by which the LO has reduced the inner
loss over an unroll (1 = does nothing; higher is better; always positive, which the returns
fit needs). Imports numpy and our store helpers, never torch.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from rsilab.experiments.checkpoint import load_checkpoint, save_checkpoint
from rsilab.experiments.learned_optimizer.config import LOConfig
from rsilab.experiments.learned_optimizer.inner import sample_problem
from rsilab.experiments.learned_optimizer.meta import Arm, es_gradient, eval_meta_loss, meta_update, pbt_step
from rsilab.experiments.learned_optimizer.optimizer import (
    Moments,
    init_theta,
    lo_flop_per_param,
    n_meta_params,
    unroll_adam,
)
from rsilab.experiments.record import start_or_resume
from rsilab.experiments.progress import RoundBar

NAME = "learned-optimizer"
ARMS = ("self", "adam")


def eval_problems(cfg: LOConfig) -> list:
    rng = np.random.default_rng([cfg.seed, 1_000_003])
    kinds = cfg.inner_problems
    return [sample_problem(kinds[i % len(kinds)], rng) for i in range(cfg.eval_tasks)]


def train_problems(cfg: LOConfig, round_index: int, step: int) -> list:
    # both arms see the same problems in the same meta-step: equal compute, common randomness
    rng = np.random.default_rng([cfg.seed, round_index, step, 7])
    kinds = cfg.inner_problems
    return [sample_problem(kinds[int(rng.integers(len(kinds)))], rng) for _ in range(cfg.tasks_per_meta_step)]


def initial_arms(cfg: LOConfig) -> dict[str, Arm]:
    rng = np.random.default_rng([cfg.seed, 11])
    theta = np.stack([init_theta(rng, cfg.hidden) for _ in range(cfg.population)])
    k = cfg.population
    # Both arms start from the same random LOs. Their step hyperparameter starts spread over
    # 1.5 decades around its default (the same spread for both), so PBT can select a good one
    # and neither arm is handicapped by one guessed value.
    spread = 10.0 ** np.linspace(-0.75, 0.75, k)
    return {
        "self": Arm("self", theta.copy(), Moments.zeros(theta.shape), np.full(k, cfg.es_sigma), spread.copy()),
        "adam": Arm("adam", theta.copy(), Moments.zeros(theta.shape), np.full(k, cfg.es_sigma),
                    cfg.adam_meta_lr * spread),
    }


def step_flop(cfg: LOConfig, problem) -> float:
    """FLOP of one inner step of one run: the LO on every parameter plus the problem's gradient."""
    return problem.dim * lo_flop_per_param(cfg.hidden) + problem.flop_per_step()


def hand_tuned_adam(cfg: LOConfig) -> dict[str, float]:
    """Tune Adam's inner learning rate on training-distribution problems; score it on the eval set."""
    rng = np.random.default_rng([cfg.seed, 2_000_003])
    kinds = cfg.inner_problems
    tune = [sample_problem(kinds[i % len(kinds)], rng) for i in range(max(4, cfg.eval_tasks))]
    lrs = np.array(cfg.adam_inner_lrs)
    tune_loss = np.mean([unroll_adam(p, lrs, cfg.unroll_steps) for p in tune], axis=0)
    best = int(np.argmin(tune_loss))
    evals = eval_problems(cfg)
    eval_loss = float(np.mean([unroll_adam(p, lrs[best:best + 1], cfg.unroll_steps)[0] for p in evals]))
    flop = sum(len(lrs) * cfg.unroll_steps * (p.flop_per_step() + 20.0 * p.dim) for p in tune)
    return {"lr": float(lrs[best]), "meta_loss": eval_loss, "capability": float(np.exp(-eval_loss)),
            "tuning_flop": float(flop)}


def run_round(cfg: LOConfig, arm: Arm, round_index: int) -> dict[str, Any]:
    """Meta-train one arm for one round in place; return what the round measured."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([cfg.seed, round_index, ARMS.index(arm.kind)])
    flop, inner_steps = 0.0, 0
    train_loss = np.zeros(cfg.population)
    runs = cfg.population * 2 * cfg.es_pairs
    for step in range(cfg.meta_steps_per_round):
        problems = train_problems(cfg, round_index, step)
        grad, level = es_gradient(arm.theta, arm.sigma, problems, rng, cfg.es_pairs, cfg.unroll_steps,
                                  cfg.hidden, cfg.step_scale)
        meta_update(arm, grad, cfg.hidden, cfg.step_scale)
        train_loss += level / cfg.meta_steps_per_round
        inner_steps += runs * cfg.unroll_steps * len(problems)
        flop += sum(runs * cfg.unroll_steps * step_flop(cfg, p) for p in problems)
        # the meta-update itself: the LO (or Adam) on every meta-parameter of every member
        flop += cfg.population * arm.theta.shape[1] * (lo_flop_per_param(cfg.hidden) if arm.kind == "self" else 20.0)
    pbt = pbt_step(arm, train_loss, rng) if round_index % cfg.pbt_every == 0 else []
    if pbt:
        # after exploiting, a copied member carries its winner's training score
        for loser, winner in pbt:
            train_loss[loser] = train_loss[winner]
    return {"train_meta_loss": train_loss, "pbt": pbt, "flop": flop, "inner_steps": inner_steps,
            "seconds": time.perf_counter() - t0}


def evaluate(cfg: LOConfig, arm: Arm, problems: list, train_loss: np.ndarray) -> dict[str, Any]:
    """Capability of the member ranked best by ``train_loss`` (training problems, not these)."""
    t0 = time.perf_counter()
    losses = eval_meta_loss(arm.theta, problems, cfg.unroll_steps, cfg.hidden, cfg.step_scale)
    best = int(np.argmin(train_loss))
    flop = sum(arm.theta.shape[0] * cfg.unroll_steps * step_flop(cfg, p) for p in problems)
    return {"best": best, "meta_loss": float(losses[best]), "capability": float(np.exp(-losses[best])),
            "population_capability": [float(np.exp(-x)) for x in losses], "flop": float(flop),
            "seconds": time.perf_counter() - t0}


def parameter_count(cfg: LOConfig) -> int:
    """One population member's meta-parameters: the learned optimizer's own size (the scale knob)."""
    return n_meta_params(cfg.hidden)


def run_experiment(cfg: LOConfig, store, *, resume_run: int | None = None, progress: bool = False) -> int:
    """Run (or resume) the learned-optimizer experiment with ``cfg``; return its run id."""
    handle = start_or_resume(store, NAME, cfg.model_dump(mode="json"), seed=cfg.seed, resume_run=resume_run)
    adam_inner = hand_tuned_adam(cfg)
    evals = eval_problems(cfg)
    if handle.finished_rounds:
        last = handle.finished_rounds[-1]["round"]
        state = load_checkpoint(store, handle.run_id, last)
        arms = {k: Arm.from_state(v) for k, v in state["arms"].items()}
    else:
        arms = initial_arms(cfg)
    with RoundBar(progress, "learned optimizer", cfg.rounds + 1, handle.next_round) as bar:
        for r in range(handle.next_round, cfg.rounds + 1):
            record = run_round_pair(cfg, arms, r, evals, handle.finished_rounds, adam_inner)
            save_checkpoint(store, handle.run_id, r, {"arms": {k: a.to_state() for k, a in arms.items()}})
            handle.record_round(r, record)
            bar.step(f"round {r}: capability {record['capability']:.3f}")
    rounds = handle.finished_rounds
    handle.finish(summary={"final_capability": rounds[-1]["capability"],
                           "final_capability_adam_meta": rounds[-1]["capability_adam_meta"],
                           "capability_adam_inner": adam_inner["capability"], "adam_inner_lr": adam_inner["lr"],
                           "meta_params": n_meta_params(cfg.hidden)},
                  timings={"seconds": float(sum(x["seconds_total"] for x in rounds))})
    return handle.run_id


def run_round_pair(cfg: LOConfig, arms: dict[str, Arm], r: int, evals: list,
                   previous: list[dict[str, Any]], adam_inner: dict[str, float]) -> dict[str, Any]:
    """Round r of both arms (round 0: evaluation only) and the record that describes it."""
    out: dict[str, dict[str, Any]] = {}
    for name in ARMS:
        trained = run_round(cfg, arms[name], r) if r > 0 else None
        if trained is not None:
            ranking = trained["train_meta_loss"]
        else:
            # round 0 has no training signal yet: rank the random members on training problems,
            # never on the evaluation problems the capability is measured on
            ranking_problems = train_problems(cfg, 0, 0)
            ranking = eval_meta_loss(arms[name].theta, ranking_problems, cfg.unroll_steps, cfg.hidden,
                                     cfg.step_scale)
        ev = evaluate(cfg, arms[name], evals, ranking)
        if trained is None:
            ev["flop"] += sum(cfg.population * cfg.unroll_steps * step_flop(cfg, p) for p in ranking_problems)
        out[name] = {"train": trained, "eval": ev}
    s, a = out["self"], out["adam"]

    def cost(o):
        return (0.0 if o["train"] is None else o["train"]["flop"]) + o["eval"]["flop"]

    def secs(o):
        return (0.0 if o["train"] is None else o["train"]["seconds"]) + o["eval"]["seconds"]

    cap = s["eval"]["capability"]
    prev_cap = previous[-1]["capability"] if previous else None
    gain = None if prev_cap is None else cap - prev_cap
    prev_gain = previous[-1].get("gain") if previous else None
    # a ratio of successive gains only means something when the earlier gain was positive
    ratio = gain / prev_gain if gain is not None and prev_gain is not None and prev_gain > 0 else None
    best = s["eval"]["best"]
    return {
        "capability": cap,
        "meta_loss": s["eval"]["meta_loss"],
        # the meta-loss falls as capability rises: its gain is log(capability_r / capability_r-1)
        "meta_loss_gain": None if not previous else previous[-1]["meta_loss"] - s["eval"]["meta_loss"],
        "train_meta_loss": None if s["train"] is None else float(s["train"]["train_meta_loss"][best]),
        "gain": gain,
        "gain_ratio": ratio,
        "population_capability": s["eval"]["population_capability"],
        "capability_adam_meta": a["eval"]["capability"],
        "meta_loss_adam_meta": a["eval"]["meta_loss"],
        "capability_adam_inner": adam_inner["capability"],
        "adam_inner_lr": adam_inner["lr"],
        "compute_flop": cost(s),
        "compute_flop_adam_meta": cost(a),
        "inner_steps": 0 if s["train"] is None else s["train"]["inner_steps"],
        "seconds": secs(s),
        "seconds_adam_meta": secs(a),
        "seconds_total": secs(s) + secs(a),
        "sigma_best": float(arms["self"].sigma[best]),
        "step_multiplier_best": float(arms["self"].hyper[best]),
        "pbt": None if s["train"] is None else s["train"]["pbt"],
    }

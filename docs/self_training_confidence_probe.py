"""Does the models' confidence separate right from wrong among the labels they agree on?

Reads the last checkpoint of a finished self-training run (its final models), has every model
answer 500 fresh prompts at each given length, keeps the answers that pass the length filter
and on which all models agree (the profile's vote), and prints, for confidence thresholds 0.5 to
0.9, the share of candidates kept and the precision of what is kept. A model's confidence in
an answer is the lowest probability it gave a token it chose (``CharTransformer.generate``).
Ground truth is used here only to score.

    python docs/self_training_confidence_probe.py RUN_STORE.sqlite 13,14,15,16,17 [--run 1]
"""
from __future__ import annotations

import argparse
import io

import numpy as np
import torch

from rsilab.experiments.checkpoint import latest_checkpoint
from rsilab.experiments.self_training import loop
from rsilab.experiments.self_training.config import SelfTrainingConfig
from rsilab.experiments.self_training.training import build_model, greedy_answers
from rsilab.store import Store

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("lengths", help="comma-separated lengths, e.g. 13,14,15")
    ap.add_argument("--run", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with Store(args.store) as store:
        saved = latest_checkpoint(store, args.run)
    if saved is None or saved.blob is None:
        raise SystemExit(f"{args.store}: run {args.run} has no checkpoint")
    state = torch.load(io.BytesIO(saved.blob), weights_only=True)
    cfg = SelfTrainingConfig(**state["record"]["provenance"]["config"])
    task, shape = loop.get_task(cfg.task), loop.model_shape(cfg)
    models = [build_model(shape, w, 0, "cpu") for w in state["weights"]]
    print(f"run {args.run}, round {state['round']}, labels reach {state['labelled_max']}, seed {cfg.seed}, "
          f"{cfg.steps_per_round} steps a round")
    for length in (int(x) for x in args.lengths.split(",")):
        # a round index no run reaches, so these prompts are not the run's own candidates
        prompts = loop._instances(task, cfg.seed, length, 500, loop._CANDIDATES, 99)
        answers = [greedy_answers(m, cfg.task, prompts, "cpu")[0] for m in models]
        right, confidence = [], []
        for i, prompt in enumerate(prompts):
            outs = [a[i] for a in answers]
            texts = {text for text, ended, _ in outs if ended and len(text) == task.answer_length(prompt)}
            if len(texts) == 1 and all(ended for _, ended, _ in outs) and all(t in texts for t, _, _ in outs):
                right.append(task.verify(prompt, outs[0][0]))
                confidence.append(min(c for _, _, c in outs))
        right_a, conf_a = np.array(right, dtype=bool), np.array(confidence)
        line = f"length {length}: agreed {len(right) / 500:.2f}, precision {right_a.mean() if right else float('nan'):.3f}"
        for tau in THRESHOLDS:
            keep = conf_a >= tau
            prec = right_a[keep].mean() if keep.any() else float("nan")
            line += f" | >= {tau}: kept {keep.sum() / 500:.2f}, precision {prec:.3f}"
        print(line)


if __name__ == "__main__":
    main()

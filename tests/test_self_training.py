"""The self-training loop: config, filters, model, a miniature run through every path, resume, determinism."""
from __future__ import annotations

import csv
import io

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from rsilab.errors import ConfigError, ExperimentError  # noqa: E402
from rsilab.experiments.checkpoint import drop_checkpoints, latest_checkpoint  # noqa: E402
from rsilab.experiments.self_training import loop  # noqa: E402
from rsilab.experiments.self_training.config import SelfTrainingConfig, load_config  # noqa: E402
from rsilab.experiments.self_training import horizon as hz  # noqa: E402
from rsilab.experiments.self_training.loop import (  # noqa: E402
    filter_labels, frontier, model_shape, new_difficulties, run_experiment)
from rsilab.experiments.self_training.model import CharTransformer, ModelShape, count_params  # noqa: E402
from rsilab.experiments.self_training.tasks import END_ID, VOCAB, get_task  # noqa: E402
from rsilab.store import Store  # noqa: E402

TIMING_KEYS = {"seconds"}


def _comparable(rounds):
    """Round records without wall-clock times (everything else must match exactly)."""
    out = []
    for r in rounds:
        r = {k: v for k, v in r.items() if k not in TIMING_KEYS}
        r["detail"] = {k: v for k, v in r["detail"].items() if not k.endswith("_seconds")}
        out.append(r)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted mini run (seed 0), shared by the tests that compare against it."""
    path = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    with Store(path) as s:
        run_id = run_experiment(load_config(None, "mini"), s)
        weights = torch.load(io.BytesIO(latest_checkpoint(s, run_id).blob), weights_only=True)["weights"]
        return s.get_run(run_id), s.rounds(run_id), weights


# -- config ------------------------------------------------------------------------------------
def test_unknown_key_and_bad_values_name_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("n_modles = 3\n")
    with pytest.raises(ConfigError, match="n_modles"):
        load_config(bad, "cpu")
    for key, value in [("vote", "plurality"), ("gate_threshold", 1.5), ("n0", 0), ("steps_round0", "many"),
                       ("length_filter", 1)]:
        with pytest.raises(ConfigError, match=key):
            load_config(None, "cpu", {key: value})
    with pytest.raises(ConfigError, match="n_models"):
        load_config(None, "cpu", {"n_models": 1})  # agreement needs two models
    with pytest.raises(ConfigError, match="gate_threshold"):
        load_config(None, "cpu", {"mode": "fast", "gate_threshold": 0.0})
    with pytest.raises(ConfigError, match="profile"):
        load_config(None, "tpu")
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "missing.toml", "cpu")


def test_toml_overrides_profile_and_config_is_frozen(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('task = "reverse"\nlr = 1\nrounds = 3\n')
    cfg = load_config(f, "cpu")
    assert (cfg.task, cfg.lr, cfg.rounds, cfg.n_layer) == ("reverse", 1.0, 3, SelfTrainingConfig().n_layer)
    with pytest.raises(Exception):
        cfg.rounds = 4  # type: ignore[misc]


def test_gpu_profile_has_the_papers_shape():
    cfg = load_config(None, "gpu")
    n = count_params(model_shape(cfg))
    assert (cfg.task, cfg.n0, cfg.n_layer, cfg.positions) == ("add", 16, 6, "nope")
    assert 12e6 <= n <= 16e6, f"{n / 1e6:.1f}M parameters, the paper's model has about 14M"


# -- filters and frontier (no ground truth in, only prompts and answers) ------------------------
def test_filters_agreement_majority_length_and_none():
    task = get_task("copy")
    prompts = ["123=", "456=", "789=", "111="]
    a = [[("123", True, 1.0), ("456", True, 1.0), ("789", True, 1.0), ("11", True, 1.0)],
         [("123", True, 1.0), ("450", True, 1.0), ("789", False, 1.0), ("11", True, 1.0)],
         [("123", True, 1.0), ("456", True, 1.0), ("789", True, 1.0), ("11", True, 1.0)]]
    agree = load_config(None, "cpu", {"n_models": 3, "vote": "agreement"})
    assert filter_labels(task, agree, prompts, a).kept == [(0, "123")]  # 3rd lacks its end token in model 1; 4th is short
    major = load_config(None, "cpu", {"n_models": 3, "vote": "majority"})
    assert filter_labels(task, major, prompts, a).kept == [(0, "123"), (1, "456"), (2, "789")]
    no_len = load_config(None, "cpu", {"n_models": 3, "vote": "agreement", "length_filter": False})
    assert filter_labels(task, no_len, prompts, a).kept == [(0, "123"), (2, "789"), (3, "11")]
    none = load_config(None, "cpu", {"n_models": 1, "vote": "none", "length_filter": False, "gate_threshold": 0.0})
    assert filter_labels(task, none, prompts, a[1:2]).kept == [(0, "123"), (1, "450"), (2, "789"), (3, "11")]
    none_len = load_config(None, "cpu", {"n_models": 1, "vote": "none", "gate_threshold": 0.0})
    assert filter_labels(task, none_len, prompts, a[1:2]).kept == [(0, "123"), (1, "450")]


def test_confidence_filter_drops_unsure_votes_but_the_gate_counts_them():
    task = get_task("copy")
    prompts = ["123=", "456=", "789="]
    a = [[("123", True, 0.95), ("456", True, 0.95), ("789", True, 0.40)],
         [("123", True, 0.91), ("456", True, 0.85), ("780", True, 0.99)],
         [("123", True, 0.99), ("456", True, 0.99), ("789", True, 0.99)]]
    cfg = load_config(None, "cpu", {"n_models": 3, "vote": "majority", "min_confidence": 0.9})
    out = filter_labels(task, cfg, prompts, a)
    # 456 has a voter at 0.85; 789's voters are model 0 (0.40) and model 2: the dissenter's 0.99 does not count
    assert out.voted == 3 and out.kept == [(0, "123")]
    off = load_config(None, "cpu", {"n_models": 3, "vote": "majority", "min_confidence": 0.0})
    assert filter_labels(task, off, prompts, a).kept == [(0, "123"), (1, "456"), (2, "789")]
    with pytest.raises(ConfigError, match="min_confidence"):
        load_config(None, "cpu", {"min_confidence": 1.0})


def test_frontier_is_contiguous_from_one():
    assert frontier({1: 1.0, 2: 0.96, 3: 0.5, 4: 1.0}, 0.95) == 2
    assert frontier({1: 0.9, 2: 1.0}, 0.95) == 0
    assert frontier({1: 0.95}, 0.95) == 1


# -- model ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("positions", ["nope", "rope", "learned"])
def test_cached_greedy_decoding_equals_full_recompute(positions):
    torch.manual_seed(0)
    shape = ModelShape(vocab_size=len(VOCAB), n_layer=2, n_head=2, d_model=16, d_ff=32, positions=positions, max_seq_len=32)
    model = CharTransformer(shape).eval()
    prompts = torch.randint(1, len(VOCAB), (5, 7))
    fast, n, confidence = model.generate(prompts, 9, END_ID)
    seq, probs = prompts, []
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(seq)
            p = logits[:, -1].softmax(-1)
            probs.append(p.max(-1).values)
            seq = torch.cat((seq, logits[:, -1].argmax(-1, keepdim=True)), dim=1)
    slow, probs = seq[:, 7:], torch.stack(probs, 1)  # (B, n) each
    for row_fast, row_slow, c, p in zip(fast.tolist(), slow.tolist(), confidence.tolist(), probs.tolist()):
        stop = row_slow.index(END_ID) + 1 if END_ID in row_slow else len(row_slow)
        assert row_fast[:stop] == row_slow[:stop]
        # confidence: the lowest chosen-token probability up to and including the end token
        assert c == pytest.approx(min(p[:stop]), rel=1e-5)


def test_learned_positions_refuse_beyond_their_length():
    shape = ModelShape(vocab_size=len(VOCAB), n_layer=1, n_head=1, d_model=8, d_ff=8, positions="learned", max_seq_len=4)
    with pytest.raises(ValueError, match="learned positions"):
        CharTransformer(shape)(torch.zeros(1, 5, dtype=torch.long))


# -- the loop --------------------------------------------------------------------------------------
def test_mini_run_records_every_field(reference):
    run, rounds, _ = reference
    cfg = load_config(None, "mini")
    assert run.status == "finished" and [r["round"] for r in rounds] == list(range(cfg.rounds + 1))
    for r in rounds:
        # capability is the horizon at 50%, recomputed here from the stored verdicts per instance
        shares = hz.decode_correct(r["detail"]["eval_correct"], cfg.n_models)
        assert [float(s.mean()) for s in shares] == pytest.approx(r["accuracy"])
        assert r["capability"] == r["horizon"] == pytest.approx(hz.horizon(r["accuracy"], 0.5)[0])
        assert r["horizon_lo"] <= r["horizon"] <= r["horizon_hi"] and r["horizon_80"] <= r["horizon"]
        assert r["horizon_width"] == pytest.approx(r["horizon_hi"] - r["horizon_lo"])
        assert r["frontier"] == frontier(dict(enumerate(r["accuracy"], 1)), cfg.frontier_accuracy)
        assert r["schedule"] == "one-up"
        assert len(r["accuracy"]) == cfg.eval_max_difficulty and all(0 <= a <= 1 for a in r["accuracy"])
        assert r["compute_flop"] == pytest.approx(r["detail"]["train_flop"] + r["detail"]["label_flop"])
        assert r["compute_flop"] > 0 and r["seconds"] > 0
        assert r["provenance"]["seed"] == 0 and r["provenance"]["config"] == cfg.to_dict()
        assert r["provenance"]["version"]
    assert rounds[0]["label_precision"] is None and rounds[0]["detail"]["candidates"] == []
    assert rounds[0]["horizon_gain"] is None and rounds[1]["k_noise_lo"] is None
    for prev, r in zip(rounds, rounds[1:]):
        assert r["frontier_gain"] == r["frontier"] - prev["frontier"]
        assert r["horizon_gain"] == pytest.approx(r["horizon"] - prev["horizon"])
        assert r["horizon_gain_lo"] <= r["horizon_gain_hi"]
        (cand,) = r["detail"]["candidates"]  # one-up: exactly one candidate difficulty
        assert cand["difficulty"] == prev["labelled_max"] + 1
        assert r["kept_fraction"] == cand["kept"] / cand["n"]
        assert cand["advanced"] == (cand["kept"] > 0 and cand["kept_fraction"] >= cfg.gate_threshold)
        assert r["labelled_max"] == prev["labelled_max"] + cand["advanced"]
        if cand["advanced"]:
            assert r["label_precision"] == cand["correct_kept"] / cand["kept"]


def test_without_filters_every_round_advances_and_precision_is_measured(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        rid = run_experiment(load_config(None, "mini", {"n_models": 1, "vote": "none", "length_filter": False,
                                                        "gate_threshold": 0.0}), s)
        rounds = s.rounds(rid)
    assert [r["labelled_max"] for r in rounds] == [2, 3, 4]
    for r in rounds[1:]:
        (cand,) = r["detail"]["candidates"]
        assert cand["kept"] == cand["n"] and r["kept_fraction"] == 1.0
        assert 0.0 <= r["label_precision"] <= 1.0
        assert r["label_precision"] == cand["raw_precision"]  # no filter: kept labels are the raw answers


def test_the_gate_reads_the_vote_and_the_confidence_filter_only_thins_the_labels(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        rid = run_experiment(load_config(None, "mini", {"min_confidence": 0.5, "gate_threshold": 0.2}), s)
        rounds = s.rounds(rid)
    cands = [c for r in rounds[1:] for c in r["detail"]["candidates"]]
    assert cands
    for c in cands:
        assert c["kept"] <= c["voted"] <= c["n"]
        assert c["advanced"] == (c["kept"] > 0 and c["voted"] / c["n"] >= 0.2)


def test_fast_mode_tries_several_difficulties_and_stops_at_the_first_refusal(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        rid = run_experiment(load_config(None, "mini", {"mode": "fast", "fast_growth": 1.5, "fast_max_step": 3,
                                                        "rounds": 1, "gate_threshold": 0.01}), s)
        (r0, r1) = s.rounds(rid)
    cands = r1["detail"]["candidates"]
    assert [c["difficulty"] for c in cands] == [3, 4, 5]
    flags = [c["advanced"] for c in cands]
    assert flags == sorted(flags, reverse=True)  # a run of advances, then only refusals
    assert r1["labelled_max"] == 2 + sum(flags) and r1["schedule"] == "fast"


def test_fast_mode_offers_more_difficulties_as_labels_reach_further():
    fast = load_config(None, "cpu", {"mode": "fast", "fast_growth": 0.25, "fast_max_step": 5})
    assert [len(new_difficulties(fast, n)) for n in (2, 4, 5, 8, 9, 16, 40)] == [1, 1, 2, 2, 3, 4, 5]
    assert new_difficulties(fast, 9) == [10, 11, 12]
    assert new_difficulties(load_config(None, "cpu"), 9) == [10]  # one-up


def test_filtering_keeps_label_precision_above_no_filtering(reference):
    """The paper's comparison at mini scale: the run's own trained models label the same prompts,
    once through the filters (length/end + agreement) and once without (model 0's answer)."""
    _, rounds, weights = reference
    cfg = load_config(None, "mini")
    task = get_task(cfg.task)
    # the shortest length the final models get partly right: where labels can be wrong or right
    d = next(d for d, a in enumerate(rounds[-1]["accuracy"], 1) if 0.1 <= a <= 0.9)
    prompts = loop._instances(task, 99, d, 200, stream=9)
    job = {"shape": model_shape(cfg), "task": cfg.task, "device": "cpu", "prompts": prompts}
    answers = [loop.label_job(dict(job, weights=w))["answers"] for w in weights]
    filtered = filter_labels(task, cfg, prompts, answers).kept
    raw_cfg = load_config(None, "mini", {"n_models": 1, "vote": "none", "length_filter": False, "gate_threshold": 0.0})
    raw = filter_labels(task, raw_cfg, prompts, answers[:1]).kept

    def precision(kept):
        return sum(task.verify(prompts[i], label) for i, label in kept) / len(kept)

    assert len(raw) == len(prompts) and filtered, "the filters kept nothing: no comparison"
    # No tolerance: the filtered labels must be strictly more often right.
    assert precision(filtered) > precision(raw), (d, precision(filtered), precision(raw), len(filtered))


def test_same_seed_same_results_other_seed_other_results(tmp_path, reference):
    _, rounds, _ = reference
    with Store(tmp_path / "s.sqlite") as s:
        again = s.rounds(run_experiment(load_config(None, "mini"), s))
        other = s.rounds(run_experiment(load_config(None, "mini", {"seed": 1}), s))
    assert _comparable(again) == _comparable(rounds)
    assert [r["accuracy"] for r in other] != [r["accuracy"] for r in rounds]


class Crash(Exception):
    pass


@pytest.mark.parametrize("hook", ["_round_recorded", "_round_checkpointed"])
def test_resume_after_crash_neither_repeats_nor_loses_rounds(tmp_path, monkeypatch, reference, hook):
    _, want, _ = reference

    def crash(r):
        if r == 1:
            raise Crash(f"killed after round {r}")

    calls = []
    real_job = loop.train_eval_job
    monkeypatch.setattr(loop, "train_eval_job", lambda job: calls.append(1) or real_job(job))
    store_path = tmp_path / "s.sqlite"
    with Store(store_path) as s:
        monkeypatch.setattr(loop, hook, crash)
        with pytest.raises(Crash):
            run_experiment(load_config(None, "mini"), s)
        (run,) = s.list_runs()
        assert run.status == "failed"
        assert [r["round"] for r in s.rounds(run.id)] == ([0, 1] if hook == "_round_recorded" else [0])
        monkeypatch.setattr(loop, hook, lambda r: None)
        before = len(calls)
        assert run_experiment(load_config(None, "mini"), s, resume_run=run.id) == run.id
        got = s.rounds(run.id)
        assert s.get_run(run.id).status == "finished"
    n_models = load_config(None, "mini").n_models
    assert len(calls) - before == n_models  # only round 2 was trained on resume
    assert [r["round"] for r in got] == [0, 1, 2]
    assert _comparable(got) == _comparable(want)


def test_resume_refuses_another_config_and_missing_checkpoint(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        rid = run_experiment(load_config(None, "mini", {"rounds": 0}), s)
        with pytest.raises(ExperimentError, match="another config"):
            run_experiment(load_config(None, "mini", {"rounds": 1, "seed": 5}), s, resume_run=rid)
        assert drop_checkpoints(s, rid) == 1
        with pytest.raises(ExperimentError, match="checkpoint"):
            run_experiment(load_config(None, "mini", {"rounds": 0}), s, resume_run=rid)


def test_cli_run_show_export(tmp_path):
    from rsilab.cli import cli as main

    store = str(tmp_path / "cli.sqlite")
    cfg = tmp_path / "c.toml"
    cfg.write_text("rounds = 1\n")
    runner = CliRunner()
    res = runner.invoke(main, ["experiment", "run", "self-training", "--profile", "mini", "--config", str(cfg),
                               "--store", store])
    assert res.exit_code == 0, res.output
    png, out_csv = tmp_path / "r.png", tmp_path / "rounds.csv"
    res = runner.invoke(main, ["experiment", "show", "1", "--plot", str(png), "--store", store])
    assert res.exit_code == 0, res.output
    assert "run 1 (self-training), finished" in res.output and png.stat().st_size > 1000
    res = runner.invoke(main, ["experiment", "export", "1", "--rounds", str(out_csv), "--store", store])
    assert res.exit_code == 0, res.output
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["round"] for r in rows] == ["0", "1"]
    # the horizon's bootstrap SD travels as the capability's se, for `fit rounds`
    assert set(rows[0]) == {"round", "capability", "compute_flop", "seconds", "se", "schedule"}
    assert {r["schedule"] for r in rows} == {"one-up"}
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'red'\n")
    res = runner.invoke(main, ["experiment", "run", "self-training", "--profile", "mini", "--config", str(bad),
                               "--store", store])
    assert res.exit_code == 2 and "colour" in res.output and "Traceback" not in res.output


@pytest.mark.gpu
def test_gpu_profile_runs_a_shortened_round_on_cuda(tmp_path):
    overrides = {"rounds": 1, "steps_round0": 20, "steps_per_round": 5, "labelled_per_difficulty": 64,
                 "unlabelled_per_round": 64, "eval_per_difficulty": 16, "eval_max_difficulty": 18, "n_models": 2}
    with Store(tmp_path / "s.sqlite") as s:
        rounds = s.rounds(run_experiment(load_config(None, "gpu", overrides), s))
    assert [r["round"] for r in rounds] == [0, 1]
    assert all(r["detail"]["device"] == "cuda" for r in rounds)


@pytest.mark.slow   # starts worker processes that each import torch
def test_models_in_worker_processes_give_the_same_rounds(tmp_path, reference):
    """The parallel path (spawned workers, one thread each) matches the in-process path exactly."""
    _, want, _ = reference
    with Store(tmp_path / "s.sqlite") as s:
        got = s.rounds(run_experiment(load_config(None, "mini", {"workers": 2}), s))

    def strip(rounds):
        out = _comparable(rounds)
        for r in out:
            r.pop("provenance")
            r["detail"].pop("workers")
        return out

    assert strip(got) == strip(want)


def test_fit_rounds_says_when_k_is_bounded_by_a_one_up_schedule(tmp_path):
    from rsilab.cli import cli as main

    horizons = [6.0, 6.9, 7.7, 8.4, 9.0, 9.5, 9.9]
    runner = CliRunner()
    for schedule, caveat in [("one-up", True), ("fast", False), (None, False)]:
        path = tmp_path / f"{schedule}.csv"
        head = "round,capability" + (",schedule" if schedule else "")
        path.write_text("\n".join([head] + [f"{i},{h}" + (f",{schedule}" if schedule else "")
                                              for i, h in enumerate(horizons)]) + "\n")
        res = runner.invoke(main, ["fit", "rounds", str(path), "--bootstrap", "200", "--store", str(tmp_path / "f.sqlite")])
        assert res.exit_code == 0, res.output
        assert ("caveat: schedule one-up" in res.output) == caveat, res.output


RUN_MINI = """
import json, sys
from rsilab.experiments.self_training.config import load_config
from rsilab.experiments.self_training.loop import run_experiment
from rsilab.store import Store
with Store(":memory:") as s:
    print(json.dumps(s.rounds(run_experiment(load_config(None, "mini"), s))))
"""


@pytest.mark.slow
def test_one_seed_gives_the_same_rounds_in_fresh_processes_whatever_the_thread_settings(tmp_path, reference):
    """Two runs of one seed on one machine, each in a fresh process whose thread settings and hash
    seed differ, record the same rounds (every field but wall-clock times): the experiment pins
    its threads itself (rsilab.experiments.parallel.pin_torch)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    runs = []
    for threads, hash_seed in (("1", "0"), ("2", "1")):
        env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                   PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", RUN_MINI], capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout))
    _, in_this_process, _ = reference
    assert _comparable(runs[0]) == _comparable(runs[1]) == _comparable(in_this_process)
    assert runs[0][0]["detail"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()

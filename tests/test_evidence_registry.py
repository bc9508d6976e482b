"""The shipped evidence registry: the published transcription, complete and well-formed."""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.estimate.evidence import ANNOTATIONS, COLUMNS, TRANSCRIBED, load_registry, registry_path


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_shipped_registry_is_the_published_transcription_plus_annotations(shared_data):
    shipped = _rows(registry_path())
    published = _rows(shared_data / "self_improvement_rounds.csv")
    assert len(shipped) == len(published)
    for i, (ours, theirs) in enumerate(zip(shipped, published), start=1):
        assert {c: ours[c] for c in TRANSCRIBED} == theirs, f"row {i} differs from the published transcription"


def test_every_series_carries_its_noise_family_and_cluster_with_provenance():
    # n_items with a source for every published series (no row left to have its noise guessed),
    # family and cluster as columns of their own (no text matching)
    for s in load_registry():
        assert s.noise == "binomial" and s.n_items is not None and np.all(s.n_items == s.n_items[0]), s.series_id
        assert s.noise_source and ("Sec." in s.noise_source or "@" in s.noise_source or "Table" in s.noise_source), \
            f"{s.series_id}: the size's source is not precise: {s.noise_source!r}"
        assert s.family != "unspecified" and s.cluster != s.series_id, s.series_id
    sizes = {s.benchmark: s.n_items[0] for s in load_registry()}
    assert sizes["AlpacaEval 2.0"] == 805 and sizes["MT-Bench"] == 80 and sizes["GSM8k"] == 1319


def test_registry_shape_rounds_and_bounds():
    series = load_registry()
    with registry_path().open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS and COLUMNS == TRANSCRIBED + ANNOTATIONS
        rows = list(reader)
    assert len(series) == 34 and len(rows) == 146
    assert sum(len(s.rounds) for s in series) == 146
    for s in series:
        assert len(s.rounds) >= 3, s.series_id
        assert len(set(s.rounds.tolist())) == len(s.rounds), s.series_id  # no duplicate rounds
        assert np.array_equal(np.diff(s.rounds), np.ones(len(s.rounds) - 1)), s.series_id  # consecutive
        assert s.ceiling is not None and np.all((0 < s.values) & (s.values < s.ceiling)), (s.series_id, s.values)
        assert s.source and s.arxiv and s.location, f"{s.series_id} lacks its citation"
    # every row cites its paper, arXiv id and place in the paper
    assert all(r["source"] and r["arxiv"] and r["location"] for r in rows)


def test_labels_follow_the_provenance_notes():
    by_id = {s.series_id: s for s in load_registry()}
    # external judge or teacher: SPPO and the iterative DPO/IPO baselines (PairRM), DNO (GPT-4-Turbo)
    external = {i for i, s in by_id.items() if s.external}
    assert external == {i for i in by_id if i.startswith(("SPPO_", "IterDPO_", "IterIPO_", "DNO_"))}
    # series of one run share checkpoints: the five SPIN series form one cluster, as do the five of Self-Rewarding 70B
    assert len({by_id[i].cluster for i in by_id if i.startswith("SPIN_")}) == 1
    assert len({by_id[i].cluster for i in by_id if i.startswith("SRLM_llama2_70b")}) == 1
    assert by_id["MetaRewarding_llama3_8b_alpacaeval2_lc"].cluster != by_id["SRLM_LC_llama3_8b_alpacaeval2_lc"].cluster
    assert by_id["SPIN_zephyr7b_mtbench"].ceiling == 10.0 and by_id["SPIN_zephyr7b_gsm8k"].ceiling == 100.0
    assert by_id["SelfRefine_codeopt"].family == "self-refine (inference-time)"
    assert by_id["IterRPO_llama2_70b_math"].family == "self-training on own outputs"
    assert by_id["SRLM_llama2_70b_mtbench"].family == "self-rewarding"


def test_a_user_file_without_annotations_gets_the_stated_defaults(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("series_id,method,metric,round,value\n" + "".join(f"a,ReST,accuracy (%),{r},{20 + 5 * r}\n"
                                                                       for r in range(4)))
    s = load_registry(path)[0]
    assert (s.family, s.cluster, s.external, s.noise) == ("unspecified", "a", False, "estimated")


def test_n_items_on_some_rows_of_a_series_is_one_clear_error(tmp_path):
    from rsilab.errors import DataError

    path = tmp_path / "mine.csv"
    path.write_text("series_id,method,metric,round,value,n_items\n" + "".join(
        f"a,ReST,accuracy (%),{r},{20 + 5 * r},{'' if r == 2 else 500}\n" for r in range(4)))
    with pytest.raises(DataError, match="row 3, column 'n_items'.*every row"):
        load_registry(path)


def test_evidence_list_and_show():
    runner = CliRunner()
    res = runner.invoke(cli, ["evidence", "list", "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    assert len(listed) == 34
    dno = next(x for x in listed if x["series_id"] == "DNO_orca25_7b_mtbench")
    assert dno["external_judge_or_teacher"] is True and dno["rounds"] == 7 and dno["confidence"] == "high"
    res = runner.invoke(cli, ["evidence", "list"])
    assert res.exit_code == 0 and "SelfRefine_codeopt" in res.output
    res = runner.invoke(cli, ["evidence", "show", "SPIN_zephyr7b_openllm_avg", "--json"])
    assert res.exit_code == 0, res.output
    shown = json.loads(res.output)
    assert shown["values"] == [58.14, 60.80, 62.12, 62.97, 63.16] and shown["transform"] == "logit"
    assert shown["arxiv"] == "2401.01335" and shown["noise"] == "binomial" and shown["n_items"] == 9485
    lo, hi = shown["k_interval"]
    assert lo < shown["k"] < hi and shown["regime"] in ("fizzle", "undetermined")
    res = runner.invoke(cli, ["evidence", "show", "SPIN_zephyr7b_openllm_avg"])
    assert res.exit_code == 0 and "transform: logit" in res.output and "Table 2" in res.output
    res = runner.invoke(cli, ["evidence", "show", "NO_SUCH_SERIES"])
    assert res.exit_code == 2 and "evidence list" in res.output

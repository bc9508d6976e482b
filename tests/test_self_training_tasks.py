"""Tasks and verifiers of the self-training experiment: exact on edge cases (no torch needed)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsilab.experiments.self_training.tasks import TASKS, decode, encode, get_task


def test_copy_and_reverse_edge_cases():
    copy, rev = get_task("copy"), get_task("reverse")
    assert copy.solve("0=") == "0" and rev.solve("0=") == "0"
    assert copy.solve("00120=") == "00120" and rev.solve("00120=") == "02100"
    assert rev.verify("12=", "21") and not rev.verify("12=", "12") and not copy.verify("12=", "12 ")
    assert copy.answer_length("0000000=") == 7


def test_reverse_addition_carries_and_zeros():
    add = get_task("add")
    # digits least-significant first: 9 + 1 = 10 -> "01"; 99 + 1 (written "99" + "10") = 100 -> "001"
    assert add.solve("9+1=") == "01"
    assert add.solve("99+10=") == "001"
    assert add.solve("0+0=") == "00"
    assert add.solve("41+31=") == "72" + "0"       # 14 + 13 = 27 -> 027 -> "720"
    assert add.solve("999+9=") == "8001"           # 999 + 9 = 1008, width 4 -> "8001"
    assert add.answer_length("123+45=") == 4
    assert not add.verify("9+1=", "010")           # right value, wrong width is wrong


def test_reverse_multiplication():
    mul = get_task("mul")
    assert mul.solve("21*3=") == "630"              # 12 * 3 = 36 -> "036" -> "630"
    assert mul.solve("0*0=") == "00"
    assert mul.solve("99*99=") == "1089"            # 99 * 99 = 9801 -> reversed "1089"
    assert mul.solve("000*7=") == "0000"
    assert mul.answer_length("12*345=") == 5


@pytest.mark.parametrize("prompt", ["", "=", "12", "1a=", "+1=", "1+=", "1+2+3=", "1*2", "12+3"])
def test_malformed_prompts_are_rejected(prompt):
    for task in TASKS.values():
        with pytest.raises(ValueError):
            task.solve(prompt)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_reverse_arithmetic_matches_python(a, b):
    ra, rb = str(a)[::-1], str(b)[::-1]
    assert int(get_task("add").solve(f"{ra}+{rb}=")[::-1]) == a + b
    assert int(get_task("mul").solve(f"{ra}*{rb}=")[::-1]) == a * b


def test_generators_give_the_difficulty_asked_and_round_trip_the_vocabulary():
    rng = np.random.default_rng(0)
    for name, task in TASKS.items():
        for d in (1, 5, 16):
            p = task.prompt(rng, d)
            assert decode(encode(p)) == p
            operands = p[:-1].replace("+", " ").replace("*", " ").split()
            assert all(len(x) == d for x in operands), (name, p)
            assert len(task.solve(p)) == task.answer_length(p)
            assert task.max_seq_len(d) >= len(p) + task.answer_length(p) + 1
    with pytest.raises(ValueError):
        get_task("copy").prompt(rng, 0)
    with pytest.raises(ValueError):
        encode("abc")
    with pytest.raises(ValueError):
        get_task("sort")


def test_config_and_tasks_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, rsilab.experiments.self_training as st, rsilab.experiments.self_training.config, "
            "rsilab.experiments.self_training.tasks; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

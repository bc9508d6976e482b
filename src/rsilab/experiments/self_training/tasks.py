"""Tasks with exact verifiers: string copy, string reversal, reverse-order addition, multiplication.

Owns the character vocabulary, the instance generators (one difficulty each: string length or
digit count) and the verifiers that say whether an answer is exactly right. Pure Python and
numpy; must not import torch (the loop and the tests use it without a model).

Every instance is a prompt ending in ``=`` followed by an answer and the end token ``$``:

    copy        ``30417=`` -> ``30417$``
    reverse     ``30417=`` -> ``71403$``
    add         ``a+b=`` with a, b and the sum written least-significant digit first;
                ``41+31=`` (14 + 13) -> ``720$`` (27, written as 027 reversed)
    mul         ``a*b=``, reversed like add; ``21*3=`` (12 * 3) -> ``630$`` (036 reversed)

The answer's length follows from the prompt's shape alone (n for copy/reverse, max(len a,
len b) + 1 digits for add, len a + len b digits for mul), which is what the length filter uses:
it needs no ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD, END, SEP = "#", "$", "="
VOCAB = PAD + "0123456789+*" + SEP + END
TOKEN_ID = {c: i for i, c in enumerate(VOCAB)}
PAD_ID, END_ID, SEP_ID = TOKEN_ID[PAD], TOKEN_ID[END], TOKEN_ID[SEP]
DIGITS = "0123456789"


def encode(text: str) -> list[int]:
    try:
        return [TOKEN_ID[c] for c in text]
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary {VOCAB!r}") from None


def decode(ids) -> str:
    return "".join(VOCAB[int(i)] for i in ids)


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(DIGITS[d] for d in rng.integers(0, 10, size=n))


def _parse_operands(prompt: str, op: str) -> tuple[str, str]:
    if not prompt.endswith(SEP) or prompt.count(op) != 1:
        raise ValueError(f"prompt {prompt!r} is not of the form <digits>{op}<digits>{SEP}")
    a, b = prompt[:-1].split(op)
    if not a or not b or not (a + b).isdigit():
        raise ValueError(f"prompt {prompt!r} is not of the form <digits>{op}<digits>{SEP}")
    return a, b


def _parse_string(prompt: str) -> str:
    body = prompt[:-1]
    if not prompt.endswith(SEP) or not body or not body.isdigit():
        raise ValueError(f"prompt {prompt!r} is not of the form <digits>{SEP}")
    return body


def _reversed_int(digits: str) -> int:
    return int(digits[::-1])


def _reversed_str(value: int, width: int) -> str:
    return str(value).rjust(width, "0")[::-1]


@dataclass(frozen=True)
class Task:
    """One task: how to draw a prompt at a difficulty, its exact answer, its answer length."""

    name: str

    def prompt(self, rng: np.random.Generator, difficulty: int) -> str:
        if difficulty < 1:
            raise ValueError(f"difficulty must be at least 1, got {difficulty}")
        if self.name in ("copy", "reverse"):
            return _digits(rng, difficulty) + SEP
        op = "+" if self.name == "add" else "*"
        return _digits(rng, difficulty) + op + _digits(rng, difficulty) + SEP

    def solve(self, prompt: str) -> str:
        """The exact answer (without the end token). Raises ValueError for a malformed prompt."""
        if self.name == "copy":
            return _parse_string(prompt)
        if self.name == "reverse":
            return _parse_string(prompt)[::-1]
        if self.name == "add":
            a, b = _parse_operands(prompt, "+")
            return _reversed_str(_reversed_int(a) + _reversed_int(b), max(len(a), len(b)) + 1)
        a, b = _parse_operands(prompt, "*")
        return _reversed_str(_reversed_int(a) * _reversed_int(b), len(a) + len(b))

    def answer_length(self, prompt: str) -> int:
        """Answer length implied by the prompt's shape: what the length filter checks."""
        if self.name in ("copy", "reverse"):
            return len(_parse_string(prompt))
        a, b = _parse_operands(prompt, "+" if self.name == "add" else "*")
        return max(len(a), len(b)) + 1 if self.name == "add" else len(a) + len(b)

    def verify(self, prompt: str, answer: str) -> bool:
        """True when ``answer`` (without the end token) is exactly the right answer."""
        return answer == self.solve(prompt)

    def max_seq_len(self, difficulty: int) -> int:
        """Tokens in the longest instance at ``difficulty``, plus slack for over-long outputs."""
        prompt = difficulty + 1 if self.name in ("copy", "reverse") else 2 * difficulty + 2
        answer = difficulty if self.name in ("copy", "reverse") else 2 * difficulty
        return prompt + answer + 1 + DECODE_SLACK


# Greedy decoding runs this many tokens past the expected answer length, so that an output
# that does not stop where it should is seen as such (and the length filter can drop it).
DECODE_SLACK = 2

TASKS = {name: Task(name) for name in ("copy", "reverse", "add", "mul")}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]

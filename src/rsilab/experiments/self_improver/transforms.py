"""Program transformations: the moves an improver can make on a program's source (ast-based).

Each transformation lists its *sites* in a parsed program and rewrites one site, so tests can
apply exactly one change and compare the output; ``mutate_program`` picks a transformation and
a site at random and returns new source that parses and differs from the input. They act on an
improver's operators (comparisons, arithmetic), parameters (constants), data flow (which
variable is read) and control flow (delete, duplicate, reorder, repeat statements).

No transformation introduces a name, attribute or import that was not already in the
program, so a tampering attempt can only enter through the seed, never through search; the
report says so. Pure stdlib (ast, random): this module also runs inside the box.
"""
from __future__ import annotations

import ast
import copy
import random
from typing import Callable

COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult}


def _walk(tree: ast.AST) -> list[ast.AST]:
    # a stable, documented order (breadth-first, as ast.walk) so site indices are reproducible
    return list(ast.walk(tree))


# -- operators -------------------------------------------------------------------------------
def compare_sites(tree: ast.AST) -> list[ast.Compare]:
    return [n for n in _walk(tree) if isinstance(n, ast.Compare) and type(n.ops[0]) in COMPARE_SWAP]


def swap_compare(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    """``a < b`` <-> ``a <= b``, ``>`` <-> ``>=``, ``==`` <-> ``!=`` at one comparison."""
    tree = copy.deepcopy(tree)
    node = compare_sites(tree)[site]
    node.ops[0] = COMPARE_SWAP[type(node.ops[0])]()
    return tree


def binop_sites(tree: ast.AST) -> list[ast.AST]:
    return [n for n in _walk(tree) if isinstance(n, (ast.BinOp, ast.AugAssign)) and type(n.op) in BINOP_SWAP]


def swap_binop(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    """``+`` <-> ``-`` and ``*`` <-> ``//`` at one arithmetic operation."""
    tree = copy.deepcopy(tree)
    node = binop_sites(tree)[site]
    node.op = BINOP_SWAP[type(node.op)]()
    return tree


# -- parameters ------------------------------------------------------------------------------
def constant_sites(tree: ast.AST) -> list[ast.Constant]:
    return [n for n in _walk(tree) if isinstance(n, ast.Constant) and type(n.value) in (int, float, bool)]


def perturb_constant(tree: ast.Module, site: int, rng: random.Random) -> ast.Module:
    """A bool flips; an int moves by +-1 or doubles/halves; a float is multiplied by 0.5 or 2."""
    tree = copy.deepcopy(tree)
    node = constant_sites(tree)[site]
    v = node.value
    if type(v) is bool:
        node.value = not v
    elif type(v) is int:
        node.value = rng.choice([v + 1, v - 1, v * 2, v // 2])
        if node.value == v:  # 0 * 2 == 0 and 1 // 2 == 0... keep the move a real change
            node.value = v + 1
    else:
        node.value = v * rng.choice([0.5, 2.0])
    return tree


# -- data flow -------------------------------------------------------------------------------
def _function_names(fn: ast.FunctionDef) -> list[str]:
    names = [a.arg for a in fn.args.args]
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in names:
            names.append(n.id)
    return names


def name_sites(tree: ast.AST) -> list[tuple[ast.Name, list[str]]]:
    """Every variable read inside a function, with the other local names it could read instead."""
    sites = []
    for fn in [n for n in _walk(tree) if isinstance(n, ast.FunctionDef)]:
        local = _function_names(fn)
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local:
                others = [x for x in local if x != n.id]
                if others:
                    sites.append((n, others))
    return sites


def swap_name(tree: ast.Module, site: int, rng: random.Random) -> ast.Module:
    """Read another local variable at one place (e.g. mutate ``best`` instead of ``solution``)."""
    tree = copy.deepcopy(tree)
    node, others = name_sites(tree)[site]
    node.id = rng.choice(others)
    return tree


# -- control flow ----------------------------------------------------------------------------
def _bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    out = []
    for n in _walk(tree):
        for attr in ("body", "orelse"):
            body = getattr(n, attr, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt) and not isinstance(n, ast.Module):
                out.append(body)
    return out


def statement_sites(tree: ast.AST, *, min_len: int = 1) -> list[tuple[list[ast.stmt], int]]:
    """(body, index) of every statement that is not a ``return`` in a body of at least min_len."""
    return [(body, i) for body in _bodies(tree) if len(body) >= min_len
            for i, s in enumerate(body) if not isinstance(s, ast.Return)]


def delete_statement(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    tree = copy.deepcopy(tree)
    body, i = statement_sites(tree, min_len=2)[site]
    del body[i]
    return tree


def duplicate_statement(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    tree = copy.deepcopy(tree)
    body, i = statement_sites(tree)[site]
    body.insert(i + 1, copy.deepcopy(body[i]))
    return tree


def swap_sites(tree: ast.AST) -> list[tuple[list[ast.stmt], int]]:
    return [(body, i) for body in _bodies(tree) for i in range(len(body) - 1)
            if not isinstance(body[i + 1], ast.Return)]


def swap_statements(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    """Exchange a statement with the one after it (never moving a ``return``)."""
    tree = copy.deepcopy(tree)
    body, i = swap_sites(tree)[site]
    body[i], body[i + 1] = body[i + 1], body[i]
    return tree


def wrap_in_loop(tree: ast.Module, site: int, rng: random.Random | None = None) -> ast.Module:
    """Repeat one statement: ``s`` becomes ``for _ in range(2): s``."""
    tree = copy.deepcopy(tree)
    body, i = statement_sites(tree)[site]
    loop = ast.For(target=ast.Name(id="_", ctx=ast.Store()),
                   iter=ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[ast.Constant(2)], keywords=[]),
                   body=[body[i]], orelse=[])
    body[i] = loop
    return tree


TRANSFORMS: dict[str, tuple[Callable, Callable]] = {
    "swap_compare": (swap_compare, compare_sites),
    "swap_binop": (swap_binop, binop_sites),
    "perturb_constant": (perturb_constant, constant_sites),
    "swap_name": (swap_name, name_sites),
    "delete_statement": (delete_statement, lambda t: statement_sites(t, min_len=2)),
    "duplicate_statement": (duplicate_statement, statement_sites),
    "swap_statements": (swap_statements, swap_sites),
    "wrap_in_loop": (wrap_in_loop, statement_sites),
}


def apply(source: str, name: str, site: int, rng: random.Random | None = None) -> str:
    """Apply transformation ``name`` at ``site`` and return the new source."""
    fn, _ = TRANSFORMS[name]
    return ast.unparse(ast.fix_missing_locations(fn(ast.parse(source), site, rng or random.Random(0))))


def mutate_program(source: str, rng: random.Random, tries: int = 20) -> str:
    """One random transformation at one random site; the result differs from ``source``.

    Returns ``source`` unchanged only if ``tries`` attempts all produce identical code.
    """
    tree = ast.parse(source)
    canonical = ast.unparse(tree)
    names = sorted(TRANSFORMS)
    for _ in range(tries):
        name = rng.choice(names)
        fn, sites = TRANSFORMS[name]
        n = len(sites(tree))
        if n == 0:
            continue
        out = ast.unparse(ast.fix_missing_locations(fn(tree, rng.randrange(n), rng)))
        if out != canonical:
            return out
    return source

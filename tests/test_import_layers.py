"""The house's import rules, declared once as a table (``RULES``) and checked against every
import statement in the source, read with ``ast`` (imports inside functions too, relative
imports resolved). DESIGN.md's picture in rules:

- a package listed in ``ONLY`` imports nothing of ours but what its row allows;
- ``NEVER``: (importer, imported, why) pairs that may not occur;
- ``OWNED``: a module that only its owners may import (the CLI, the web app, torch,
  matplotlib, sqlite3, PyMC's stack).

Where the code breaks a rule today, ``KNOWN`` names the file and the import, with the reason it
is allowed to stand; a known exception that no longer occurs fails, so the table stays true.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# package -> the only packages of ours it may import (besides itself)
ONLY = {
    "rsilab.errors": (),
    "rsilab.core": ("rsilab.errors",),
    "rsilab.dynamics": ("rsilab.errors", "rsilab.core"),
    "rsilab.store": ("rsilab.errors", "rsilab.core"),
}
# (importer, imported, why)
NEVER = [
    ("rsilab.estimate", "rsilab.simulate", "estimate never imports simulate: shared formats live in core"),
    ("rsilab.estimate", "rsilab.store", "estimators take arrays"),
    ("rsilab.estimate", "rsilab.experiments", "estimators read rounds, not loops"),
    ("rsilab.experiments", "rsilab.estimate", "loops record rounds, they do not fit"),
    ("rsilab.simulate", "rsilab.estimate", "the forecast knows no fitting"),
    ("rsilab.simulate", "rsilab.report", "solvers draw nothing"),
    ("rsilab.simulate", "rsilab.store", "simulating keeps nothing: the caller records"),
    ("rsilab.report", "rsilab.simulate", "reports never re-run anything"),
    ("rsilab.report", "rsilab.api", "the report reads the store"),
    ("rsilab.box", "rsilab.experiments", "the box knows nothing of what it runs"),
]
# imported module -> the only packages that may import it
OWNED = {
    "rsilab.cli": ("rsilab.cli",),
    "rsilab.web": ("rsilab.web", "rsilab.cli.serve"),
    "torch": ("rsilab.experiments",),
    # models declare their one-sample forms as plain Python; simulate compiles them
    "numba": ("rsilab.simulate.compiled",),
    "matplotlib": ("rsilab.report",),
    "sqlite3": ("rsilab.store",),
    # the sampler's heavy stack (the stats extra), imported on use by the pooled model's NUTS path only
    "pymc": ("rsilab.estimate.pooled_sampler",),
    "pytensor": ("rsilab.estimate.pooled_sampler",),
    "arviz": ("rsilab.estimate.pooled_sampler",),
}
# (file, imported module or package): breaks of a rule that stand for now, and why
KNOWN: dict[tuple[str, str], str] = {}


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, src: Path = SRC) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file; ``from X import Y`` counts as
    importing both X and X.Y (Y may be a submodule)."""
    name = module_name(path, src)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(module: str, target: str) -> str | None:
    """Which rule ``module`` importing ``target`` breaks, or None."""
    for pkg, allowed in ONLY.items():
        if under(module, pkg) and under(target, "rsilab") and target != "rsilab" and not any(
                under(target, ok) for ok in (pkg, *allowed)):
            return f"{pkg} imports nothing of ours but {', '.join(allowed) or 'itself'}"
        if under(module, pkg) and target == "rsilab":
            return f"{pkg} imports nothing of ours but {', '.join(allowed) or 'itself'} (not the package root)"
    for importer, imported, why in NEVER:
        if under(module, importer) and under(target, imported):
            return why
    for imported, owners in OWNED.items():
        if under(target, imported) and not any(under(module, o) for o in owners):
            return f"only {', '.join(owners)} imports {imported}"
    return None


FILES = sorted(SRC.rglob("*.py"))


def known(rel: str, target: str) -> bool:
    return any(rel == f and under(target, m) for f, m in KNOWN)


def test_the_source_tree_is_found():
    names = {module_name(f) for f in FILES}
    assert {"rsilab.dynamics.base", "rsilab.simulate.solver", "rsilab.estimate.bridge", "rsilab.cli"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_rules(path):
    module = module_name(path)
    rel = path.relative_to(SRC).as_posix()
    bad = [f"{rel}:{line} imports {target}: {why}" for line, target in imports_of(path)
           if (why := violations(module, target)) and not known(rel, target)]
    assert not bad, "\n".join(bad)


def test_every_known_exception_still_occurs():
    breaks = {(p.relative_to(SRC).as_posix(), t) for p in FILES for _, t in imports_of(p) if violations(module_name(p), t)}
    gone = [k for k in KNOWN if not any(f == k[0] and under(t, k[1]) for f, t in breaks)]
    assert not gone, f"these no longer break a rule: remove them from KNOWN: {gone}"


@pytest.mark.parametrize("module, target, expected", [
    ("rsilab.dynamics.software_rnd", "rsilab.simulate.kernels", False),
    ("rsilab.dynamics.software_rnd", "rsilab.core.solution", True),
    ("rsilab.estimate.bridge", "rsilab.simulate.priors", False),
    ("rsilab.estimate.bridge", "rsilab.core.priors", True),
    ("rsilab.report.charts", "rsilab.cli", False),
    ("rsilab.cli.forecast", "rsilab.cli", True),
    ("rsilab.simulate.solver", "torch", False),
    ("rsilab.experiments.self_training.model", "torch", True),
    ("rsilab.store.db", "rsilab", False),
    ("rsilab.store.ensembles", "rsilab.core.version", True),
    ("rsilab.store.ensembles", "rsilab.simulate.montecarlo", False),
    ("rsilab.report.html", "rsilab.simulate.regimes", False),
    ("rsilab.report.html", "rsilab.store.ensembles", True),
    ("rsilab.cli.forecast", "matplotlib.pyplot", False),
    ("rsilab.report.figure", "matplotlib.pyplot", True),
    ("rsilab.web.app", "sqlite3", False),
    ("rsilab.cli.serve", "rsilab.web.app", True),
    ("rsilab.api", "rsilab.web.app", False),
    ("rsilab.dynamics.multipolar", "numba", False),
    ("rsilab.simulate.ode_kernels", "numba", False),
    ("rsilab.simulate.compiled", "numba.core.caching", True),
])
def test_the_rules_catch_what_they_are_meant_to(module, target, expected):
    assert (violations(module, target) is None) is expected


def test_relative_imports_are_resolved(tmp_path):
    pkg = tmp_path / "rsilab" / "dynamics"
    pkg.mkdir(parents=True)
    f = pkg / "model.py"
    f.write_text("from ..simulate import kernels\nfrom . import base\nimport numpy\n")
    assert [t for _, t in imports_of(f, tmp_path)] == [
        "rsilab.simulate", "rsilab.simulate.kernels", "rsilab.dynamics", "rsilab.dynamics.base", "numpy"]

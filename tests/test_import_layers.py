"""The house's import layers, read from the source with ``ast`` (every import statement,
including those inside functions, relative imports resolved):

- ``rsilab.dynamics`` imports nothing of ours but ``rsilab.errors`` and the shared types
  (``rsilab.core``, or a ``rsilab.types`` module);
- ``rsilab.core`` imports nothing of ours but ``rsilab.errors``;
- ``rsilab.estimate`` never imports ``rsilab.simulate``;
- nothing outside ``rsilab.cli`` imports ``rsilab.cli``;
- only ``rsilab.experiments`` imports torch.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


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
    ours = under(target, "rsilab")
    if under(module, "rsilab.dynamics") and ours and not any(
            under(target, ok) for ok in ("rsilab.dynamics", "rsilab.errors", "rsilab.core", "rsilab.types")):
        return "dynamics imports nothing of ours but rsilab.errors and rsilab.core"
    if under(module, "rsilab.core") and ours and not any(under(target, ok) for ok in ("rsilab.core", "rsilab.errors")):
        return "core imports nothing of ours but rsilab.errors"
    if under(module, "rsilab.estimate") and under(target, "rsilab.simulate"):
        return "estimate never imports simulate"
    if not under(module, "rsilab.cli") and under(target, "rsilab.cli"):
        return "nothing outside cli imports rsilab.cli"
    if not under(module, "rsilab.experiments") and under(target, "torch"):
        return "only experiments imports torch"
    return None


FILES = sorted(SRC.rglob("*.py"))


def test_the_source_tree_is_found():
    names = {module_name(f) for f in FILES}
    assert {"rsilab.dynamics.base", "rsilab.simulate.solver", "rsilab.estimate.bridge", "rsilab.cli"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layers(path):
    module = module_name(path)
    bad = [f"{path.relative_to(SRC)}:{line} imports {target}: {why}"
           for line, target in imports_of(path) if (why := violations(module, target))]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module, target, expected", [
    ("rsilab.dynamics.software_rnd", "rsilab.simulate.kernels", False),
    ("rsilab.dynamics.software_rnd", "rsilab.core.solution", True),
    ("rsilab.estimate.bridge", "rsilab.simulate.priors", False),
    ("rsilab.estimate.bridge", "rsilab.core.priors", True),
    ("rsilab.report.charts", "rsilab.cli", False),
    ("rsilab.cli.forecast", "rsilab.cli", True),
    ("rsilab.simulate.solver", "torch", False),
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

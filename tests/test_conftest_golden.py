"""The prerequisite rule of conftest.py: skip without the published data (or bubblewrap, or
chromium), except under CI, where the test fails."""
from __future__ import annotations

import pytest

import conftest


@pytest.mark.parametrize("env", [{"RSILAB_REQUIRE_GOLDEN": "1"}, {"CI": "true"}])
def test_golden_tests_fail_without_data_under_ci(env, monkeypatch, tmp_path, request):
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "missing")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("RSILAB_REQUIRE_GOLDEN", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(pytest.fail.Exception, match="shared data folder not found .*; it is required here"):
        request.getfixturevalue("shared_data")


def test_golden_tests_skip_without_data_elsewhere(monkeypatch, tmp_path, request):
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "missing")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("RSILAB_REQUIRE_GOLDEN", "0")
    with pytest.raises(pytest.skip.Exception, match="shared data folder not found"):
        request.getfixturevalue("shared_data")


def test_ci_script_requires_golden_tests():
    text = (conftest.Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "export RSILAB_REQUIRE_GOLDEN=1" in text.split("make test")[0]


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("TRUE", pytest.fail.Exception),
                                         ("", pytest.skip.Exception), ("false", pytest.skip.Exception)])
def test_one_rule_for_every_prerequisite(ci, outcome, monkeypatch):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="bubblewrap is missing"):
        conftest.skip_or_fail("bubblewrap is missing")
    # a prerequisite required elsewhere too (the published data: RSILAB_REQUIRE_GOLDEN=1) says so itself
    with pytest.raises(pytest.fail.Exception):
        conftest.skip_or_fail("x", required=True)
    with pytest.raises(pytest.skip.Exception):
        conftest.skip_or_fail("x", required=False)


def test_the_quick_run_leaves_the_slow_tests_out():
    """`pytest -m "not slow"` (make test-quick) deselects the tests marked slow, and only those."""
    import subprocess
    import sys

    root = conftest.Path(__file__).resolve().parents[1]
    files = ["tests/test_store_concurrency.py", "tests/test_store.py"]

    def collected(*marker: str) -> list[str]:
        out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              *marker, *files], capture_output=True, text=True, cwd=root).stdout
        return [line for line in out.splitlines() if "::" in line]

    quick, slow = collected("-m", "not slow"), collected("-m", "slow")
    assert slow and quick and not set(quick) & set(slow)   # the files hold slow tests and quick ones
    assert "tests/test_store_concurrency.py::test_32_processes_opening_a_fresh_store_at_once_lose_no_run" in slow
    assert "tests/test_store.py::test_no_sql_outside_the_store_package" in quick

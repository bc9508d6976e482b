"""The golden-test rule of conftest.py: skip without the published data, except under CI."""
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
    with pytest.raises(pytest.fail.Exception, match="golden tests are required"):
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

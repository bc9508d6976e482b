"""Untrusted text on the terminal: every command shows control characters visibly.

The text comes from wherever someone else chooses it: a stored run's name, an experiment's
rounds, a user's registry file. The check is the same for each command: no raw C0/C1 control
character or bidirectional override reaches the output, and the escape is visible instead.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.cli.untrusted import safe_text

HOSTILE = "ok\x1b[2K\x1b[1A\rstatus ok\x1b]8;;http://evil\x07click\x1b]8;;\x07\u202egnp.exe\u200b\x9b31m"


def raw_controls(text: str) -> list[str]:
    return [hex(ord(c)) for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0
            or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or c == "\u200b"]


@pytest.mark.parametrize("text,shown", [
    ("plain text, é and 中文", "plain text, é and 中文"),
    ("a\rb", "a\\rb"),
    ("a\nb", "a\\nb"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("\u202eevil", "\\u202eevil"),
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("tag\U000e0041", "tag\\U000e0041"),
    ("c1\x9bcsi", "c1\\x9bcsi"),
    ("tab\tkept", "tab\tkept"),
])
def test_safe_text_escapes_what_can_deceive_and_keeps_the_rest(text, shown):
    assert safe_text(text) == shown


def test_multiline_keeps_line_feeds_only():
    assert safe_text("a\nb\r\nc", multiline=True) == "a\nb\\r\nc"


def test_tables_show_cells_titles_and_headers_as_text(capsys):
    from rsilab.cli.common import print_table

    print_table(f"title {HOSTILE}", ("name", f"head{HOSTILE}"), [(f"[bold]{HOSTILE}[/] :smile:", "x")], width=400)
    out = capsys.readouterr().out
    assert raw_controls(out) == [], out
    assert "[bold]" in out and ":smile:" in out and "\\x1b[2K" in out   # no markup, no emoji codes, escapes shown


def test_runs_and_experiment_show_escape_stored_text(store, tmp_path):
    run_id = store.add_run("experiment:track", f"name {HOSTILE}", config={}, status=f"done{HOSTILE}")
    store.add_round(run_id, 0, {"capability": 1.0, "compute_flop": 1.0, "seconds": 1.0, f"note{HOSTILE}": HOSTILE})
    runner = CliRunner()
    for command in (["runs"], ["experiment", "show", str(run_id), "--plot", str(tmp_path / "p.png")]):
        out = runner.invoke(cli, command + ["--store", str(store.path)], terminal_width=400)
        assert out.exit_code == 0, out.output
        assert raw_controls(out.output) == [], out.output
        assert "\\x1b[2K" in out.output


def test_evidence_list_and_show_escape_a_users_file(tmp_path):
    import csv

    path = tmp_path / "hostile.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(["series_id", "method", "metric", "round", "value"])
        writer.writerows([f"evil{HOSTILE}", f"method{HOSTILE}", "acc", r, 50 + r] for r in range(4))
    runner = CliRunner()
    out = runner.invoke(cli, ["evidence", "list", "--add", str(path)])
    assert out.exit_code == 0, out.output
    assert raw_controls(out.output) == [] and "\\x1b[2K" in out.output
    out = runner.invoke(cli, ["evidence", "show", f"evil{HOSTILE}", "--add", str(path)])
    assert out.exit_code == 0, out.output
    assert raw_controls(out.output) == [] and "methodok\\x1b[2K" in out.output


def test_an_error_naming_a_hostile_value_shows_it_escaped(tmp_path):
    out = CliRunner().invoke(cli, ["evidence", "show", f"missing{HOSTILE}"])
    assert out.exit_code == 2
    assert raw_controls(out.output) == [] and "\\x1b[2K" in out.output

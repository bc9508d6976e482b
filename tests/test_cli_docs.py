"""Every command and option of the CLI is documented, and every help line is whole.

After sqlite-utils' ``test_commands_are_documented``: walk the click tree and require each
command's full name (``rsilab fit rounds``) to appear in README.md or docs/*.md, and each visible
option (``--tolerance``) to appear in a file of those that also names its command. Hidden options
(old aliases) are exempt.
"""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from rsilab.cli import HELP_LINES, cli

ROOT = Path(__file__).resolve().parents[1]


def _files() -> dict[str, str]:
    return {p.name: p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}


def _docs() -> str:
    return "\n".join(_files().values())


def _mentions(text: str, word: str) -> bool:
    return re.search(re.escape(word) + r"(?![\w-])", text) is not None


def _walk(group: click.Group, path: str):
    ctx = click.Context(group, info_name=path)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        full = f"{path} {name}"
        yield full, cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, full)


COMMANDS = list(_walk(cli, "rsilab"))
OPTIONS = sorted({(full, opt) for full, cmd in COMMANDS for p in cmd.params
                  if isinstance(p, click.Option) and not p.hidden
                  for opt in p.opts + p.secondary_opts if opt.startswith("--") and opt != "--help"})


@pytest.mark.parametrize("full", [c for c, _ in COMMANDS])
def test_command_is_documented(full):
    assert _mentions(_docs(), full), f"{full!r} is not in README.md or docs/*.md"


@pytest.mark.parametrize("full, option", OPTIONS)
def test_option_is_documented(full, option):
    assert any(_mentions(text, full) and _mentions(text, option) for text in _files().values()), \
        f"{option} of {full!r} is not in any of README.md, docs/*.md that names {full!r}"


@pytest.mark.parametrize("full, cmd", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_command_has_a_whole_short_help(full, cmd):
    # click cuts a help line derived from the docstring with "..."; a short_help is shown whole
    assert cmd.short_help, f"{full} has no short_help"
    assert not cmd.short_help.endswith("..."), cmd.short_help
    name = full.split()[1]
    if full.count(" ") == 1:  # the root listing reads HELP_LINES without importing the command
        assert HELP_LINES[name] == cmd.short_help


def test_the_walk_found_the_tree():
    # a walk that found nothing would pass every test above
    names = {c for c, _ in COMMANDS}
    assert {"rsilab forecast", "rsilab fit rounds", "rsilab audit verify", "rsilab experiment export"} <= names
    assert ("rsilab forecast", "--preset") in OPTIONS and ("rsilab forecast", "--scenario") not in OPTIONS

"""Text that someone else chose, made safe to print on a person's terminal.

What a candidate wrote (its output, the paths it tried, its diff), what a stored run holds and
what a user's file says can carry terminal control sequences: an ANSI/CSI sequence that moves
the cursor or erases a line, an OSC sequence that sets a title or hides a link, a carriage
return that overprints, a bidirectional override or a zero-width character that shows text
in another order than it runs. ``safe_text`` shows every such character visibly, as a Python
escape (``\\x1b``, ``\\r``, ``\\u202e``), and keeps the rest as it is; ``console`` is a rich
console that does the same for every string it renders and reads no markup or emoji codes in
them. Every command prints untrusted text through one of the two. Imports nothing of ours;
rich only when ``console`` is called.
"""
from __future__ import annotations

import functools
import unicodedata
from typing import Any

# Unicode categories shown escaped: controls, format characters (bidi marks and overrides,
# zero-width characters, tag characters), line and paragraph separators, surrogates, private
# use and unassigned code points.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\x1b": "\\x1b", "\x00": "\\x00"}


@functools.lru_cache(maxsize=4096)
def _escape_char(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _ESCAPED_CATEGORIES


def safe_text(value: Any, *, multiline: bool = False) -> str:
    """``value`` as text with every control, format and invisible character shown as an escape.
    ``multiline``: keep line feeds (each line is made safe on its own); tabs are always kept."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():   # the common case: nothing to escape
        return text
    out = []
    for ch in text:
        if ch == "\t" or (multiline and ch == "\n"):
            out.append(ch)
        elif _unsafe(ch):
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return "".join(out)


def console(width: int | None = None):
    """A rich ``Console`` that escapes every string it renders (table cells, titles, headers)
    and reads no markup or emoji codes: a cell saying ``[link=...]`` or ``:x:`` is shown as
    written."""
    from rich.console import Console

    class _SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any):
            kwargs["markup"] = False
            kwargs["emoji"] = False
            return super().render_str(safe_text(text), **kwargs)

    return _SafeConsole(width=width, markup=False, emoji=False, highlight=False)

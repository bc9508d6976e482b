"""Published figures read from ../shared/data/PROVENANCE.md (never typed into a test), and the
digit count lmfit and NIST use to compare a result with a certified value.

Each figure is kept as printed (a string), so a test knows how many digits were published.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

PROVENANCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "PROVENANCE.md"
_NUM = r"(-?\d[\d,]*\.?\d*)"


def _text() -> str:
    return re.sub(r"\s+", " ", PROVENANCE.read_text(encoding="utf-8"))


def _after(text: str, marker: str, length: int = 400) -> str:
    i = text.find(marker)
    if i < 0:
        raise AssertionError(f"{PROVENANCE}: {marker!r} not found")
    return text[i + len(marker): i + len(marker) + length]


def _pairs(chunk: str, names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in names:
        m = re.search(rf"(?<![\w]){re.escape(name)} {_NUM}", chunk)
        if m is None:
            raise AssertionError(f"{PROVENANCE}: no figure for {name!r} in {chunk[:120]!r}...")
        out[name] = m.group(1).rstrip(".,")
    return out


CHINCHILLA = ("A", "B", "E", "alpha", "beta")


def chinchilla_headline() -> dict[str, str]:
    return _pairs(_after(_text(), "headline fit:", 120), CHINCHILLA)


def chinchilla_bootstrap_se() -> dict[str, str]:
    return _pairs(_after(_text(), "bootstrap standard errors (4,000 resamples):", 90), CHINCHILLA)


def chinchilla_bootstrap_intervals() -> dict[str, tuple[str, str]]:
    chunk = _after(_text(), "95% intervals:", 200)
    out = {}
    for name in CHINCHILLA:
        m = re.search(rf"(?<![\w]){name} \[{_NUM}, {_NUM}\]", chunk)
        assert m, f"{PROVENANCE}: no 95% interval for {name}"
        out[name] = (m.group(1), m.group(2))
    return out


def chinchilla_hoffmann_repeated() -> dict[str, str]:
    return _pairs(_after(_text(), "Hoffmann's procedure repeated:", 140), CHINCHILLA + ("objective",))


def rnd_growth_ratio() -> dict[str, str]:
    chunk = _after(_text(), "the input series' first T values only:", 80)
    return {"CV + DL": _pairs(chunk, ("computer vision",))["computer vision"],
            "SAT": _pairs(chunk, ("SAT solvers",))["SAT solvers"]}


def rnd_posterior() -> dict[str, dict[str, str]]:
    """Posterior of r per domain: {"50": median, "5": ..., "95": ...} as printed."""
    chunk = _after(_text(), "Posterior of r, median (5th-95th percentile):", 120)
    out = {}
    for dom, label in (("CV + DL", "computer vision"), ("SAT", "SAT solvers")):
        m = re.search(rf"{label} {_NUM} \({_NUM}-{_NUM}\)", chunk)
        assert m, f"{PROVENANCE}: no posterior for {label}"
        out[dom] = {"50": m.group(1), "5": m.group(2), "95": m.group(3)}
    return out


def significant_digits(printed: str) -> int:
    """Significant digits in a number as printed ('0.0154' -> 3, '1293.2841' -> 8)."""
    digits = printed.replace(",", "").replace("-", "").replace(".", "").lstrip("0")
    return len(digits)


def matching_digits(found: float, printed: str) -> float:
    """Log relative error, -log10(|found - published| / |published|): the number of leading
    digits that agree (lmfit's and NIST StRD's measure); 15 when equal to double precision."""
    pub = float(printed.replace(",", ""))
    if found == pub:
        return 15.0
    return -math.log10(abs(found - pub) / abs(pub))


def report(found: dict[str, float], published: dict[str, str]) -> str:
    return "\n".join(f"  {k:10s} found {found[k]:.10g}  published {published[k]}  "
                     f"matching digits {matching_digits(found[k], published[k]):.1f} "
                     f"of {significant_digits(published[k])}" for k in published)

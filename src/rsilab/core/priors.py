"""The prior spec format: what a scenario's ``[params]`` table holds for one parameter, and
what an estimate hands to a forecast. A spec is a bare number (fixed) or a table with ``dist``
and that distribution's fields; ``parse_prior`` is the one validator of the format and
``Prior.ppf`` maps uniforms through the distribution's inverse CDF. Imports numpy and our
errors only; scipy.special (the normal CDF and its inverse) is imported where a normal or
lognormal prior is drawn, so that the scenarios that never need it do not pay its import at
start-up.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from rsilab.errors import ConfigError

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("mu", "sigma"),
    "triangular": ("low", "mode", "high"),
    "split_loguniform": ("low", "median", "high"),
    "empirical": ("samples",),
}
# Optional truncation for the unbounded ones.
OPTIONAL_FIELDS = {"normal": ("low", "high"), "lognormal": ("low", "high")}


@dataclass(frozen=True)
class Prior:
    dist: str
    args: Mapping[str, Any]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at uniforms u in (0, 1)."""
        a = self.args
        if self.dist == "fixed":
            return np.full_like(u, float(a["value"]))
        if self.dist == "uniform":
            return a["low"] + u * (a["high"] - a["low"])
        if self.dist == "loguniform":
            lo, hi = np.log(a["low"]), np.log(a["high"])
            return np.exp(lo + u * (hi - lo))
        if self.dist == "triangular":
            lo, mo, hi = a["low"], a["mode"], a["high"]
            if hi == lo:
                return np.full_like(u, lo)
            cut = (mo - lo) / (hi - lo)
            left = lo + np.sqrt(u * (hi - lo) * (mo - lo))
            right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mo))
            return np.where(u < cut, left, right)
        if self.dist == "split_loguniform":
            # half the mass log-uniform on [low, median], half on [median, high] (in |x| for a
            # negative triple): the shape of the compute-centric model's own Monte Carlo
            sign = 1.0 if a["median"] > 0 else -1.0
            lo, mid, hi = (np.log(sign * a[k]) for k in ("low", "median", "high"))
            y = np.where(u < 0.5, lo + 2.0 * u * (mid - lo), mid + (2.0 * u - 1.0) * (hi - mid))
            return sign * np.exp(y)
        if self.dist in ("normal", "lognormal"):
            from scipy.special import ndtr, ndtri

            loc, scale = (a["mean"], a["sd"]) if self.dist == "normal" else (a["mu"], a["sigma"])
            lo, hi = a.get("low"), a.get("high")
            to_z = (lambda x: x) if self.dist == "normal" else np.log
            # truncation: squeeze u into [F(low), F(high)]
            u_lo = ndtr((to_z(lo) - loc) / scale) if lo is not None and scale > 0 else 0.0
            u_hi = ndtr((to_z(hi) - loc) / scale) if hi is not None and scale > 0 else 1.0
            z = loc + scale * ndtri(u_lo + u * (u_hi - u_lo))
            return z if self.dist == "normal" else np.exp(z)
        if self.dist == "empirical":
            xs = np.sort(np.asarray(a["samples"], dtype=float))
            pos = np.minimum((u * len(xs)).astype(np.int64), len(xs) - 1)
            return xs[pos]
        raise AssertionError(self.dist)

    @property
    def support(self) -> tuple[float, float]:
        a = self.args
        if self.dist == "fixed":
            return float(a["value"]), float(a["value"])
        if self.dist in ("uniform", "loguniform", "triangular", "split_loguniform"):
            return float(a["low"]), float(a["high"])
        if self.dist == "empirical":
            return float(np.min(a["samples"])), float(np.max(a["samples"]))
        lo = a.get("low", -np.inf if self.dist == "normal" else 0.0)
        return float(lo), float(a.get("high", np.inf))

    @property
    def is_fixed(self) -> bool:
        lo, hi = self.support
        return lo == hi

    def to_spec(self) -> dict[str, Any]:
        return {"dist": self.dist, **{k: (list(v) if k == "samples" else v) for k, v in self.args.items()}}


def _number(field: str, value: Any, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, value, "a number", source=source)
    # an integer too large for a float (TOML and JSON allow any size) is not finite either
    if not abs(value) <= sys.float_info.max or not np.isfinite(float(value)):
        raise ConfigError(field, value, "a finite number", source=source)
    return float(value)


def parse_prior(field: str, spec: Any, *, source: str | None = None) -> Prior:
    """Validate one ``[params]`` entry; every problem names the field, the value and what is allowed."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Prior("fixed", {"value": _number(field, spec, source)})
    if not isinstance(spec, Mapping):
        raise ConfigError(field, spec, "a number or a table such as { dist = \"uniform\", low = 0.5, high = 2 }",
                          source=source)
    dist = spec.get("dist")
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        raise ConfigError(f"{field}.dist", dist, f"one of {', '.join(DISTRIBUTIONS)}", source=source)
    needed = DISTRIBUTIONS[dist]
    allowed = set(needed) | set(OPTIONAL_FIELDS.get(dist, ())) | {"dist"}
    for key in spec:
        if key not in allowed:
            raise ConfigError(f"{field}.{key}", spec[key], f"a field of {dist} ({', '.join(sorted(allowed - {'dist'}))})",
                              source=source)
    for key in needed:
        if key not in spec:
            raise ConfigError(f"{field}.{key}", None, f"{dist} needs {', '.join(needed)}", source=source)
    if dist == "empirical":
        xs = spec["samples"]
        if not isinstance(xs, Sequence) or isinstance(xs, str) or len(xs) < 2:
            raise ConfigError(f"{field}.samples", xs, "a list of at least 2 numbers", source=source)
        return Prior(dist, {"samples": tuple(_number(f"{field}.samples[{i}]", x, source) for i, x in enumerate(xs))})
    args = {k: _number(f"{field}.{k}", spec[k], source) for k in spec if k != "dist"}
    if dist in ("uniform", "loguniform", "triangular") and args["low"] > args["high"]:
        raise ConfigError(f"{field}.low", args["low"], f"at most high ({args['high']:g})", source=source)
    if dist == "loguniform" and args["low"] <= 0:
        raise ConfigError(f"{field}.low", args["low"], "a positive number (loguniform takes logs)", source=source)
    if dist == "split_loguniform":
        if not args["low"] <= args["median"] <= args["high"]:
            raise ConfigError(f"{field}.median", args["median"], f"between low ({args['low']:g}) and high ({args['high']:g})",
                              source=source)
        if not (args["low"] > 0 or args["high"] < 0):
            raise ConfigError(f"{field}.low", args["low"], "low and high of one sign, not 0 (the spread is in log |x|)",
                              source=source)
    if dist == "triangular" and not args["low"] <= args["mode"] <= args["high"]:
        raise ConfigError(f"{field}.mode", args["mode"], f"between low ({args['low']:g}) and high ({args['high']:g})",
                          source=source)
    for scale in ("sd", "sigma"):
        if scale in args and args[scale] < 0:
            raise ConfigError(f"{field}.{scale}", args[scale], "a number >= 0", source=source)
    if "low" in args and "high" in args and dist in OPTIONAL_FIELDS and args["low"] >= args["high"]:
        raise ConfigError(f"{field}.low", args["low"], f"below high ({args['high']:g})", source=source)
    if dist == "lognormal" and args.get("low", 1.0) <= 0:
        raise ConfigError(f"{field}.low", args["low"], "a positive number (lognormal is positive)", source=source)
    return Prior(dist, args)

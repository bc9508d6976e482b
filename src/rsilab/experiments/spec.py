"""What every experiment declares, and the one template its config follows.

Owns ``ExperimentConfig``, the base of every experiment's config: pydantic, frozen, unknown keys
refused, strict types (no silent casts: ``1`` is not ``true``, ``"8"`` is not ``8``), and every
problem one ``ConfigError`` naming the field, the value and what is allowed (cross-field checks
raise ``ConfigError`` themselves from a ``model_validator``). Owns ``Experiment``, the one
declaration the CLI, sweeps and reports read: name, config class, profiles, run function, scale
knob, parameter count, CPUs per run, chart, the optional packages a run imports and the round
fields a table of its rounds leads with. The declarations themselves are in
``rsilab.experiments.registry``.

Imports pydantic and our errors; never torch: the run function, the parameter count and the
chart are named as ``"module:function"`` and imported only when used.
"""
from __future__ import annotations

import difflib
import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from rsilab.errors import ConfigError


def _as_tuple(value: Any) -> Any:
    # TOML and JSON give lists; a frozen config keeps tuples
    return tuple(value) if isinstance(value, list) else value


# ``Annotated[tuple[X, ...], LIST_AS_TUPLE]``: a tuple field that accepts a list
LIST_AS_TUPLE = BeforeValidator(_as_tuple)
Floats = Annotated[tuple[float, ...], LIST_AS_TUPLE]
Names = Annotated[tuple[str, ...], LIST_AS_TUPLE]


class ExperimentConfig(BaseModel):
    """The base of every experiment's config (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    seed: int = Field(0, ge=0, description="the run's seed: every random choice derives from it")

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON values (tuples as lists), as the store keeps it."""
        return self.model_dump(mode="json")


_KINDS = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
          "string_type": "a string", "tuple_type": "a list", "finite_number": "a finite number"}
_BOUND_ERRORS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")


def _range(model: type[ExperimentConfig], name: str) -> str:
    """A numeric field's whole allowed range in words, e.g. "a number in [0, 1)"."""
    info = model.model_fields[name]
    lo = hi = None
    for m in info.metadata:
        for attr, side in (("ge", "["), ("gt", "("), ("le", "]"), ("lt", ")")):
            if getattr(m, attr, None) is not None:
                if side in "[(":
                    lo = (side, getattr(m, attr))
                else:
                    hi = (getattr(m, attr), side)
    noun = "an integer" if info.annotation is int else "a number"
    if lo and hi:
        return f"{noun} in {lo[0]}{lo[1]:g}, {hi[0]:g}{hi[1]}"
    if lo:
        return f"{noun} {'of at least' if lo[0] == '[' else 'above'} {lo[1]:g}"
    return f"{noun} {'of at most' if hi[1] == ']' else 'below'} {hi[0]:g}"


def _allowed(model: type[ExperimentConfig], err: dict[str, Any]) -> str:
    """What a field would accept, in words, from one pydantic error."""
    kind, ctx, name = err["type"], err.get("ctx") or {}, str(err["loc"][0]) if err["loc"] else ""
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, list(model.model_fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"a field of the {model.__name__}{hint}: {', '.join(model.model_fields)}"
    if kind in _KINDS:
        return _KINDS[kind]
    if kind == "literal_error":
        return f"one of {ctx['expected'].replace(' or ', ', ')}".replace("'", "")
    if kind in _BOUND_ERRORS and len(err["loc"]) == 1 and name in model.model_fields:
        return _range(model, name)
    if kind in ("too_short", "too_long"):
        return f"a list of at least {ctx['min_length']} item(s)" if kind == "too_short" else \
            f"a list of at most {ctx['max_length']} item(s)"
    return " ".join(err["msg"].split())


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "config"


def validate(model: type[ExperimentConfig], values: Mapping[str, Any], *, source: str | None = None) -> Any:
    """``model(**values)``, every problem one ConfigError (the first one found)."""
    try:
        return model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        # the value as given (a list stays a list), not as a validator may have turned it
        value = values[loc[0]] if len(loc) == 1 and loc[0] in values else err.get("input")
        raise ConfigError(_where(loc), value, _allowed(model, err), source=source) from None
    except ConfigError as exc:  # a cross-field check
        raise ConfigError(exc.field, exc.value, exc.allowed, source=source) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML config file as a dict; an unreadable or invalid file is a ConfigError."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("--config", str(path), f"a readable TOML file ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--config", str(path), f"valid TOML ({exc})") from None


def load(ref: str) -> Any:
    """The object a ``"module:attribute"`` reference names (imported now)."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _one_cpu(cfg: Any) -> int:
    return 1


@dataclass(frozen=True)
class Experiment:
    """One experiment as the CLI, sweeps and reports see it."""

    name: str
    config: type[ExperimentConfig]
    profiles: Mapping[str, Mapping[str, Any]]   # profile -> fields over the config's defaults
    run: str                                    # "module:function": (config, store, *, resume_run, progress) -> run id
    chart: str                                  # "module:function": (rounds, path) -> path, a PNG
    about: str                                  # one line for --help
    scale_knob: str | None = None               # the config field that sets model size (sweeps across scale)
    parameters: str | None = None               # "module:function": config -> parameters (may import torch)
    cpus: Callable[[Any], int] = _one_cpu       # CPUs one run occupies (a sweep reserves them per cell)
    needs: tuple[str, ...] = field(default=())  # optional packages a run imports (rsilab.core.extras)
    columns: tuple[str, ...] = ("capability", "compute_flop", "seconds")  # what `experiment show` leads with

    def build(self, profile: str = "cpu", path: str | Path | None = None,
              overrides: Mapping[str, Any] | None = None, *, profile_field: str = "profile") -> Any:
        """The profile's values, then the TOML file's, then ``overrides``; validated. An unknown
        profile is a ConfigError naming ``profile_field`` (the CLI's ``--profile``)."""
        if profile not in self.profiles:
            raise ConfigError(profile_field, profile, f"one of {self.name}'s profiles: {', '.join(self.profiles)}")
        values = {**self.profiles[profile], **(read_toml(path) if path is not None else {}), **(overrides or {})}
        return validate(self.config, values, source=None if path is None else str(path))

    def require(self) -> None:
        """Raise the one-line MissingExtraError when a package a run imports is not installed."""
        from rsilab.core.extras import require

        for module in self.needs:
            require(module, f"experiment {self.name!r}")

    def run_function(self) -> Callable[..., int]:
        self.require()
        return load(self.run)

    def parameter_count(self, cfg: Any) -> float | None:
        return None if self.parameters is None else float(load(self.parameters)(cfg))

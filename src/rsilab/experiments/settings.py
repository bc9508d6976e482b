"""What the experiments share around their configs: reading a TOML config over a profile's
defaults with clear errors. (The progress display is ``rsilab.experiments.progress``.)
Imports no torch."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Mapping

from rsilab.errors import ConfigError


def read_toml(config_path: str | Path) -> dict[str, Any]:
    """A TOML config file as a dict; an unreadable or invalid file is a ConfigError."""
    try:
        return tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("--config", str(config_path), f"a readable TOML file ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--config", str(config_path), f"valid TOML ({exc})") from None


def build_config(model: type, profiles: Mapping[str, Mapping[str, Any]], profile: str,
                 config_path: str | Path | None) -> tuple[Any, str | None]:
    """A pydantic config: the profile's values, then the file's; (config, source of the file)."""
    from pydantic import ValidationError

    if profile not in profiles:
        raise ConfigError("profile", profile, f"one of {', '.join(profiles)}")
    values = dict(profiles[profile])
    source = None
    if config_path is not None:
        source = str(config_path)
        values.update(read_toml(config_path))
    try:
        return model(**values), source
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(field, err.get("input"), err["msg"], source=source) from None

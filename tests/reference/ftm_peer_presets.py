"""Record the compute-centric takeoff model's own figures for the takeoffspeeds.com presets.

Runs ``SimulateTakeOff`` from a checkout of github.com/epoch-research/ftm (``ftm/core/model.py``)
on the parameter sets committed in that checkout's ``website/src/js/presets.js`` and writes
``ftm_presets.json`` beside this file (see tests/reference/README.md). Nothing is fetched: the
peer's code is a path argument, and its spreadsheet (the source of its own defaults) is never
read. It runs in the peer's environment, not rsilab's:

    git clone https://github.com/epoch-research/ftm /tmp/ftm-peer
    python3 -m venv /tmp/ftm-venv
    /tmp/ftm-venv/bin/pip install "numpy<2" scipy matplotlib "pandas<3" pyyaml beautifulsoup4 openpyxl
    /tmp/ftm-venv/bin/python tests/reference/ftm_peer_presets.py /tmp/ftm-peer

Each preset runs twice on the peer's 0.1-year grid from 2022: to 2100 (the website's
playground and the peer's config.yml) and with ``dynamic_t_end=True`` (the peer's scenario
runner: it runs on until every metric is computable). The website turns the runtime/training
tradeoff off by setting ``runtime_training_tradeoff = 0`` (playground.js, run_simulation);
so does this script where a preset has ``runtime_training_tradeoff_enabled: false``.
"""
from __future__ import annotations

import json
import math
import platform
import re
import subprocess
import sys
from pathlib import Path

# rsilab preset name -> the variable in presets.js
PRESETS = {
    "ftm-best-guess": "best_guess_parameters",
    "ftm-aggressive": "aggressive_parameters",
    "ftm-conservative": "conservative_parameters",
    "ftm-short-timelines": "short_timelines_best_guess",
    "ftm-long-timelines": "long_timelines_best_guess",
    # the best guess with the tradeoff off: what the peer's Python runs by default
    "ftm-medium-timelines": "med_timelines_best_guess",
}
# Series kept once a year (every 10th step) for the trajectory checks.
SERIES = ("gwp", "frac_tasks_automated_goods", "frac_tasks_automated_rnd", "compute", "biggest_training_run",
          "hardware_performance", "software", "frac_compute_training")
T_START, T_END, T_STEP = 2022, 2100, 0.1


def number(x):
    x = float(x)
    return None if math.isnan(x) else x


def read_presets(peer: Path) -> dict[str, dict]:
    text = (peer / "website/src/js/presets.js").read_text()
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(r"^let (\w+) = (\{.*\});\s*$", text, re.M)}


def run(model_cls, params: dict, dynamic: bool) -> dict:
    """The metrics of one run, and (for the run to 2100) a few series once a year."""
    m = model_cls(**params, t_start=T_START, t_end=T_END, t_step=T_STEP, dynamic_t_end=dynamic)
    m.run_simulation()
    every = round(1 / T_STEP)
    out = {
        "n_steps": int(len(m.timesteps)),
        "t_end": float(m.t_end),
        "timeline_metrics": {k: number(v) for k, v in m.timeline_metrics.items()},
        "takeoff_metrics": {k: number(v) for k, v in m.takeoff_metrics.items()},
        "doubling_times": [number(v) for v in m.doubling_times],
    }
    if not dynamic:
        out["series_every_year"] = {"year": [float(t) for t in m.timesteps[::every]],
                                    **{k: [number(v) for v in getattr(m, k)[::every]] for k in SERIES}}
    return out


def main(peer: Path) -> None:
    sys.path.insert(0, str(peer))
    import numpy
    from ftm.core.model import SimulateTakeOff

    presets = read_presets(peer)
    commit = subprocess.run(["git", "-C", str(peer), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    out = {
        "peer": "github.com/epoch-research/ftm",
        "commit": commit,
        "model": "ftm/core/model.py SimulateTakeOff",
        "parameters_from": "website/src/js/presets.js",
        "command": "python tests/reference/ftm_peer_presets.py PEER_CHECKOUT",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "grid": {"t_start": T_START, "t_end": T_END, "t_step": T_STEP},
        "seed": None,
        "seed_note": "the deterministic model draws nothing at random",
        "presets": {},
    }
    for name, variable in PRESETS.items():
        params = dict(presets[variable])
        enabled = params.pop("runtime_training_tradeoff_enabled")
        params.pop("dynamic_t_end", None)
        if not enabled:
            params["runtime_training_tradeoff"] = 0.0
        out["presets"][name] = {
            "presets_js_variable": variable,
            "runtime_training_tradeoff_enabled": enabled,
            "params": params,
            "to_2100": run(SimulateTakeOff, params, dynamic=False),
            "dynamic_t_end": run(SimulateTakeOff, params, dynamic=True),
        }
        print(name, out["presets"][name]["to_2100"]["timeline_metrics"], file=sys.stderr)
    target = Path(__file__).with_name("ftm_presets.json")
    text = json.dumps(out, indent=1)
    # one line per list of numbers
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda g: "[" + re.sub(r",\s+", ", ", g.group(1)) + "]", text)
    target.write_text(text + "\n")
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python ftm_peer_presets.py PATH_TO_EPOCH_FTM_CHECKOUT")
    main(Path(sys.argv[1]).resolve())

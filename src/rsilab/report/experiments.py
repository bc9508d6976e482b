"""Charts of experiment runs (``rsilab experiment show --plot``): capability per round.

Each reads only the round records it is given (never the store, never torch), writes one PNG and
returns its path. An experiment names its chart in its declaration
(``rsilab.experiments.registry``); ``capability_chart`` draws any run's rounds, such as a run
logged with ``rsilab.track``, which has no chart of its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rsilab.report.figure import pyplot


def capability_chart(rounds: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Capability per round, the one measure every run has."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["round"] for r in rounds], [r["capability"] for r in rounds], "o-")
    ax.set_xlabel("round")
    ax.set_ylabel("capability")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def learned_optimizer_chart(rounds: list[dict[str, Any]], path: Path) -> Path:
    """Capability per round: the self-trained LO, the LO meta-trained by Adam, hand-tuned Adam."""
    plt = pyplot()

    x = [r["round"] for r in rounds]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [r["capability"] for r in rounds], "o-", label="self-trained LO")
    ax.plot(x, [r["capability_adam_meta"] for r in rounds], "s--", label="LO meta-trained by Adam")
    ax.axhline(rounds[0]["capability_adam_inner"], color="grey", ls=":",
               label=f"hand-tuned Adam (lr {rounds[0]['adam_inner_lr']:g})")
    ax.set_xlabel("round")
    ax.set_ylabel("capability = exp(-meta-loss) on held-out problems")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def self_improver_chart(rounds: list[dict[str, Any]], path: Path) -> Path:
    """Meta-utility per round, self-improving arm against the control, on fresh and held-out tasks."""
    plt = pyplot()

    x = [r["round"] for r in rounds]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [r["capability"] for r in rounds], "o-", label="self-improving improver")
    ax.plot(x, [r["capability_control"] for r in rounds], "s--", label="seed improver (control)")
    ax.plot(x, [r["held_out"] for r in rounds], "^:", label="self: held-out tasks")
    ax.plot(x, [r["held_out_control"] for r in rounds], "v:", label="control: held-out tasks")
    ax.set_xlabel("round")
    ax.set_ylabel("meta-utility (mean downstream utility)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

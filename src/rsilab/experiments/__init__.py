"""Self-improvement experiments: real, bounded loops whose returns are recorded round by round.

The only package that imports torch (in the experiment modules themselves, never here).
Each experiment module exposes ``run_experiment(config_path, profile, store, resume_run,
progress) -> run_id``; its chart lives in ``rsilab.report`` (``report.experiments.ROUND_CHARTS``; an
experiment module may still offer ``plot_rounds(rounds, path)``); it is registered by name
in ``EXPERIMENTS``. Every round goes to the store through ``rsilab.experiments.record``.
"""
EXPERIMENTS: dict[str, str] = {
    "self-training": "rsilab.experiments.self_training",
    "learned-optimizer": "rsilab.experiments.learned_optimizer",
    "self-improver": "rsilab.experiments.self_improver",
}

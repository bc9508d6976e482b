"""Self-improvement experiments: real, bounded loops whose returns are recorded round by round.

The only package that imports torch (in the experiment modules themselves, never here). Each
experiment is declared once in ``rsilab.experiments.registry`` (``spec.Experiment``: its config
class and profiles, its run function ``run(config, store, *, resume_run, progress) -> run_id``,
its scale knob, parameter count, CPUs and chart); its configs follow one template
(``spec.ExperimentConfig``). Every round goes to the store through ``rsilab.experiments.record``;
``track`` is the API users' own loops log rounds through.
"""

"""The compute-centric takeoff model as an outcome model: what a scenario names as ``ftm``.

Each sample's economy is stepped from 2022 on the model's 0.1-year grid to the horizon
(``economy``), and its own metrics are read off (``metrics``): timeline_metrics (calendar
years; NaN where the event is not within the horizon), takeoff_metrics and GWP doubling times
(years; NaN where undefined within the horizon). Series are read at the step nearest each
output grid time (0 = 2022). Unlike the authors' code, a run always covers its horizon (no
run-until-the-metrics-are-known end) and stops a sample, not the whole run, where its
arithmetic fails. ``evaluate`` steps with numpy; a compiled loop registered in
``rsilab.simulate.kernels`` may take the same steps from the same ``setup``, and ``outcomes``
reads either. numpy only; imports the model base, errors and the model's modules.
"""
from __future__ import annotations

import numpy as np

from rsilab.dynamics.base import Metric, OutcomeModel, Outcomes, Params, Series
from rsilab.dynamics.ftm.economy import STEP_SERIES, Run, Setup, finish, prepare, step
from rsilab.dynamics.ftm.metrics import N_DOUBLINGS, TAKEOFF_METRICS, TIMELINE_METRICS, all_metrics
from rsilab.dynamics.ftm.params import PARAMS
from rsilab.dynamics.ftm.requirements import N_LABOUR_TASKS, task_requirements
from rsilab.errors import ConfigError

T_START = 2022.0
T_STEP = 0.1
# the authors' Monte Carlo keeps only draws where the 2022 training run could automate no goods
# task and at most 5% of R&D tasks (mc_analysis: max_frac_automatable_tasks_goods = 0, _rnd = 0.05)
MAX_AUTOMATABLE_AT_START = (0.0, 0.05)

_TIMELINE_MEANING = {
    "rampup_start": "the wake-up: the share of goods tasks automated reaches rampup_trigger (its last crossing)",
    "automation_gns_20%": "20% of goods-and-services tasks automated",
    "automation_gns_100%": "every goods-and-services task automated",
    "automation_rnd_20%": "20% of R&D tasks automated",
    "automation_rnd_100%": "every R&D task automated",
    "sub_agi_year": "AI that could automate 20% of goods tasks (without the runtime/training tradeoff) is trained",
    "agi_year": "AI that could automate every goods task (without the tradeoff) is trained",
}
_TAKEOFF_MEANING = {
    "full_automation_gns": "years from more than 20% to 100% of goods tasks automated",
    "full_automation_rnd": "years from more than 20% to 100% of R&D tasks automated",
    "sub_agi_to_agi": "years from sub_agi_year to agi_year",
    "cog_output_multiplier": "years from AI more than doubling the cognitive output of hardware R&D to multiplying it by 10",
    "gwp_growth": "years from annual GWP growth above 5% to above 20%",
}
DOUBLING_NAMES = tuple(f"doubling_{i + 1}" for i in range(N_DOUBLINGS))
# read off the output grid: (name, the economy's series, unit, meaning, log scale)
SERIES = (
    ("frac_tasks_automated_goods", "frac_tasks_automated_goods", "fraction", "share of goods-and-services tasks automated", False),
    ("frac_tasks_automated_rnd", "frac_tasks_automated_rnd", "fraction", "share of R&D tasks automated", False),
    ("gwp", "gwp", "$/year", "gross world product", True),
    ("gwp_growth", None, "1/year", "annual GWP growth, ln(GWP / GWP a year before)", False),
    ("compute", "compute", "2022-FLOP/year", "effective compute: hardware times software efficiency", True),
    ("biggest_training_run", "biggest_training_run", "2022-FLOP", "the largest training run", True),
    ("hardware_performance", "hardware_performance", "FLOP/year/$", "hardware performance", True),
    ("software", "software", "x 2022", "software efficiency", True),
)

# the economy's series the declared ones read beyond those every run records
CHART_SOURCES = tuple(source for _, source, *_ in SERIES if source in STEP_SERIES)


class Ftm(OutcomeModel):
    name = "ftm"
    summary = ("Davidson's compute-centric framework (Epoch's FTM): a task-based CES economy with goods and R&D "
               "tasks, hardware and software R&D, a wake-up ramp-up and the optimal allocation of labour and "
               "compute at every 0.1-year step")
    regimes = ("none: the model steps a whole economy (GWP, compute, automation) rather than one capability path, "
               "and reports its own timeline and takeoff metrics instead")
    params = PARAMS
    returns_param = "software_returns"
    chunk_samples = 512
    time_origin = T_START
    metrics = (
        *(Metric(m, "timeline_metrics", "year", "calendar year", _TIMELINE_MEANING[m], by_horizon=True)
          for m in TIMELINE_METRICS),
        *(Metric(m, "takeoff_metrics", "years", "years", _TAKEOFF_MEANING[m]) for m in TAKEOFF_METRICS),
        Metric(DOUBLING_NAMES[0], "gwp_doubling_times", "years", "years", "GWP doubling time at the first step"),
        *(Metric(name, "gwp_doubling_times", "years", "years",
                 f"years of the {i + 1}{'st' if i == 0 else 'nd' if i == 1 else 'rd' if i == 2 else 'th'} "
                 f"doubling of GWP after the wake-up")
          for i, name in enumerate(DOUBLING_NAMES[1:])),
    )
    series = tuple(Series(name, unit, meaning, log_scale=log) for name, _, unit, meaning, log in SERIES)

    def check_params(self, p: Params) -> None:
        def over(value: np.ndarray, limit, field: str, allowed: str) -> None:
            bad = np.asarray(value) >= limit
            if bad.any():
                raise ConfigError(field, float(np.asarray(value)[bad].flat[0]), allowed)

        over(p["frac_labour_hardware_rnd_ceiling"] + p["frac_labour_software_rnd_ceiling"], 1.0,
             "params.frac_labour_hardware_rnd_ceiling + frac_labour_software_rnd_ceiling", "a sum below 1")
        over(p["frac_compute_hardware_rnd_ceiling"] + p["frac_compute_software_rnd_ceiling"]
             + p["frac_compute_training_ceiling"], 1.0,
             "params.frac_compute_hardware_rnd_ceiling + frac_compute_software_rnd_ceiling + frac_compute_training_ceiling",
             "a sum below 1")
        compute0 = p["initial_hardware_production"] * p["ratio_hardware_to_initial_hardware_production"]
        over(p["initial_biggest_training_run"] / compute0, 1.0 + 1e-12, "params.initial_biggest_training_run",
             "at most the initial compute, initial_hardware_production x ratio_hardware_to_initial_hardware_production")
        over(p["initial_buyable_hardware_performance"] / p["hardware_performance_ceiling"], 1.0,
             "params.hardware_performance_ceiling", "above initial_buyable_hardware_performance")
        over(p["initial_frac_capital_hardware_rnd"], 1.0, "params.initial_frac_capital_hardware_rnd", "below 1")
        over(p["initial_frac_labour_hardware_rnd"] + p["initial_frac_labour_software_rnd"], 1.0,
             "params.initial_frac_labour_hardware_rnd + initial_frac_labour_software_rnd", "a sum below 1")
        over(p["initial_compute_share_goods"], 1.0, "params.initial_compute_share_goods", "below 1")

    admissible_means = ("no goods task and at most 5% of R&D tasks automatable by the 2022 training run "
                        "(the condition of the authors' Monte Carlo)")

    def admissible(self, p: Params) -> np.ndarray:
        need = task_requirements(p)["training"]                     # (2, n, 101), task 0 first
        tradeoff_on = np.asarray(p["runtime_training_tradeoff"]) > 0
        reach = p["initial_biggest_training_run"] * np.where(tradeoff_on, p["runtime_training_max_tradeoff"], 1.0)
        automatable = (need[:, :, 1:] < reach[None, :, None]).sum(axis=2) / N_LABOUR_TASKS
        return (automatable[0] <= MAX_AUTOMATABLE_AT_START[0]) & (automatable[1] <= MAX_AUTOMATABLE_AT_START[1])

    def setup(self, p: Params, horizon_years: float, series: tuple[str, ...] = CHART_SOURCES) -> Setup:
        """What stepping every sample from 2022 to 2022 + ``horizon_years`` (inclusive) reads."""
        return prepare(p, t_start=T_START, t_end=T_START + horizon_years + T_STEP / 2, t_step=T_STEP, series=series)

    def run(self, p: Params, horizon_years: float, series: tuple[str, ...] = ()) -> Run:
        """The economy of every sample from 2022 to 2022 + ``horizon_years`` inclusive (numpy)."""
        setup = self.setup(p, horizon_years, series)
        return finish(setup, step(setup))

    def evaluate(self, p: Params, t_grid: np.ndarray, keep_rows: int, *, stepper=step) -> Outcomes:
        """``stepper``: what takes the steps, ``economy.step`` or a compiled kernel's equivalent."""
        # a chunk whose series are not kept records only what the metrics read
        setup = self.setup(p, float(t_grid[-1]), CHART_SOURCES if keep_rows > 0 else ())
        return self.outcomes(finish(setup, stepper(setup)), p, t_grid, keep_rows)

    def outcomes(self, run: Run, p: Params, t_grid: np.ndarray, keep_rows: int) -> Outcomes:
        """The declared metrics and series of a run (stepped here or by a compiled kernel)."""
        found = all_metrics(run.series, run.years, run.t_step, np.asarray(p["rampup_trigger"], dtype=float))
        metrics = {m: found[m] for m in TIMELINE_METRICS + TAKEOFF_METRICS}
        metrics.update({name: found["doubling_times"][:, i] for i, name in enumerate(DOUBLING_NAMES)})
        at = np.minimum(np.rint(np.asarray(t_grid) / run.t_step).astype(np.int64), run.years.size - 1)
        k = keep_rows
        rows = {}
        if k <= 0:
            return Outcomes(metrics, {name: np.empty((0, len(t_grid))) for name, *_ in SERIES})
        for name, source, *_ in SERIES:
            if source is None:       # annual GWP growth: undefined in the first year
                gwp = run.series["gwp"]
                delta = int(round(1 / run.t_step))
                growth = np.full_like(gwp, np.nan)
                with np.errstate(divide="ignore", invalid="ignore"):
                    growth[delta:] = np.log(gwp[delta:] / gwp[:-delta])
                rows[name] = growth[at, :k].T
            else:
                rows[name] = run.series[source][at, :k].T
        return Outcomes(metrics, rows)

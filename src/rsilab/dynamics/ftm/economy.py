"""The compute-centric economy stepped in time, for a batch of parameter sets at once.

Each step (0.1 year by default) does what the model's authors' ``SimulateTakeOff`` does, in
their order:
1. R&D: hardware performance and software efficiency grow with cumulative R&D input,
   (new cumulative / old cumulative)^returns, damped as they near their ceilings;
2. investment: the shares of capital, labour and compute in hardware and software R&D, of GWP
   spent on compute and of compute in the largest training run grow at their pre-wake-up
   rates, or at their ramp-up rates once the share of goods tasks automated has passed the
   ``rampup_trigger`` (the wake-up), up to their ceilings; before the wake-up the training
   share stops growing once the largest run costs ``money_cap_training_before_wakeup``;
   compute is bought with hardware from ``hardware_delay`` years ago; capital accumulates 20%
   of GWP; labour and TFP grow exponentially;
3. automation: a task is automatable once the largest training run (times the max tradeoff)
   exceeds its training requirement; with the tradeoff, each task's runtime need scales as
   (training requirement / largest run)^tradeoff, and never below 1 FLOP;
4. production: goods (capital with cognitive work), hardware R&D (the same) and software R&D
   (experiment compute with cognitive work) each allocate their labour and compute over tasks
   optimally (``allocation``), and their CES outputs give GWP and next step's R&D inputs.
The CES task weights are set at the first step to match the initial factor shares, and
outputs are scaled so that the first step reproduces the initial GWP and R&D spending.

All samples step together; the four allocation problems of a step (goods, hardware R&D,
software R&D, and hardware R&D without automation, whose ratio to the real one is the
cognitive output multiplier) are solved in one call. A sample whose arithmetic fails (NaN)
carries NaN from there on; ``stop_index`` says where. numpy only; imports the model's modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from rsilab.dynamics.ftm.allocation import Allocator, TaskCosts
from rsilab.dynamics.ftm.requirements import N_LABOUR_TASKS, task_requirements

INVESTMENT_RATE = 0.2
# hardware and software R&D spending in 2020 as fractions of GWP: only a scale (the dynamics
# do not depend on it), kept so that R&D inputs read in dollars
FRAC_GWP_HARDWARE_RND = 0.2e-2
FRAC_GWP_SOFTWARE_RND = 0.02e-2

# the shares that grow each step, in this order (rows of the stacked fraction array)
FRACTIONS = ("frac_gwp_compute", "frac_capital_hardware_rnd", "frac_labour_hardware_rnd",
             "frac_compute_hardware_rnd", "frac_labour_software_rnd", "frac_compute_software_rnd",
             "frac_compute_training")
_TRAINING = FRACTIONS.index("frac_compute_training")
_CAPITAL_HW = FRACTIONS.index("frac_capital_hardware_rnd")
_PTYPE = np.array([0, 1, 1, 1])        # requirement type per problem: goods, then R&D three times

# Series every run records (the metrics read them, and they cost nothing extra) ...
RECORDED = ("gwp", "frac_tasks_automated_goods", "frac_tasks_automated_rnd", "frac_automatable_tasks_goods",
            "frac_automatable_tasks_rnd", "frac_automatable_tasks_goods_no_tradeoff", "automation_multiplier_rnd",
            "rnd_input_hardware", "rnd_input_software")
# ... and those kept only when asked for by name
STEP_SERIES = ("compute", "biggest_training_run", "hardware_performance", "software", "compute_investment",
               "frac_compute_training", "frac_gwp_compute", "hardware", "capital", "labour")
SERIES = RECORDED + STEP_SERIES


@dataclass
class Run:
    """A batch's time series, (steps, n) each, on the grid ``years``."""

    years: np.ndarray
    t_step: float
    series: dict[str, np.ndarray]
    stop_index: np.ndarray          # (n,) first step with a non-finite GWP (steps if none)
    params: dict[str, np.ndarray] = field(default_factory=dict)


def n_steps(t_start: float, t_end: float, t_step: float) -> int:
    """Steps on the grid t_start + i t_step < t_end, counted as the authors' loop counts them."""
    i = max(int((t_end - t_start) / t_step) - 2, 0)
    while t_start + i * t_step < t_end:
        i += 1
    return i


def _odds_to_probs(odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, 1 - p) for odds p / (1 - p), stable at both ends as the authors compute it."""
    with np.errstate(divide="ignore", over="ignore"):
        p = np.where(odds < 1e-10, odds, np.where(odds > 1e10, 1.0 - 1.0 / odds, 1.0 / (1.0 + 1.0 / odds)))
        q = np.where(odds < 1e-10, 1.0 - odds, np.where(odds > 1e10, 1.0 / odds, 1.0 - 1.0 / (1.0 + 1.0 / odds)))
    return p, q


def _task_weights(capital_like, labour, compute, rho_in, rho_out, capital_to_cognitive, compute_to_labour):
    """CES weights (w0, w1, outer_capital, outer_cognitive) that give the initial factor shares
    when all labour tasks are done by people and compute does only task 0."""
    per_task = labour / N_LABOUR_TASKS
    labour_share = N_LABOUR_TASKS * per_task ** rho_in
    compute_share = compute ** rho_in
    w0, w1 = _odds_to_probs(compute_to_labour * labour_share / compute_share)
    cognitive = ((w0 * compute ** rho_in + N_LABOUR_TASKS * w1 * per_task ** rho_in)
                 / (w0 + N_LABOUR_TASKS * w1)) ** (1.0 / rho_in)
    outer_x, outer_c = _odds_to_probs(capital_to_cognitive * cognitive ** rho_out / capital_like ** rho_out)
    return w0, w1, outer_x, outer_c


@dataclass
class Setup:
    """What a batch's steps read: per-sample constants ((n,) arrays, or stacked rows of them)
    and the first state, computed once before stepping; ``step`` and the compiled kernel both
    step from it."""

    n: int
    steps: int
    t_start: float
    t_step: float
    extra: tuple[str, ...]          # STEP_SERIES to keep
    f: dict[str, np.ndarray]        # the parameters
    costs: TaskCosts
    training3: np.ndarray           # (3, n, 102): goods and R&D with the tradeoff, goods without; inf last
    stretch3: np.ndarray            # (3, n, 1): the max tradeoff for the first two, 1 for the third
    gamma: np.ndarray               # the runtime/training tradeoff (0: off)
    pen: np.ndarray
    delay: np.ndarray               # hardware delay in steps (integers)
    rho4: np.ndarray                # (4, n) task substitution of the four problems
    rho_out4: np.ndarray            # (4, n) capital (experiments) against cognitive work
    ceilings: np.ndarray            # (7, n) of FRACTIONS
    grow: np.ndarray                # (7, n) growth factor per step before the wake-up
    grow_rampup: np.ndarray         # (7, n) after it
    returns: np.ndarray             # (2, n) hardware, software (over the parallelisation penalty)
    log_ceiling: np.ndarray         # (2, n)
    ceiling: np.ndarray             # (2, n)
    growth_labour_tfp: np.ndarray   # (2, n) per step
    decay: np.ndarray               # compute kept per step
    experiments: np.ndarray
    money_cap: np.ndarray
    trigger: np.ndarray
    capital_to_cognitive: np.ndarray  # (4, n) initial share ratios of the four problems
    compute_to_labour: np.ndarray     # (4, n)
    gwp0: np.ndarray
    rnd_input0: np.ndarray          # (2, n)
    cumulative0: np.ndarray         # (2, n)
    buyable0: np.ndarray
    labour_tfp0: np.ndarray         # (2, n)
    capital0: np.ndarray
    hardware0: np.ndarray
    compute_investment0: np.ndarray
    money0: np.ndarray
    frac0: np.ndarray               # (7, n)


@dataclass
class Steps:
    """What the steps record, (steps, ...) each: the four problems' outputs (GWP, hardware and
    software R&D input, hardware R&D without automation), tasks automated (goods, R&D), tasks
    automatable (goods, R&D, goods without the tradeoff), hardware performance, and the
    ``extra`` series by name."""

    outputs: np.ndarray             # (steps, 4, n)
    automated: np.ndarray           # (steps, 2, n)
    automatable: np.ndarray         # (steps, 3, n)
    hw_perf: np.ndarray             # (steps, n)
    extras: dict[str, np.ndarray]   # (steps, n) each


def prepare(p: Mapping[str, np.ndarray], *, t_start: float = 2022.0, t_end: float = 2100.0, t_step: float = 0.1,
            series: tuple[str, ...] = ()) -> Setup:
    """The constants and first state of every sample of ``p`` (each parameter an (n,) array),
    to step from ``t_start`` while the year is below ``t_end``, keeping the named ``series``."""
    f = {k: np.asarray(v, dtype=float) for k, v in p.items()}
    n = f["initial_gwp"].shape[0]
    dt = t_step
    unknown = set(series) - set(SERIES)
    if unknown:
        raise ValueError(f"unknown series {sorted(unknown)}; known: {', '.join(SERIES)}")
    pen = f["rnd_parallelization_penalty"]
    tradeoff_on = f["runtime_training_tradeoff"] > 0
    gamma = np.where(tradeoff_on, f["runtime_training_tradeoff"], 0.0)
    max_tradeoff = np.where(tradeoff_on, f["runtime_training_max_tradeoff"], 1.0)
    req = task_requirements(f)
    rho_goods, rho_rnd = f["labour_substitution_goods"], f["labour_substitution_rnd"]
    # ln eta at s = 1: eta = min(1, s / (runtime training^gamma)), s = largest run^gamma
    costs = TaskCosts(-(req["ln_runtime"] + gamma[None, :, None] * req["ln_training"]),
                      1.0 / (1.0 - np.stack([rho_goods, rho_rnd])))
    gwp0 = f["initial_gwp"]
    rnd_input0 = np.stack([gwp0 * FRAC_GWP_HARDWARE_RND, gwp0 * FRAC_GWP_SOFTWARE_RND])
    ratio_cum = np.stack([f["ratio_initial_to_cumulative_input_hardware_rnd"],
                          f["ratio_initial_to_cumulative_input_software_rnd"]])
    buyable0 = f["initial_buyable_hardware_performance"]
    hardware0 = f["initial_hardware_production"] * f["ratio_hardware_to_initial_hardware_production"]
    compute_investment0 = f["initial_hardware_production"] * dt / buyable0
    cog_goods = f["initial_cognitive_share_goods"]
    cog_hw = f["initial_cognitive_share_hardware_rnd"]
    cog_sw = 1.0 - f["initial_experiment_share_software_rnd"]
    compute_goods = f["initial_compute_share_goods"] * cog_goods
    compute_hw = f["initial_compute_share_rnd"] * cog_hw
    compute_sw = f["initial_compute_share_rnd"] * cog_sw
    return Setup(
        n=n, steps=n_steps(t_start, t_end, t_step), t_start=t_start, t_step=t_step,
        extra=tuple(name for name in series if name in STEP_SERIES), f=f, costs=costs,
        # sorted, so the count below a threshold is the first index at or above it (the
        # infinite last column makes one always exist)
        training3=np.concatenate([req["training"][[0, 1, 0]], np.full((3, n, 1), np.inf)], axis=2),
        stretch3=np.stack([max_tradeoff, max_tradeoff, np.ones(n)])[:, :, None],
        gamma=gamma, pen=pen, delay=np.rint(f["hardware_delay"] / dt).astype(np.int64),
        rho4=np.stack([rho_goods, rho_rnd, rho_rnd, rho_rnd]),
        rho_out4=np.stack([f["capital_substitution_goods"], f["capital_substitution_rnd"] * pen,
                           f["research_experiments_substitution_software"], f["capital_substitution_rnd"] * pen]),
        ceilings=np.stack([f[name + "_ceiling"] for name in FRACTIONS]),
        grow=np.exp(dt * np.stack([f[name + "_growth"] for name in FRACTIONS])),
        grow_rampup=np.exp(dt * np.stack([f[name + "_growth_rampup"] for name in FRACTIONS])),
        returns=np.stack([f["hardware_returns"], f["software_returns"]]) / pen,
        log_ceiling=np.log10(np.stack([f["hardware_performance_ceiling"], f["software_ceiling"]])),
        ceiling=np.stack([f["hardware_performance_ceiling"], f["software_ceiling"]]),
        growth_labour_tfp=np.exp(np.stack([f["labour_growth"], f["tfp_growth"]]) * dt),
        decay=(1.0 - f["compute_depreciation"]) ** dt,
        experiments=f["compute_software_rnd_experiments_efficiency"],
        money_cap=f["money_cap_training_before_wakeup"], trigger=f["rampup_trigger"],
        capital_to_cognitive=np.stack([(1 - cog_goods) / cog_goods, (1 - cog_hw) / cog_hw,
                                       f["initial_experiment_share_software_rnd"] / cog_sw, (1 - cog_hw) / cog_hw]),
        compute_to_labour=np.stack([compute_goods / (cog_goods - compute_goods), compute_hw / (cog_hw - compute_hw),
                                    compute_sw / (cog_sw - compute_sw), compute_hw / (cog_hw - compute_hw)]),
        gwp0=gwp0, rnd_input0=rnd_input0, cumulative0=rnd_input0 ** pen / ratio_cum / pen, buyable0=buyable0,
        labour_tfp0=np.stack([f["initial_population"], np.ones(n)]),
        capital0=gwp0 * INVESTMENT_RATE / np.expm1(f["initial_capital_growth"]),
        hardware0=hardware0, compute_investment0=compute_investment0,
        money0=f["initial_biggest_training_run"] / buyable0,
        frac0=np.stack([compute_investment0 / gwp0 / dt, f["initial_frac_capital_hardware_rnd"],
                        f["initial_frac_labour_hardware_rnd"], f["initial_frac_compute_hardware_rnd"],
                        f["initial_frac_labour_software_rnd"], f["initial_frac_compute_software_rnd"],
                        f["initial_biggest_training_run"] / hardware0]),
    )


def simulate(p: Mapping[str, np.ndarray], *, t_start: float = 2022.0, t_end: float = 2100.0, t_step: float = 0.1,
             series: tuple[str, ...] = ()) -> Run:
    """Step every sample of ``p`` (each parameter an (n,) array) from ``t_start`` while the year
    is below ``t_end``; record ``RECORDED`` and the named ``series`` (from ``STEP_SERIES``)."""
    setup = prepare(p, t_start=t_start, t_end=t_end, t_step=t_step, series=series)
    return finish(setup, step(setup))


def step(s: Setup) -> Steps:
    """Every step of every sample of ``s``, all samples at once."""
    n, steps, dt = s.n, s.steps, s.t_step
    extras = {name: np.full((steps, n), np.nan) for name in s.extra}
    outputs = np.full((steps, 4, n), np.nan)
    automated = np.zeros((steps, 2, n))
    automatable_at = np.zeros((steps, 3, n), dtype=np.int64)
    hw_perf = np.zeros((steps, n))
    pen, gamma, delay, rho4, rho_out4 = s.pen, s.gamma, s.delay, s.rho4, s.rho_out4
    inv_rho_out4 = 1.0 / rho_out4
    ceilings, grow, grow_rampup, returns = s.ceilings, s.grow, s.grow_rampup, s.returns
    log_ceiling, ceiling, growth_labour_tfp, decay = s.log_ceiling, s.ceiling, s.growth_labour_tfp, s.decay
    training3, stretch3, experiments, money_cap, trigger = s.training3, s.stretch3, s.experiments, s.money_cap, s.trigger
    cols = np.arange(n)
    saving = INVESTMENT_RATE * dt
    late = int(delay.max(initial=0))             # from this step on, every sample buys delayed hardware
    capital4 = np.empty((4, n))
    labour4 = np.empty((4, n))
    compute4 = np.empty((4, n))
    n_auto4 = np.ones((4, n), dtype=np.int64)    # hardware R&D without automation: task 0 only
    gwp0, rnd_input0, buyable0 = s.gwp0, s.rnd_input0, s.buyable0
    cumulative = s.cumulative0
    perf = np.stack([np.zeros(n), np.ones(n)])       # hardware performance (set at step 1), software
    inv_span = None                                  # 1 / (log10 ceiling - log10 starting performance)
    labour_tfp, capital, hardware = s.labour_tfp0, s.capital0, s.hardware0
    compute_investment, compute, money_training, frac = s.compute_investment0, s.hardware0, s.money0, s.frac0
    rampup = np.zeros(n, dtype=bool)
    allocator = None
    scale = None
    gwp = gwp0
    rnd_input = rnd_input0
    automated_goods = np.ones(n)

    with np.errstate(all="ignore"):
        for t in range(steps):
            if t > 0:
                # 1. R&D
                new_cum = cumulative + rnd_input ** pen * dt
                growth = new_cum / cumulative
                if t == 1:
                    first = np.minimum(buyable0 * growth[0] ** returns[0], ceiling[0])
                    perf[0] = buyable0 * (first / buyable0) ** delay
                    hw_perf[0] = perf[0]
                    inv_span = 1.0 / (log_ceiling - np.log10(perf))
                damp = (log_ceiling - np.log10(perf)) * inv_span
                perf = np.minimum(perf * growth ** (returns * damp), ceiling)
                cumulative = new_cum
                hw_perf[t] = perf[0]
                # 2. investment
                capped = (money_training > money_cap) > rampup
                rampup = (automated_goods - 1) / N_LABOUR_TASKS >= trigger
                training_before = frac[_TRAINING]
                frac = np.minimum(frac * np.where(rampup, grow_rampup, grow), ceilings)
                frac[_TRAINING] = np.where(capped, training_before, frac[_TRAINING])
                compute_investment = gwp * frac[0] * dt
                if t >= late:
                    buyable = hw_perf[t - delay, cols]
                else:
                    back = t - delay
                    buyable = np.where(back >= 0, hw_perf[np.maximum(back, 0), cols],
                                       hw_perf[0] * (hw_perf[1] / hw_perf[0]) ** back.astype(float))
                hardware = hardware * decay + compute_investment * buyable
                compute = hardware * perf[1]
                capital = capital + gwp * saving
                labour_tfp = labour_tfp * growth_labour_tfp
                money_training = compute * frac[_TRAINING] / (perf[1] * buyable)

            # 3. automation
            biggest = compute * frac[_TRAINING]
            automatable = (training3 >= stretch3 * biggest[:, None]).argmax(axis=2)
            n_auto4[:2] = automatable[:2]
            n_auto4[2] = automatable[1]

            # 4. production
            labour = labour_tfp[0]
            labour4[0] = labour * (1.0 - frac[2] - frac[4])
            labour4[1] = labour4[3] = labour * frac[2]
            labour4[2] = labour * frac[4]
            compute4[0] = compute * (1.0 - frac[3] - frac[5] - frac[_TRAINING])
            compute4[1] = compute4[3] = compute * frac[3]
            compute4[2] = compute * frac[5]
            capital4[0] = capital * (1.0 - frac[_CAPITAL_HW])
            capital4[1] = capital4[3] = capital * frac[_CAPITAL_HW]
            capital4[2] = hardware ** experiments
            if allocator is None:
                w0, w1, outer_x, outer_c = _task_weights(capital4, labour4, compute4, rho4, rho_out4,
                                                         s.capital_to_cognitive, s.compute_to_labour)
                allocator = Allocator(s.costs, _PTYPE, rho4, w0, w1)
                outer_x, outer_c = outer_x / (outer_x + outer_c), outer_c / (outer_x + outer_c)
            cognitive, n_automated = allocator.solve(gamma * np.log(biggest), labour4, compute4, n_auto4)
            output = labour_tfp[1] * (outer_x * capital4 ** rho_out4 + outer_c * cognitive ** rho_out4) ** inv_rho_out4
            if scale is None:
                scale = np.stack([gwp0, rnd_input0[0], rnd_input0[1]]) / output[:3]
                # without automation on the hardware R&D scale: their ratio is the multiplier
                scale = np.concatenate([scale, scale[1:2]])
            output *= scale
            gwp = output[0]
            rnd_input = output[1:3]
            automated_goods = n_automated[0]
            outputs[t] = output
            automated[t] = n_automated[:2]
            automatable_at[t] = automatable
            if extras:
                row = {"compute": compute, "biggest_training_run": biggest, "hardware_performance": perf[0],
                       "software": perf[1], "compute_investment": compute_investment,
                       "frac_compute_training": frac[_TRAINING], "frac_gwp_compute": frac[0], "hardware": hardware,
                       "capital": capital, "labour": labour}
                for name in extras:
                    extras[name][t] = row[name]
    return Steps(outputs=outputs, automated=automated, automatable=automatable_at, hw_perf=hw_perf, extras=extras)


def finish(s: Setup, st: Steps) -> Run:
    """The series a batch's steps give (``RECORDED`` and the kept ``extra``), NaN from the first
    step where a sample's GWP is not finite."""
    steps = s.steps
    outputs, automated, automatable_at = st.outputs, st.automated, st.automatable
    out = dict(st.extras)
    out["gwp"] = outputs[:, 0]
    with np.errstate(all="ignore"):   # a sample that failed is NaN (stop_index says where)
        out["automation_multiplier_rnd"] = outputs[:, 1] / outputs[:, 3]
    out["rnd_input_hardware"] = outputs[:, 1]
    out["rnd_input_software"] = outputs[:, 2]
    out["frac_tasks_automated_goods"] = (automated[:, 0] - 1) / N_LABOUR_TASKS
    out["frac_tasks_automated_rnd"] = (automated[:, 1] - 1) / N_LABOUR_TASKS
    out["frac_automatable_tasks_goods"] = (automatable_at[:, 0] - 1) / N_LABOUR_TASKS
    out["frac_automatable_tasks_rnd"] = (automatable_at[:, 1] - 1) / N_LABOUR_TASKS
    out["frac_automatable_tasks_goods_no_tradeoff"] = (automatable_at[:, 2] - 1) / N_LABOUR_TASKS
    # the authors' model sets hardware performance at step 0 only at step 1
    if "hardware_performance" in out:
        out["hardware_performance"] = st.hw_perf
    bad = ~np.isfinite(out["gwp"])
    stop = np.where(bad.any(axis=0), bad.argmax(axis=0), steps)
    if stop.min(initial=steps) < steps:
        # the authors' run ends where its arithmetic fails; here that sample's series do
        after = np.arange(steps)[:, None] >= stop[None, :]
        for name in out:
            out[name] = np.where(after, np.nan, out[name])
    years = s.t_start + np.arange(steps) * s.t_step
    return Run(years=years, t_step=s.t_step, series=out, stop_index=stop, params=s.f)



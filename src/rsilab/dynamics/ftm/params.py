"""The compute-centric takeoff model's parameters, under the model's own names.

Names, meanings and defaults follow the model's authors (Davidson 2023, "What a compute-centric
framework says about takeoff speeds", Open Philanthropy; code github.com/epoch-research/ftm,
ftm/core/model.py). The defaults are the best guess that takeoffspeeds.com loads
(website/src/js/presets.js, ``best_guess_parameters``), tradeoff on. Bounds are what the model's
arithmetic allows (a fraction below 1, a gap of at least 1, substitution parameters below 0),
not beliefs; those of the requirements and the tradeoff keep ln of every task's compute
efficiency above -680, so that its powers stay within floating point (allocation.py relies on
it). Imports the model base only.
"""
from __future__ import annotations

from rsilab.dynamics.base import Param

# A runtime/training tradeoff of 0 turns the tradeoff off, as the model's own code and website
# do (they pass 0 when the box is unticked); max tradeoff is then unused.
PARAMS: tuple[Param, ...] = (
    # automation thresholds
    Param("full_automation_requirements_training", "FLOP", 1e20, 1e50, 1e36,
          "training compute (2022 algorithms) for AI that can perform every goods-and-services task"),
    Param("flop_gap_training", "x", 1.0, 1e20, 1e4,
          "ratio of training compute for 100% to that for 20% of tasks"),
    Param("goods_vs_rnd_requirements_training", "x", 1e-2, 1e6, 3.0,
          "how much less training compute full automation of R&D needs than of goods"),
    Param("full_automation_requirements_runtime", "FLOP/s", 1.0, 1e25, 1.66667e16,
          "runtime compute per AI that replaces one human worker in the hardest goods task"),
    Param("flop_gap_runtime", "x", 1.0, 1e20, 10.0,
          "ratio of runtime compute for the hardest to that for the 20% easiest tasks"),
    Param("goods_vs_rnd_requirements_runtime", "x", 1e-2, 1e6, 100.0,
          "how much less runtime compute full automation of R&D needs than of goods"),
    Param("runtime_training_tradeoff", "dimensionless", 0.0, 5.0, 1.5,
          "OOMs of runtime saved per OOM of extra training (0 turns the tradeoff off)"),
    Param("runtime_training_max_tradeoff", "x", 1.0, 1e12, 30.0,
          "how much less training than required a task may use by spending more runtime"),
    # production
    Param("labour_substitution_goods", "rho", -10.0, -1e-3, -0.5,
          "CES substitution parameter between tasks in goods production (below 0: complements)"),
    Param("labour_substitution_rnd", "rho", -10.0, -1e-3, -0.5,
          "CES substitution parameter between tasks in R&D"),
    Param("capital_substitution_goods", "rho", -10.0, -1e-3, -0.4,
          "CES substitution parameter between capital and cognitive work in goods production"),
    Param("capital_substitution_rnd", "rho", -10.0, -1e-3, -0.25,
          "CES substitution parameter between capital and cognitive work in hardware R&D"),
    Param("research_experiments_substitution_software", "rho", -10.0, -1e-3, -0.01,
          "CES substitution parameter between experiment compute and cognitive work in software R&D"),
    Param("compute_software_rnd_experiments_efficiency", "exponent", 0.0, 2.0, 0.4,
          "experiment input to software R&D is hardware to this power"),
    # R&D
    Param("hardware_returns", "dimensionless", 0.0, 100.0, 5.2,
          "doublings of hardware performance per doubling of cumulative hardware R&D input"),
    Param("software_returns", "dimensionless", 0.0, 100.0, 1.25,
          "doublings of software efficiency per doubling of cumulative software R&D input"),
    Param("hardware_performance_ceiling", "FLOP/year/$", 1.0, 1e60, 1e26, "physical limit of hardware performance"),
    Param("software_ceiling", "x 2022 software", 1.0 + 1e-9, 1e60, 1e12, "limit of software efficiency"),
    Param("rnd_parallelization_penalty", "exponent", 0.01, 1.0, 0.7,
          "R&D input counts as input to this power (less than 1: parallel work duplicates)"),
    Param("hardware_delay", "years", 0.0, 30.0, 1.0, "years from a hardware design to chips one can buy"),
    # fractional inputs: growth before the wake-up, growth during the ramp-up, ceiling
    Param("frac_capital_hardware_rnd_growth", "1/year", -1.0, 10.0, 0.01, "growth of the capital share in hardware R&D"),
    Param("frac_labour_hardware_rnd_growth", "1/year", -1.0, 10.0, 0.01, "growth of the labour share in hardware R&D"),
    Param("frac_compute_hardware_rnd_growth", "1/year", -1.0, 10.0, 0.01, "growth of the compute share in hardware R&D"),
    Param("frac_labour_software_rnd_growth", "1/year", -1.0, 10.0, 0.18, "growth of the labour share in software R&D"),
    Param("frac_compute_software_rnd_growth", "1/year", -1.0, 10.0, 0.18, "growth of the compute share in software R&D"),
    Param("frac_gwp_compute_growth", "1/year", -1.0, 10.0, 0.19, "growth of the share of GWP spent on compute"),
    Param("frac_compute_training_growth", "1/year", -1.0, 10.0, 0.547528364331348,
          "growth of the share of compute in the largest training run"),
    Param("frac_capital_hardware_rnd_growth_rampup", "1/year", -1.0, 10.0, 0.14, "ramp-up: growth of the capital share in hardware R&D"),
    Param("frac_labour_hardware_rnd_growth_rampup", "1/year", -1.0, 10.0, 0.14, "ramp-up: growth of the labour share in hardware R&D"),
    Param("frac_compute_hardware_rnd_growth_rampup", "1/year", -1.0, 10.0, 0.67, "ramp-up: growth of the compute share in hardware R&D"),
    Param("frac_labour_software_rnd_growth_rampup", "1/year", -1.0, 10.0, 0.22, "ramp-up: growth of the labour share in software R&D"),
    Param("frac_compute_software_rnd_growth_rampup", "1/year", -1.0, 10.0, 0.67, "ramp-up: growth of the compute share in software R&D"),
    Param("frac_gwp_compute_growth_rampup", "1/year", -1.0, 10.0, 0.19, "ramp-up: growth of the share of GWP spent on compute"),
    Param("frac_compute_training_growth_rampup", "1/year", -1.0, 10.0, 1.1, "ramp-up: growth of the training share of compute"),
    Param("frac_capital_hardware_rnd_ceiling", "fraction", 1e-9, 0.999, 0.03, "most capital hardware R&D ever takes"),
    Param("frac_labour_hardware_rnd_ceiling", "fraction", 1e-9, 0.999, 0.03, "most labour hardware R&D ever takes"),
    Param("frac_compute_hardware_rnd_ceiling", "fraction", 1e-9, 0.999, 0.2, "most compute hardware R&D ever takes"),
    Param("frac_labour_software_rnd_ceiling", "fraction", 1e-9, 0.999, 0.03, "most labour software R&D ever takes"),
    Param("frac_compute_software_rnd_ceiling", "fraction", 1e-9, 0.999, 0.2, "most compute software R&D ever takes"),
    Param("frac_gwp_compute_ceiling", "fraction", 1e-9, 0.999, 0.1, "most of GWP ever spent on compute"),
    Param("frac_compute_training_ceiling", "fraction", 1e-9, 0.999, 0.1, "most compute the largest training run ever takes"),
    # initial values (2022)
    Param("initial_frac_capital_hardware_rnd", "fraction", 1e-12, 0.999, 0.002, "capital share in hardware R&D"),
    Param("initial_frac_labour_hardware_rnd", "fraction", 1e-12, 0.999, 0.002, "labour share in hardware R&D"),
    Param("initial_frac_compute_hardware_rnd", "fraction", 1e-12, 0.999, 0.002, "compute share in hardware R&D"),
    Param("initial_frac_labour_software_rnd", "fraction", 1e-12, 0.999, 0.0002, "labour share in software R&D"),
    Param("initial_frac_compute_software_rnd", "fraction", 1e-12, 0.999, 0.0002, "compute share in software R&D"),
    Param("initial_biggest_training_run", "FLOP", 1.0, 1e50, 3e24, "the largest training run"),
    Param("ratio_initial_to_cumulative_input_hardware_rnd", "fraction", 1e-9, 1.0, 0.047,
          "this year's hardware R&D input over all past input"),
    Param("ratio_initial_to_cumulative_input_software_rnd", "fraction", 1e-9, 1.0, 0.2,
          "this year's software R&D input over all past input"),
    Param("initial_hardware_production", "FLOP/year", 1.0, 1e50, 1e28, "compute produced per year"),
    Param("ratio_hardware_to_initial_hardware_production", "x", 1e-6, 1e6, 2.0,
          "installed compute over one year's production"),
    Param("initial_buyable_hardware_performance", "FLOP/year/$", 1.0, 1e50, 1.5e17, "compute one dollar buys"),
    Param("initial_gwp", "$/year", 1.0, 1e20, 8.5e13, "gross world product"),
    Param("initial_population", "people", 1.0, 1e14, 4e9, "the labour force"),
    Param("initial_cognitive_share_goods", "fraction", 1e-9, 0.999999, 0.5, "share of cognitive work in goods production"),
    Param("initial_cognitive_share_hardware_rnd", "fraction", 1e-9, 0.999999, 0.7, "share of cognitive work in hardware R&D"),
    Param("initial_compute_share_goods", "fraction", 1e-9, 0.999999, 0.01, "share of compute in cognitive goods work"),
    Param("initial_compute_share_rnd", "fraction", 1e-9, 0.999999, 0.01, "share of compute in cognitive R&D work"),
    Param("initial_experiment_share_software_rnd", "fraction", 1e-9, 0.999999, 0.3, "share of experiments in software R&D"),
    # other
    Param("rampup_trigger", "fraction", 0.0, 1.0, 0.06, "share of goods tasks automated that wakes the world up"),
    Param("initial_capital_growth", "1/year", 1e-6, 1.0, 0.0275, "growth of capital in 2022"),
    Param("labour_growth", "1/year", -1.0, 1.0, 0.01, "growth of the labour force"),
    Param("tfp_growth", "1/year", -1.0, 1.0, 0.01, "growth of total factor productivity"),
    Param("compute_depreciation", "1/year", 0.0, 0.999, 0.2, "fraction of compute lost per year"),
    Param("money_cap_training_before_wakeup", "$", 0.0, 1e20, 4e9,
          "most spent on the largest training run before the wake-up"),
    Param("training_requirements_steepness", "OOM", 0.0, 20.0, 0.0,
          "training requirements come in steps this many OOMs apart (0: smooth)"),
    Param("runtime_requirements_steepness", "OOM", 0.0, 20.0, 0.0,
          "runtime requirements come in steps this many OOMs apart (0: smooth)"),
)

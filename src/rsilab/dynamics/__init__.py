"""Pure takeoff models (numpy only; no I/O, no solver choice). ``MODELS`` maps a scenario's
``[model] name`` to its class. This package imports nothing of ours but ``rsilab.errors`` and ``rsilab.core``."""
from rsilab.dynamics.ai2027_takeoff import Ai2027Takeoff
from rsilab.dynamics.base import MapModel, Metric, Model, OdeModel, Option, OutcomeModel, Outcomes, Param, Series
from rsilab.dynamics.boxing import Boxing
from rsilab.dynamics.controlled import Controlled
from rsilab.dynamics.criticality import Criticality
from rsilab.dynamics.drift import Drift
from rsilab.dynamics.ftm.model import Ftm
from rsilab.dynamics.multipolar import Multipolar
from rsilab.dynamics.returns import Returns
from rsilab.dynamics.software_rnd import SoftwareRnd

MODELS: dict[str, type[Model]] = {
    "criticality": Criticality,
    "returns": Returns,
    "boxing": Boxing,
    "drift": Drift,
    "controlled": Controlled,
    "multipolar": Multipolar,
    "software_rnd": SoftwareRnd,
    "ai2027_takeoff": Ai2027Takeoff,
    "ftm": Ftm,
}

__all__ = ["MODELS", "MapModel", "Metric", "Model", "OdeModel", "Option", "OutcomeModel", "Outcomes", "Param", "Series"]

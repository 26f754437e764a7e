"""Where the example site configs live: inside the installed package, so `pip install .` (not only an
editable checkout) has them, and the demo and the scenario library run from any directory."""

from importlib.resources import files
from pathlib import Path

EXAMPLES = Path(str(files("hazwatch") / "examples"))
MINE_EXAMPLE = EXAMPLES / "coal-mine.yaml"
PLANT_EXAMPLE = EXAMPLES / "chemical-plant.yaml"

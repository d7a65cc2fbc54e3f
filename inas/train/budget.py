"""How much each run trains: a budget's epochs, data, image size, batch and width, by name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from inas.errors import ConfigError
from inas.registry import Registry


@dataclass(frozen=True)
class Budget:
    """How much each trial trains: epochs (with ASHA's first rung at `min_epochs`), the fraction of
    the training set used, the image side (0: the network's), the batch size, and `width`: below 1, a
    reduced-width copy of each candidate is trained (every channel count scaled, as in the reduced
    settings of EcoNAS), while the objectives `params` and `macs` stay those of the full-size network."""

    epochs: int
    min_epochs: int
    data_fraction: float
    image_size: int
    batch_size: int
    width: float = 1.0

    def fidelity(self) -> str:
        """What the errors of a search with this budget come from, in words."""
        size = f"{self.image_size} px" if self.image_size else "full-size images"
        width = f"width x{self.width:g}" if self.width < 1 else "full width"
        return (
            f"{self.epochs} epoch{'s' * (self.epochs != 1)}, {self.data_fraction:.0%} of the training set, "
            f"{size}, batch {self.batch_size}, {width}"
        )

    def with_epochs(self, epochs: int | None = None, min_epochs: int | None = None) -> Budget:
        """`--epochs` and `--min-epochs` applied: the first rung never lies past the last epoch."""
        epochs = epochs or self.epochs
        if min_epochs is not None and min_epochs > epochs:
            raise ConfigError(f"--min-epochs {min_epochs}: must not exceed --epochs ({epochs})")
        return dataclasses.replace(self, epochs=epochs, min_epochs=min(min_epochs or self.min_epochs, epochs))


BUDGETS: Registry[Budget] = Registry(
    "budget",
    {
        # 2-core CPU: tens of steps a trial on a quarter-width copy at 16 px, so candidates' errors differ.
        "smoke": Budget(epochs=2, min_epochs=1, data_fraction=1.0, image_size=16, batch_size=32, width=0.25),
        # Real data on a 2-core CPU: a tenth of the training set, 3 epochs, a quarter-width copy at 16 px.
        "proxy": Budget(epochs=3, min_epochs=1, data_fraction=0.1, image_size=16, batch_size=64, width=0.25),
        "standard": Budget(epochs=6, min_epochs=2, data_fraction=1.0, image_size=0, batch_size=512),
        "paper": Budget(epochs=14, min_epochs=4, data_fraction=1.0, image_size=0, batch_size=512),  # the seed's 14
    },
)
DEFAULT_BUDGET = "standard"

"""A training step's measured peak memory on the CPU against inas's estimate (`inas/train/memory.py`).

Each case runs in its own process: two SGD steps of a seed network on random images, peak RSS after
minus before. The estimate must stay above the measurement (ratio > 1) for `fit_batch` to be safe.

    python benchmarks/step_memory.py
"""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
from datetime import date

CASES = [("seed/googlenet", 32, 32), ("seed/googlenet", 64, 32), ("seed/short4", 64, 32), ("seed/googlenet", 64, 16)]


def one(name: str, batch: int, size: int) -> None:
    import torch

    from inas.model.network import build
    from inas.model.presets import get_preset
    from inas.train.memory import step_bytes
    from inas.train.recipe import RECIPES

    torch.set_num_threads(2)
    arch = get_preset(name)
    recipe = RECIPES.get("inas", "recipe")().with_overrides({"image_size": size})
    estimate = step_bytes(arch, recipe, batch)
    model = build(arch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for _ in range(2):
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out[0] if isinstance(out, tuple) else out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(
        f"{name:15} batch {batch:3} {size} px: measured {peak / 2**20:6,.0f} MiB, estimate {estimate / 2**20:6,.0f} MiB, estimate/measured {estimate / peak:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4:
        one(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    else:
        import torch

        print(f"{date.today()}, {platform.platform()}, {platform.python_version()}, torch {torch.__version__}")
        for case in CASES:
            subprocess.run([sys.executable, __file__, *map(str, case)], check=True)

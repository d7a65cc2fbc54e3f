"""The memory of one training step, estimated from the config before anything is allocated, and the
largest batch that fits in what the device has free.

The estimate sums the outputs of every leaf module for one image on the meta device (no memory, no
compute), scales it by the batch and by ACTIVATION_FACTOR, and adds the weights, gradients and
optimizer state. The factor is the measured peak of a CPU training step over that sum (1.38-1.60 for
seed/googlenet and seed/short4 at 16 and 32 px, batches 32-64), with a margin.
"""

from __future__ import annotations

import torch

from inas import checks
from inas.errors import ConfigError
from inas.model.config import ArchConfig
from inas.train.recipe import TrainRecipe

ACTIVATION_FACTOR = 1.75
STATE_COPIES = {"sgd": 3, "adamw": 4, "adadelta": 4}  # weights, gradients and the optimizer's buffers
SHARE = 0.5  # of the free memory a step may take: the data, the evaluation and the allocator need room
MAX_MEMORY_ENV = checks.MAX_MEMORY_ENV  # a stated limit, instead of SHARE of what is free


def step_bytes(arch: ArchConfig, recipe: TrainRecipe, batch: int) -> int:
    """The estimated peak memory of one training step of `arch` at `batch`."""
    per_image, fixed = footprint(arch, recipe)
    return per_image * batch + fixed


def footprint(arch: ArchConfig, recipe: TrainRecipe) -> tuple[int, int]:
    """A step's bytes per image of the batch, and its bytes whatever the batch (weights and state)."""
    from inas.model.network import build

    size = recipe.image_size or arch.input_size
    outputs = 0

    def add(_module: torch.nn.Module, _inputs: tuple, output: object) -> None:
        nonlocal outputs
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                outputs += t.numel()

    with torch.device("meta"):
        model = build(arch)
        model.train()
        for m in model.modules():
            if not any(True for _ in m.children()):
                m.register_forward_hook(add)
        with torch.no_grad():  # shapes only: no autograd graph on the meta device (half the time)
            model(torch.empty(1, arch.in_channels, size, size))
        params = sum(p.numel() for p in model.parameters())
    per_image = outputs * 4 * ACTIVATION_FACTOR + arch.in_channels * size * size * 4
    return int(per_image), params * 4 * STATE_COPIES.get(recipe.optimizer, 4)


def memory_budget(device: torch.device, share: float = 1.0) -> int | None:
    """The bytes a step may take on `device`: INAS_MAX_MEMORY if set, else SHARE of what is free
    (CUDA: the device's free memory; CPU: Linux's MemAvailable), of which `share` where several
    trials share the device (CUDA: no more than `share` of its total either). None where unknown."""
    stated = checks.stated_memory()
    if stated is not None:
        return stated
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return int(min(free, total * share) * SHARE)
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None
    return int(kib * 1024 * share * SHARE)


def fit_batch(
    arch: ArchConfig,
    recipe: TrainRecipe,
    device: torch.device,
    explicit: bool,
    images: int | None = None,
    share: float = 1.0,
) -> tuple[TrainRecipe, str | None]:
    """`recipe` with a batch whose step fits the memory budget, and a note when the batch changed. A
    batch the user asked for (`explicit`) is never changed: one that does not fit is refused. `images`:
    the training set's size, which no step exceeds. `share`: of the device, as for `memory_budget`."""
    budget = memory_budget(device, share)
    per_image, fixed = footprint(arch, recipe)
    batch = min(recipe.batch_size, images or recipe.batch_size)
    need = per_image * batch + fixed
    if budget is None or need <= budget:
        return recipe, None
    while batch > 1 and per_image * batch + fixed > budget:
        batch //= 2
    fits = per_image * batch + fixed <= budget
    where = f"{gib(budget)} this {device.type.upper()} can give a step"
    if explicit or not fits:
        fix = f"use --batch-size {batch} or less" if fits else "use a smaller network or --image-size"
        raise ConfigError(
            f"a training step at batch {recipe.batch_size} needs about {gib(need)}, more than the {where}; {fix}"
        )
    note = f"batch {recipe.batch_size} needs about {gib(need)} a step, more than the {where}: training at batch {batch}"
    return recipe.with_overrides({"batch_size": batch}), note + " (--batch-size sets it)"


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"

"""Train a supernet, each step training a few of its candidates on one batch, their gradients
accumulated into one optimizer step, by one of two rules:

- `sandwich` (BigNAS, Once-for-All): the largest candidate on the labels, then the smallest and
  `n_random` random candidates on the largest one's soft labels (detached, in-place distillation);
- `uniform` (SPOS): `2 + n_random` candidates drawn at random, each on the labels (the same work a
  step; no candidate trained more than another, so none is favoured for being trained more).

Candidates are drawn by `layout.RandomTrial` from a seeded generator, so a run is reproducible and a
resumed run draws what the uninterrupted one would have.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from inas.data.datasets import ImageData
from inas.errors import InasError
from inas.model.config import ArchConfig
from inas.supernet.info import RULES
from inas.supernet.layout import SupernetLayout, largest, random_candidate, smallest
from inas.supernet.net import Supernet
from inas.train.loop import BatchCallback, data_loaders, make_optimizer, make_schedule, numerics_for
from inas.train.recipe import TrainRecipe, validate_recipe

DEFAULT_RANDOM = 2  # random candidates a step, besides the largest and the smallest


@dataclass(frozen=True)
class SupernetEpoch:
    """What one epoch of supernet training measured."""

    epoch: int
    loss_largest: float  # cross-entropy on the labels: the largest's (sandwich), the candidates' mean (uniform)
    loss_distilled: float  # mean soft-label cross-entropy of the other candidates (0 under uniform)
    seconds: float
    images_per_second: float  # training images a second (each seen by 2 + n_random candidates)
    lr: float


@dataclass(frozen=True)
class SupernetState:
    """Everything a killed run needs to go on from its last finished epoch."""

    epoch: int = 0
    model: dict[str, torch.Tensor] = field(default_factory=dict)
    optimizer: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    rng: Any = None  # random.Random.getstate() of the candidate draws
    torch_rng: torch.Tensor | None = None  # torch's CPU generator (dropout), so a resumed run is the same run
    history: tuple[SupernetEpoch, ...] = ()


EpochHook = Callable[[SupernetEpoch, SupernetState], bool]  # return False to stop


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a distribution (the teacher's softmax), in fp32."""
    return -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def _sandwich_step(supernet, big, others, x, y, recipe, numerics) -> tuple[torch.Tensor, torch.Tensor]:
    """The largest on the labels, `others` on its soft labels; (its loss, the others' mean), detached."""
    with numerics.autocast(x.device):
        teacher = supernet(x, big)
    loss = F.cross_entropy(teacher.float(), y, label_smoothing=recipe.label_smoothing)
    loss.backward()
    soft = F.softmax(teacher.detach().float(), dim=1)
    distilled = torch.zeros((), device=x.device)
    for arch in others:
        with numerics.autocast(x.device):
            student = supernet(x, arch)
        kd = soft_cross_entropy(student, soft)
        kd.backward()
        distilled += kd.detach()
    return loss.detach(), distilled / max(1, len(others))


def _uniform_step(supernet, archs, x, y, recipe, numerics) -> tuple[torch.Tensor, torch.Tensor]:
    """Each of `archs` on the labels; (their mean loss, 0), detached."""
    total = torch.zeros((), device=x.device)
    for arch in archs:
        with numerics.autocast(x.device):
            logits = supernet(x, arch)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=recipe.label_smoothing)
        loss.backward()
        total += loss.detach()
    return total / len(archs), torch.zeros((), device=x.device)


def train_supernet(
    layout: SupernetLayout,
    recipe: TrainRecipe,
    data: ImageData,
    *,
    n_random: int = DEFAULT_RANDOM,
    rule: str = RULES[0],
    device: torch.device | None = None,
    state: SupernetState | None = None,
    on_epoch: EpochHook | None = None,
    on_batch: BatchCallback | None = None,
) -> tuple[Supernet, SupernetState]:
    """Train the supernet of `layout` for `recipe.epochs` on the training split of `data` (the
    recipe's validation fraction held out, as a search holds it out); go on from `state` if given."""
    validate_recipe(recipe)
    if rule not in RULES:
        raise ValueError(f"rule {rule!r}: choose one of {', '.join(RULES)}")
    device = device or torch.device("cpu")
    numerics = numerics_for(recipe, device)
    torch.manual_seed(recipe.seed)
    supernet = Supernet(layout).to(device)
    space, classes = layout.space, layout.widest.num_classes
    big = layout.trained(largest(space, classes).arch)
    small = layout.trained(smallest(space, classes).arch)
    train_loader, _, _ = data_loaders(data, layout.widest, recipe, device, numerics.channels_last, test=False)
    opt = make_optimizer(supernet, recipe)
    sched, per_batch = make_schedule(opt, recipe, len(train_loader))
    rng = random.Random(recipe.seed)
    state = state or SupernetState()
    if state.epoch:
        try:
            supernet.load_state_dict(state.model)
            opt.load_state_dict(state.optimizer)
            sched.load_state_dict(state.scheduler)
            rng.setstate(state.rng)
            if state.torch_rng is not None:
                torch.set_rng_state(state.torch_rng)
        except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as e:
            raise InasError(
                f"the saved state does not fit this supernet ({str(e).splitlines()[0][:200] if str(e) else type(e).__name__}); train again without --resume"
            ) from None

    def draw() -> ArchConfig:
        return layout.trained(random_candidate(space, rng, classes).arch)

    for epoch in range(state.epoch + 1, recipe.epochs + 1):
        supernet.train()
        train_loader.set_epoch(epoch)
        lr = opt.param_groups[0]["lr"]
        sums = torch.zeros(2, device=device)
        start = time.perf_counter()
        for step, (x, y) in enumerate(train_loader):
            opt.zero_grad(set_to_none=True)
            if rule == "uniform":
                loss, distilled = _uniform_step(supernet, [draw() for _ in range(2 + n_random)], x, y, recipe, numerics)
            else:
                loss, distilled = _sandwich_step(
                    supernet, big, [small, *(draw() for _ in range(n_random))], x, y, recipe, numerics
                )
            opt.step()
            if per_batch:
                sched.step()
            sums += torch.stack([loss, distilled])
            if on_batch is not None:
                on_batch(step + 1, len(train_loader))
        if not per_batch:
            sched.step()
        seconds = time.perf_counter() - start
        steps = max(1, len(train_loader))
        loss_largest, loss_distilled = (float(v) / steps for v in sums)
        if not math.isfinite(loss_largest + loss_distilled):
            raise FloatingPointError(f"the supernet's training loss became {loss_largest} in epoch {epoch}")
        record = SupernetEpoch(
            epoch, loss_largest, loss_distilled, seconds, train_loader.num_images / seconds if seconds else 0.0, lr
        )
        state = SupernetState(
            epoch=epoch,
            model=supernet.state_dict(),
            optimizer=opt.state_dict(),
            scheduler=sched.state_dict(),
            rng=rng.getstate(),
            torch_rng=torch.get_rng_state(),
            history=(*state.history, record),
        )
        if on_epoch is not None and on_epoch(record, state) is False:
            break
    return supernet, state

"""Train one candidate: the engine under `inas train`, every search trial and every export.

Data on the device; bf16 autocast where the device has native bf16, else fp32, and channels_last
where cuDNN or oneDNN runs it (`inas.train.precision` decides, from the recipe's `precision`). Validation error is computed every epoch on a split held out of the
training set; the test set is evaluated once at the end, and only when asked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

from inas.data.datasets import ImageData, stratified_split
from inas.data.loader import DeviceLoader
from inas.errors import ConfigError, DataError, shown
from inas.model.config import ArchConfig
from inas.model.network import GoogLeNet, build, count_params
from inas.train.metrics import EpochMetrics, StepTimer, TrainResult, topk_correct
from inas.train.normalise import normalisation
from inas.train.precision import Numerics, resolve
from inas.train.recipe import PRECISIONS, TrainRecipe, validate_recipe

EpochCallback = Callable[[EpochMetrics, TrainResult], bool]  # return False to stop training
BatchCallback = Callable[[int, int], None]  # (batch done, batches in the epoch)
EVAL_BATCH = 1024
# Modules whose weights take weight decay; BatchNorm's scales and shifts and every bias do not.
DECAYED = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
# A precision a command forces on the runs it starts in this process, whatever their recipe says.
_forced_precision: ContextVar[str | None] = ContextVar("inas_forced_precision", default=None)


def forcing_precision(precision: str | None) -> AbstractContextManager[None]:
    """A block in which runs train in `precision` (auto, bf16, fp32; None: as each recipe says), for
    commands that retrain a recorded recipe (`inas export --precision`). Checked now, not on entry."""
    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"--precision: unknown value {shown(precision)}; choose one of {', '.join(PRECISIONS)}")
    return _forcing(precision)


@contextmanager
def _forcing(precision: str | None) -> Iterator[None]:
    token = _forced_precision.set(precision)
    try:
        yield
    finally:
        _forced_precision.reset(token)


def numerics_for(recipe: TrainRecipe, device: torch.device) -> Numerics:
    """The precision and memory format `recipe` trains in on `device`."""
    forced = _forced_precision.get()
    if forced is not None:
        return resolve(forced, device, "--precision")
    return resolve(recipe.precision, device)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available here; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {shown(name)}: not a device; use auto, cpu, cuda or cuda:N") from None


def decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Parameter groups: `weight_decay` on the weights of convolutions and linear layers, none on
    BatchNorm's and on biases (as nanoGPT's configure_optimizers): decaying a scale or a shift only
    pulls the network's output towards zero, it does not regularise what the weights compute."""
    decay, rest, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            (decay if name == "weight" and isinstance(module, DECAYED) else rest).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def make_optimizer(model: torch.nn.Module, r: TrainRecipe) -> torch.optim.Optimizer:
    groups = decay_groups(model, r.weight_decay)
    if r.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=r.lr, momentum=r.momentum, nesterov=r.momentum > 0)
    if r.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=r.lr)
    return torch.optim.Adadelta(groups, lr=r.lr)


def make_schedule(opt: torch.optim.Optimizer, r: TrainRecipe, steps_per_epoch: int):
    """(scheduler, steps it per batch?)"""
    total = r.epochs * steps_per_epoch
    if r.schedule == "onecycle":
        # Linear warm-up over the first quarter, then linear decay towards zero. Written as a lambda
        # because OneCycleLR breaks on short runs (lr 0 for a 1-step run, ZeroDivisionError at 4).
        warm = max(1, round(0.25 * total))
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda t: min((t + 1) / warm, (total - t) / (total - warm + 1))
        ), True
    if r.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total), True
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=r.step_gamma), False


def training_sample(data: ImageData, r: TrainRecipe, n: int, seed: int) -> torch.Tensor:
    """Indices of `n` images of the training split (the recipe's validation split left out) in the
    order `seed` draws: the same images whenever they are asked for again."""
    idx = (
        stratified_split(data.train_y, r.val_fraction, r.seed)[1]
        if r.val_fraction > 0
        else torch.arange(len(data.train_y))
    )
    return idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))[:n]]


def proxy_batch(data: ImageData, r: TrainRecipe, size: int, n: int = 64) -> torch.Tensor:
    """`n` images of the training split (never validation ones), normalised and resized as training
    would feed them, in a seeded order: the batch zero-cost proxies score a network on."""
    pick = training_sample(data, r, n, r.seed)
    mean, std = normalisation(data, r)
    x = (data.train_x[pick].float() / 255 - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return x


def check_splits(data: ImageData, recipe: TrainRecipe) -> None:
    """Every trial trains and validates on something: found now, not in every trial."""
    val, train = stratified_split(data.train_y, recipe.val_fraction, recipe.seed)
    if len(val) == 0 or len(train) == 0:
        raise DataError(
            f"{data.name}: {len(data.train_y)} training images leave {len(train)} to train and {len(val)} to "
            "validate on; use more data (or a budget with a larger data fraction)"
        )


def data_loaders(
    data: ImageData,
    arch: ArchConfig,
    r: TrainRecipe,
    device: torch.device,
    channels_last: bool = False,
    train: bool = True,
    test: bool = True,
):
    """(train loader, validation loader or None, test loader), sharing the dataset's statistics. A loader
    holds its images on `device`: `train=False` or `test=False` leaves that one out (None), so a caller
    that does not use it does not copy it there."""
    if data.channels != arch.in_channels:
        raise ConfigError(
            f"{data.name} has {data.channels}-channel images but the network takes {arch.in_channels}; "
            "choose a preset or config made for this dataset"
        )
    size = r.image_size or arch.input_size
    train_x, train_y, val = data.train_x, data.train_y, None
    if r.val_fraction > 0:
        val_idx, train_idx = stratified_split(data.train_y, r.val_fraction, r.seed)
        train_x, train_y = data.train_x[train_idx], data.train_y[train_idx]
    # Normalise by the training split alone: validation images must not feed what the network sees.
    mean, std = normalisation(data, r)
    common = dict(mean=mean, std=std, device=device, size=size, channels_last=channels_last)
    if r.val_fraction > 0:
        if len(train_idx) == 0 or len(val_idx) == 0:
            raise DataError(
                f"{data.name}: a validation fraction of {r.val_fraction:g} leaves {len(train_idx)} training and "
                f"{len(val_idx)} validation images; choose a fraction between them (--val-fraction) or more data"
            )
        val = DeviceLoader(data.train_x[val_idx], data.train_y[val_idx], batch_size=EVAL_BATCH, **common)
    if len(train_y) == 0:
        raise DataError(f"{data.name}: the training set is empty; use more data")
    train_loader = test_loader = None
    if train:
        batch = min(r.batch_size, len(train_y))
        train_loader = DeviceLoader(
            train_x, train_y, batch_size=batch, augment=r.augment, shuffle=True, drop_last=True, seed=r.seed, **common
        )
    if test:
        test_loader = DeviceLoader(data.test_x, data.test_y, batch_size=EVAL_BATCH, **common)
    return train_loader, val, test_loader


def evaluate(
    model: torch.nn.Module, loader: DeviceLoader, autocast, on_batch: BatchCallback | None = None
) -> tuple[float, float]:
    """(top-1 error, top-5 error) over a loader; the forward pass runs in `autocast()`."""
    if len(loader.labels) == 0:
        raise ConfigError("the evaluation set is empty; use more data or a larger --val-fraction")
    model.eval()
    correct1 = correct5 = 0
    with torch.no_grad(), autocast():
        for step, (x, y) in enumerate(loader):
            c1, c5 = topk_correct(model(x).float(), y)
            correct1, correct5 = correct1 + c1, correct5 + c5
            if on_batch is not None:
                on_batch(step + 1, len(loader))
    n = len(loader.labels)
    return 1 - correct1 / n, 1 - correct5 / n


def train_step(
    model: GoogLeNet,
    forward_train: Callable,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    numerics: Numerics,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """One optimizer step on a batch; its loss, detached (no host sync). The forward pass runs in
    `numerics`' autocast; the loss is computed in fp32 from fp32 logits, outside it."""
    with numerics.autocast(x.device):
        logits, aux = forward_train(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    for name, aux_logits in aux.items():
        weight = model.aux_weights[name]
        loss = loss + weight * F.cross_entropy(aux_logits.float(), y, label_smoothing=label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    arch: ArchConfig,
    recipe: TrainRecipe,
    data: ImageData,
    *,
    device: torch.device | str = "auto",
    evaluate_test: bool = True,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
    compile: bool = False,
    init: Mapping[str, torch.Tensor] | None = None,
) -> tuple[GoogLeNet, TrainResult]:
    """Train `arch` on `data` with `recipe`; return the trained network and what happened.
    `compile`: run the training step through torch.compile (pays back only on long runs); `init`: the
    state dict to start from (the weights a candidate inherits from a supernet) instead of a seeded one."""
    validate_recipe(recipe)
    device = pick_device(device) if isinstance(device, str) else device
    if arch.num_classes != data.num_classes:
        arch = arch.with_classes(data.num_classes)
    numerics = numerics_for(recipe, device)
    torch.manual_seed(recipe.seed)
    model = build(arch)
    if init is not None:
        model.load_state_dict(init)  # strict: every tensor, of its shape
    model = model.to(device)
    if numerics.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train_loader, val_loader, test_loader = data_loaders(data, arch, recipe, device, numerics.channels_last)

    def autocast():
        return numerics.autocast(device)

    forward_train = torch.compile(model.forward_train) if compile else model.forward_train
    opt = make_optimizer(model, recipe)
    sched, per_batch = make_schedule(opt, recipe, len(train_loader))
    result = TrainResult(
        device=_device_name(device),
        params=count_params(model),
        precision=numerics.precision,
        memory_format=numerics.memory_format,
        threads=torch.get_num_threads(),
    )
    images = 0
    steps = StepTimer(device)  # the robust training time: median step x steps
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        train_loader.set_epoch(epoch)
        lr = opt.param_groups[0]["lr"]
        loss_sum = torch.zeros((), device=device)
        _sync(device)
        start = time.perf_counter()
        steps.start()
        for step, (x, y) in enumerate(train_loader):
            loss_sum += train_step(model, forward_train, opt, x, y, numerics, recipe.label_smoothing)
            if per_batch:
                sched.step()
            if on_batch is not None:
                on_batch(step + 1, len(train_loader))
            steps.mark()
        if not per_batch:
            sched.step()
        train_loss = float(loss_sum) / max(1, len(train_loader))  # one host sync an epoch
        _sync(device)
        train_s = time.perf_counter() - start
        steps.stop()
        images += train_loader.num_images
        result.train_seconds += train_s
        result.step_seconds, result.train_steps = steps.median(), len(steps.seconds)
        if not math.isfinite(train_loss):
            result.status, result.message = "nan", f"training loss became {train_loss} in epoch {epoch}"
            break
        start = time.perf_counter()
        val = evaluate(model, val_loader, autocast) if val_loader is not None else (None, None)
        eval_s = time.perf_counter() - start
        result.eval_seconds += eval_s
        metrics = EpochMetrics(
            epoch, train_loss, val[0], val[1], train_loader.num_images / train_s, train_s, eval_s, lr
        )
        result.epochs.append(metrics)
        result.images_per_second = images / result.train_seconds
        if epoch == recipe.epochs and evaluate_test:
            # Before the last callback, so that what it reports is the run's final record.
            start = time.perf_counter()
            result.test_top1, result.test_top5 = evaluate(model, test_loader, autocast)
            result.eval_seconds += time.perf_counter() - start
        if device.type == "cuda":
            result.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
        if on_epoch is not None and on_epoch(metrics, result) is False:
            result.status, result.message = "stopped", f"stopped after epoch {epoch}"
            break
    # Handed back in the layout a loaded bundle has, so that the two give the same logits bit for bit.
    return model.to(memory_format=torch.contiguous_format), result


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"

"""`inas export`: retrain a study's chosen candidate from scratch on train + validation, test it once,
and write it as a bundle (optionally with an ONNX copy checked against PyTorch)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inas.data.datasets import load_dataset
from inas.errors import InasError, shown
from inas.export.init import SCRATCH, inherited
from inas.files import check_out_dir
from inas.model.config import ArchConfig
from inas.study.keys import DATASET_KEY, SETTINGS_KEY
from inas.study.load import StudyRef
from inas.study.record import TrialRecord
from inas.train.budget import BUDGETS, Budget
from inas.train.bundle import METRICS, ONNX, BundleConfig, describe, model_card, write_bundle
from inas.train.loop import BatchCallback, EpochCallback, pick_device, train
from inas.train.memory import fit_batch
from inas.train.recipe import TrainRecipe

ONNX_TOLERANCE = 1e-3  # max |logit difference| relative to the logits' scale


DEFAULT_BUDGET = "standard"
ESTIMATE_STEPS = 4  # steps timed after a warm-up one, for the estimate printed before the run
ESTIMATE_MAX_SECONDS = 30.0  # or fewer, once this long has been spent timing (a full-width CPU step is slow)
EVAL_PER_TRAIN = 1 / 3  # an image's forward pass, against its training step (forward + backward)


@dataclass(frozen=True)
class ExportSettings:
    """What `inas export` is asked. The network trains at full width on every training image, with the
    searched recipe at `budget`'s epochs (or `epochs`), image size and batch."""

    trial: int | None = None
    pick: str | None = None
    epochs: int | None = None  # None: the budget's
    dataset: str | None = None  # None: the study's
    data_dir: str | None = None
    device: str = "auto"
    compile: bool = False
    onnx: bool = False
    budget: str = DEFAULT_BUDGET  # a name in inas.train.budget.BUDGETS, whatever budget the search used
    batch_size: int | None = None  # None: the budget's, lowered to fit the device's memory
    init: str = SCRATCH  # or supernet:DIR: start from the weights the candidate inherits (`inas.export.init`)


@dataclass(frozen=True)
class ExportPlan:
    """What an export is about to train, said before it trains."""

    trial: int
    study: str
    arch_hash: str
    dataset: str
    images: int
    test_images: int
    epochs: int
    image_size: int
    batch_size: int
    budget: str
    device: str
    note: str | None = None  # the batch was lowered to fit the device's memory
    init: str = SCRATCH  # what the weights start from: scratch, or supernet:<hash>

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.images // self.batch_size)  # the training loader drops a last partial batch

    def line(self) -> str:
        epochs = f"{self.epochs} epoch{'s' * (self.epochs != 1)}"
        return (
            f"exporting trial {self.trial} of {self.study} ({self.arch_hash}): full width, {self.image_size} px, "
            f"{epochs} ({self.budget} budget) on {self.images:,} {self.dataset} images (nothing held out), "
            f"batch {self.batch_size} on {self.device}"
            + (f", from the weights it inherits from {self.init}" if self.init != SCRATCH else "")
        )


@dataclass(frozen=True)
class Estimate:
    """How long the whole retraining should take, from timed steps of it."""

    steps: int  # timed
    seconds_per_step: float
    seconds: float  # every epoch's steps and the test pass
    with_warmup: bool = False  # the one step an epoch has, timed with its warm-up

    @classmethod
    def of(cls, plan: ExportPlan, steps: int, seconds: float, with_warmup: bool = False) -> Estimate:
        per_step = seconds / max(1, steps)
        test_steps = plan.test_images / plan.batch_size * EVAL_PER_TRAIN
        return cls(steps, per_step, per_step * (plan.steps_per_epoch * plan.epochs + test_steps), with_warmup)

    def line(self) -> str:
        from inas.train.progress import duration

        timed = f"{self.steps} step{'s' * (self.steps != 1)}" + (" with its warm-up" if self.with_warmup else "")
        return f"about {duration(self.seconds)} (measured {timed} at {self.seconds_per_step:.3g} s/step)"


class StepClock:
    """A BatchCallback that times the first steps of a run after a warm-up one, calls `on_estimate`
    once (at the latest on the first epoch's last step, so before its epoch callback), and passes
    every batch on to `then`. On CUDA it waits for the device at the steps it times, so that the
    time is the device's, not the time to queue its work."""

    def __init__(
        self,
        plan: ExportPlan,
        device: torch.device,
        on_estimate: Callable[[Estimate], None] | None,
        then: BatchCallback | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.plan, self.device, self.on_estimate, self.then, self.clock = plan, device, on_estimate, then, clock
        self.started = clock()  # the run's start: a one-step epoch is timed from here, warm-up and all
        self.after_warmup: float | None = None
        self.estimate: Estimate | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.estimate is None:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            now = self.clock()
            if done == 1:
                self.after_warmup = now
            if total == 1:
                self.estimate = Estimate.of(self.plan, 1, now - self.started, with_warmup=True)
            elif done > 1 and (
                done - 1 >= ESTIMATE_STEPS or done == total or now - self.after_warmup >= ESTIMATE_MAX_SECONDS
            ):
                self.estimate = Estimate.of(self.plan, done - 1, now - self.after_warmup)
            if self.estimate is not None and self.on_estimate is not None:
                self.on_estimate(self.estimate)
        if self.then is not None:
            self.then(done, total)


def candidate(ref: StudyRef, number: int) -> tuple[ArchConfig, TrainRecipe]:
    """The architecture and recipe trial `number` was trained with (the architecture at full width:
    a budget's reduced-width copy is what its trial trained, not what it records)."""
    record = TrialRecord.from_attrs(ref.study.get_trials(deepcopy=False)[number].user_attrs)
    if record.arch is None or record.recipe is None:
        raise InasError(f"trial {number} of {shown(ref.name)} has no recorded architecture; pick another trial")
    return ArchConfig.from_dict(record.arch, where=f"trial {number}: arch"), TrainRecipe(**record.recipe)


def final_recipe(
    recipe: TrainRecipe, budget: Budget, epochs: int | None = None, batch_size: int | None = None
) -> TrainRecipe:
    """The searched recipe at `budget`'s image size, batch and epochs (`epochs` and `batch_size`
    override them), trained on train + validation: nothing held out."""
    values = {
        "val_fraction": 0.0,
        "epochs": epochs or budget.epochs,
        "image_size": budget.image_size,
        "batch_size": batch_size or budget.batch_size,
    }
    return recipe.with_overrides(values, where="--budget")


def require_onnx() -> None:
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError:
        raise InasError("--onnx needs onnx, onnxscript and onnxruntime: pip install 'inas[onnx]'") from None


def export_onnx(model: torch.nn.Module, config: BundleConfig, folder: Path) -> float:
    """Write `model.onnx` and check onnxruntime's logits against PyTorch's; the largest difference."""
    import onnxruntime  # present: `require_onnx` checked before training

    model = model.cpu().eval()
    x = torch.randn(
        4, config.arch.in_channels, config.input_size, config.input_size, generator=torch.Generator().manual_seed(0)
    )
    path = folder / ONNX
    torch.onnx.export(
        model, (x,), str(path), input_names=["images"], output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, dynamo=True, external_data=False, verbose=False,
    )  # fmt: skip
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"images": x.numpy()})[0]
    diff = float(abs(got - expected).max())
    scale = max(1.0, float(abs(expected).max()))
    if not diff <= ONNX_TOLERANCE * scale:
        raise InasError(f"the ONNX model's logits differ from PyTorch's by {diff:.3g}; the export is abandoned")
    return diff


def export(
    ref: StudyRef,
    s: ExportSettings,
    out: Path,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
    on_plan: Callable[[ExportPlan], None] | None = None,
    on_estimate: Callable[[Estimate], None] | None = None,
) -> tuple[BundleConfig, dict[str, Any]]:
    """Retrain the picked trial's candidate and write the bundle to `out`; (config, metrics).
    `on_plan` hears what will train before it trains; `on_estimate` how long it should take, from its
    first steps, before any `on_batch` or `on_epoch`."""
    from inas.export.pick import pick_trial

    budget = BUDGETS.get(s.budget, "--budget")
    check_out_dir(out)  # before hours of training, not after
    if s.onnx:
        require_onnx()
    number = pick_trial(ref.study, s.trial, s.pick)
    arch, searched = candidate(ref, number)
    recipe = final_recipe(searched, budget, s.epochs, s.batch_size)
    dataset = s.dataset or ref.study.user_attrs.get(SETTINGS_KEY, {}).get(DATASET_KEY)
    if not dataset:
        raise InasError(f"study {shown(ref.name)} does not say its dataset; give --dataset")
    device = pick_device(s.device)
    data = load_dataset(dataset, s.data_dir)
    arch = arch.with_classes(data.num_classes)
    init, started_from = (None, SCRATCH) if s.init == SCRATCH else inherited(s.init, ref, arch, data)
    # The budget's batch, or the largest that fits the memory free (as `inas train` does); a batch
    # asked for is kept, or refused when it does not fit.
    recipe, note = fit_batch(arch, recipe, device, s.batch_size is not None, images=len(data.train_x))
    plan = ExportPlan(
        trial=number,
        study=ref.name,
        arch_hash=arch.hash(),
        dataset=data.name,
        images=len(data.train_y),
        test_images=len(data.test_y),
        epochs=recipe.epochs,
        image_size=recipe.image_size or arch.input_size,
        batch_size=min(recipe.batch_size, len(data.train_y)),
        budget=s.budget,
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        note=note,
        init=started_from,
    )
    if on_plan is not None:
        on_plan(plan)
    clock = StepClock(plan, device, on_estimate, on_batch)
    model, result = train(
        arch, recipe, data, device=device, on_epoch=on_epoch, on_batch=clock, compile=s.compile, init=init
    )
    if result.status != "ok" or result.test_top1 is None:
        raise InasError(
            f"retraining trial {number} did not finish ({result.message or result.status}); nothing written"
        )
    picked_by = s.pick or (f"--trial {s.trial}" if s.trial is not None else "min-error")
    source = {"study": ref.name, "storage": ref.url, "trial": number, "picked_by": picked_by, "init": started_from}
    config, metrics = describe(model, recipe, data, result, source)
    extra = None
    if s.onnx:

        def extra(folder: Path) -> None:
            metrics["onnx_max_abs_diff"] = export_onnx(model, config, folder)
            (folder / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")

    config = write_bundle(out, model, config, metrics, model_card(config, metrics), extra)
    return config, metrics

"""What one Ray Tune trial runs: rebuild the candidate from its sampled values, train, report.

The function never raises for a candidate's own failure: it reports `status: fail` with the reason,
so the searcher records the trial as FAIL and the search goes on.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch

from inas import __version__
from inas.data.datasets import ImageData
from inas.model.config import scale_width
from inas.model.latency import latency_ms
from inas.model.stats import measure
from inas.space.sampling import resolve
from inas.space.schema import SearchSpace
from inas.train.loop import train
from inas.train.memory import fit_batch
from inas.train.recipe import TrainRecipe


@dataclass(frozen=True)
class TrialSettings:
    space: SearchSpace
    recipe: TrainRecipe  # the budget's recipe; a candidate's own recipe values override it
    cpus: float
    metric_keys: tuple[str, ...] = ()  # Ray insists that every report carries the searched metrics
    measure_latency: bool = False
    width: float = 1.0  # below 1: train a reduced-width copy (the objectives stay the full network's)
    proxies: bool = False  # score the untrained network with the zero-cost proxies first


def pick_trial_device() -> torch.device:
    """The GPU Ray assigned to this trial (Ray sets CUDA_VISIBLE_DEVICES), or the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def score_proxies(arch, recipe: TrainRecipe, data: ImageData) -> dict[str, float]:
    """The zero-cost proxies of the network the trial trains, untrained (seeded), with their seconds."""
    from inas.model.network import build
    from inas.model.proxies import naswot, synflow
    from inas.train.loop import proxy_batch

    torch.manual_seed(recipe.seed)
    net = build(arch)
    batch = proxy_batch(data, recipe, recipe.image_size or arch.input_size)
    out: dict[str, float] = {}
    for name, score in (("naswot", lambda: naswot(net, batch)), ("synflow", lambda: synflow(net, batch.shape[1:]))):
        start = time.perf_counter()
        out[name] = score()
        out[f"{name}_seconds"] = round(time.perf_counter() - start, 4)
    return out


def run_trial(config: dict[str, Any], settings: TrialSettings, data: ImageData, report=None) -> None:
    """The Ray Tune function trainable. `report` defaults to `ray.tune.report`."""
    if report is None:
        from ray import tune

        report = tune.report
    send = report

    def report(metrics: dict[str, Any]) -> None:
        for key in (*settings.metric_keys, "val_top1"):
            metrics.setdefault(key, None)
        send(metrics)

    torch.set_num_threads(max(1, int(settings.cpus)))
    record: dict[str, Any] = {
        "status": "running",
        "epochs_done": 0,
        "epochs_total": settings.recipe.epochs,
        "started_at": time.time(),
        "node": socket.gethostname(),
        "torch_version": torch.__version__,
        "inas_version": __version__,
    }
    try:
        arch, recipe = resolve(settings.space, config, settings.recipe, data.num_classes, data.channels)
        stats = measure(arch, input_size=recipe.image_size or None)  # what is trained
        device = pick_trial_device()
        # A batch too large for the memory free would swap or be killed: the largest that fits trains.
        recipe, _ = fit_batch(scale_width(arch, settings.width), recipe, device, False, len(data.train_x))
        record.update(
            arch=arch.to_json(),
            recipe=json.dumps(recipe.to_dict()),
            arch_hash=arch.hash(),
            params=stats.params,
            macs=stats.macs,
            epochs_total=recipe.epochs,
            train_width=settings.width,
            device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        )

        def on_epoch(m, result) -> bool:
            record.update(
                epochs_done=m.epoch,
                val_top1=m.val_top1,
                val_top5=m.val_top5,
                train_seconds=result.train_seconds,
                eval_seconds=result.eval_seconds,
                images_per_second=result.images_per_second,
                test_top1=result.test_top1,
                test_top5=result.test_top5,
                peak_memory_bytes=result.peak_memory_bytes,
            )
            if m.epoch == recipe.epochs:
                record["finished_at"] = time.time()
                if settings.measure_latency:
                    size = recipe.image_size or arch.input_size
                    # At batch 1 (the objective) and at the training batch, on the trial's device.
                    record["latency_ms"] = latency_ms(model_ref[0], (1, arch.in_channels, size, size), device)
                    record["latency_batch_ms"] = latency_ms(
                        model_ref[0], (recipe.batch_size, arch.in_channels, size, size), device
                    )
                record["status"] = "ok"
            report(dict(record))
            return True

        if settings.proxies:
            record.update(score_proxies(scale_width(arch, settings.width), recipe, data))
        model_ref: list[torch.nn.Module] = []
        if settings.measure_latency:
            from inas.model.network import build

            model_ref.append(build(arch).to(device))  # timing needs no trained weights
        # The errors come from the budget's fidelity: a reduced-width copy where the budget says so.
        _, result = train(scale_width(arch, settings.width), recipe, data, device=device, on_epoch=on_epoch)
        if result.status == "nan":
            raise FloatingPointError(result.message)
    except Exception as e:
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()
        if isinstance(e, torch.cuda.OutOfMemoryError):
            reason = "CUDA out of memory: " + reason
        # The worst error, so a scheduler comparing this report never favours a failed trial.
        record.update(status="fail", fail_reason=reason[:500], finished_at=time.time())
        record["val_top1"] = record.get("val_top1") if record.get("val_top1") is not None else 1.0
        if os.environ.get("INAS_DEBUG"):
            traceback.print_exc()
        report(dict(record))

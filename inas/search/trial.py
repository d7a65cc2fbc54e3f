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
from inas.model.latency import latency_ms, method
from inas.model.stats import measure
from inas.search.prescreen import score_proxies
from inas.space.sampling import resolve
from inas.space.schema import SearchSpace
from inas.study.choose import check_constraints
from inas.study.record import CONSTRAINTS_FOUND_KEY, INFEASIBLE_KEY
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
    constraints: tuple[tuple[str, str, float], ...] = ()  # --constraint: the trial checks those it measures
    width: float = 1.0  # below 1: train a reduced-width copy (the objectives stay the full network's)
    proxies: bool = False  # score the untrained network with the zero-cost proxies first
    memory_share: float = 1.0  # of its device's memory (Placement.memory_share)


def pick_trial_device() -> torch.device:
    """The GPU Ray assigned to this trial (Ray sets CUDA_VISIBLE_DEVICES), or the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def measure_latency(arch, batch_size: int, size: int, device: torch.device) -> dict[str, float]:
    """Milliseconds a forward pass of the untrained full network takes on the trial's device (timing
    needs no trained weights), at batch 1 (the objective) and at the training batch."""
    from inas.model.network import build

    model = build(arch).to(device)
    return {
        "latency_ms": latency_ms(model, (1, arch.in_channels, size, size), device),
        "latency_batch_ms": latency_ms(model, (batch_size, arch.in_channels, size, size), device),
        "latency_method": method(device),
    }


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
        recipe, _ = fit_batch(
            scale_width(arch, settings.width), recipe, device, False, len(data.train_x), settings.memory_share
        )
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
                record["status"] = "ok"
            report(dict(record))
            return True

        if settings.proxies:
            record.update(score_proxies(scale_width(arch, settings.width), recipe, data))
        if settings.measure_latency:
            size = recipe.image_size or arch.input_size
            record.update(measure_latency(arch, recipe.batch_size, size, device))
        if settings.constraints:
            violations, why = check_constraints(settings.constraints, record)
            record[CONSTRAINTS_FOUND_KEY] = json.dumps(violations)
            if why:  # never trained: the searcher records it as breaking --constraint
                report(
                    {
                        **record,
                        "status": INFEASIBLE_KEY,
                        INFEASIBLE_KEY: why,
                        "val_top1": 1.0,
                        "finished_at": time.time(),
                    }
                )
                return
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

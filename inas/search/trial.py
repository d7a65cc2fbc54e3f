"""What one Ray Tune trial runs: train the candidate the searcher resolved, report its record.

The function never raises for a candidate's own failure: it reports `TrialStatus.FAIL` with the
reason, so the searcher records the trial as FAIL and the search goes on.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch

from inas import __version__
from inas.data.datasets import ImageData
from inas.model.latency import latency_ms, method
from inas.search.candidate import InvalidCandidate, Resolved, error_line
from inas.search.prescreen import score_proxies
from inas.study.choose import check_constraints
from inas.study.record import TrialRecord, TrialStatus
from inas.train.loop import train
from inas.train.memory import fit_batch
from inas.train.recipe import TrainRecipe

CANDIDATE = "candidate"  # the key of a trial's config that holds its resolved candidate


@dataclass(frozen=True)
class TrialSettings:
    recipe: TrainRecipe  # the budget's recipe (its epochs count an invalid candidate's trial)
    cpus: float
    measure_latency: bool = False
    constraints: tuple[tuple[str, str, float], ...] = ()  # --constraint: the trial checks those it measures
    proxies: bool = False  # score the untrained network with the zero-cost proxies first
    memory_share: float = 1.0  # of its device's memory (Placement.memory_share)


def pick_trial_device() -> torch.device:
    """The GPU Ray assigned to this trial (Ray sets CUDA_VISIBLE_DEVICES), or the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def measure_latency(record: TrialRecord, arch, batch_size: int, size: int, device: torch.device) -> TrialRecord:
    """`record` with the milliseconds a forward pass of the untrained full network takes on the trial's
    device (timing needs no trained weights), at batch 1 (the objective) and at the training batch."""
    from inas.model.network import build

    model = build(arch).to(device)
    return record.replace(
        latency_ms=latency_ms(model, (1, arch.in_channels, size, size), device),
        latency_batch_ms=latency_ms(model, (batch_size, arch.in_channels, size, size), device),
        latency_method=method(device),
    )


def failure_reason(e: BaseException) -> str:
    """One line for a trial's failure (`error_line`), saying so when it is CUDA's memory."""
    oom = "CUDA out of memory: " if isinstance(e, torch.cuda.OutOfMemoryError) else ""
    return (oom + error_line(e))[:500]


def run_trial(config: dict[str, Any], settings: TrialSettings, data: ImageData, report=None) -> None:
    """The Ray Tune function trainable; `config[CANDIDATE]` is the candidate the searcher resolved.
    `report` defaults to `ray.tune.report`."""
    if report is None:
        from ray import tune

        report = tune.report

    def send(rec: TrialRecord) -> None:
        report(rec.to_report())  # every key, None where unmeasured: Ray wants the searched metrics in each report

    torch.set_num_threads(max(1, int(settings.cpus)))
    record = TrialRecord(
        epochs_total=settings.recipe.epochs,
        started_at=time.time(),
        node=socket.gethostname(),
        torch_version=torch.__version__,
        inas_version=__version__,
    )
    cand: Resolved = config[CANDIDATE]
    if isinstance(cand, InvalidCandidate):
        send(_failed(record, cand.reason))
        return
    try:
        device = pick_trial_device()
        # A batch too large for the memory free would swap or be killed: the largest that fits trains.
        recipe, _ = fit_batch(cand.trained, cand.recipe, device, False, len(data.train_x), settings.memory_share)
        record = record.replace(
            arch=cand.arch.to_dict(),
            recipe=recipe.to_dict(),
            arch_hash=cand.arch.hash(),
            params=cand.stats.params,
            macs=cand.stats.macs,
            epochs_total=recipe.epochs,
            train_width=cand.width,
            device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        )
        if settings.proxies:
            record = record.replace(**score_proxies(cand.trained, recipe, data))
        if settings.measure_latency:
            record = measure_latency(
                record, cand.arch, recipe.batch_size, recipe.image_size or cand.arch.input_size, device
            )
        if settings.constraints:
            measured = {name: getattr(record, name) for name, _, _ in settings.constraints}
            violations, why = check_constraints(settings.constraints, measured)
            record = record.replace(constraints=violations)
            if why:  # never trained: the searcher records it as breaking --constraint
                send(
                    record.replace(status=TrialStatus.INFEASIBLE, infeasible=why, val_top1=1.0, finished_at=time.time())
                )
                return

        def on_epoch(m, result) -> bool:
            nonlocal record
            record = record.replace(
                epochs_done=m.epoch,
                val_top1=m.val_top1,
                val_top5=m.val_top5,
                train_seconds=result.train_seconds,
                step_seconds=result.step_seconds,
                train_steps=result.train_steps,
                robust_train_seconds=result.robust_train_seconds,
                eval_seconds=result.eval_seconds,
                images_per_second=result.images_per_second,
                test_top1=result.test_top1,
                test_top5=result.test_top5,
                peak_memory_bytes=result.peak_memory_bytes,
                precision=result.precision or None,
                memory_format=result.memory_format or None,
            )
            if m.epoch == recipe.epochs:
                record = record.replace(status=TrialStatus.OK, finished_at=time.time())
            send(record)
            return True

        # The errors come from the budget's fidelity: a reduced-width copy where the budget says so.
        _, result = train(cand.trained, recipe, data, device=device, on_epoch=on_epoch)
        if result.status == "nan":
            raise FloatingPointError(result.message)
    except Exception as e:
        send(_failed(record, failure_reason(e)))
        if os.environ.get("INAS_DEBUG"):
            traceback.print_exc()


def _failed(record: TrialRecord, reason: str) -> TrialRecord:
    """`record` failed: it keeps what was measured, and the worst error when none was, so a scheduler
    comparing this report never favours a failed trial."""
    return record.replace(
        status=TrialStatus.FAIL,
        fail_reason=reason,
        val_top1=1.0 if record.val_top1 is None else record.val_top1,
        finished_at=time.time(),
    )

"""Classification metrics and the records a training run produces."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

WARMUP_STEPS = 1  # a run's first steps (allocation, kernel choice, compilation): counted, not timed


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """How many targets are among the k highest logits, for each k (k is capped at the class count)."""
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices  # N x kmax, best first
    hits = top == targets[:, None]
    return [int(hits[:, : min(k, kmax)].any(dim=1).sum()) for k in ks]


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int  # 1-based
    train_loss: float
    val_top1: float | None  # error rates; None when no validation split is held out
    val_top5: float | None
    images_per_second: float
    train_seconds: float
    eval_seconds: float
    lr: float


@dataclass
class TrainResult:
    """What a run reports. `status`: ok, nan (loss stopped being finite) or stopped (by the callback)."""

    status: str = "ok"
    epochs: list[EpochMetrics] = field(default_factory=list)
    test_top1: float | None = None
    test_top5: float | None = None
    train_seconds: float = 0.0  # the training epochs' wall clock (evaluation apart)
    eval_seconds: float = 0.0
    step_seconds: float | None = None  # the median training step after the warm-up, as `StepTimer` times it
    train_steps: int = 0  # optimizer steps taken
    images_per_second: float = 0.0
    peak_memory_bytes: int | None = None
    device: str = ""
    precision: str = ""  # what trained: bf16 (autocast) or fp32; see inas.train.precision
    memory_format: str = ""  # channels_last or contiguous (NCHW)
    threads: int = 0  # PyTorch's intra-op threads (the CPU's share of the work)
    torch_version: str = torch.__version__
    params: int = 0
    message: str = ""

    @property
    def val_top1(self) -> float | None:
        return self.epochs[-1].val_top1 if self.epochs else None

    @property
    def val_top5(self) -> float | None:
        return self.epochs[-1].val_top5 if self.epochs else None

    @property
    def robust_train_seconds(self) -> float | None:
        """The training time at the median step's pace (`median step x steps`), evaluation and warm-up
        apart, each step timed as `StepTimer` does: what a competing process on the same machine does
        not lengthen, where the wall clock (`train_seconds`) grows with it."""
        return None if self.step_seconds is None else self.step_seconds * self.train_steps

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["val_top1"], d["val_top5"] = self.val_top1, self.val_top5
        d["robust_train_seconds"] = self.robust_train_seconds
        return d


class StepTimer:
    """Each training step's seconds, between marks set at step boundaries. On a GPU, the device's time
    by CUDA events (no host sync per step; read after the epoch's sync). On a CPU, the process's CPU
    time shared over its `threads`: the time the step takes with its cores to itself, which a competing
    process does not lengthen (it takes the cores from the step, and the wall clock grows; on a shared
    2-core machine a spinning neighbour doubled the wall clock and moved this figure by under 10%,
    benchmarks/RESULTS.md). `median()` leaves the run's first `WARMUP_STEPS` out."""

    def __init__(self, device: torch.device, threads: int | None = None):
        self.cuda = device.type == "cuda"
        self.threads = max(1, threads or torch.get_num_threads())
        self.seconds: list[float] = []  # every step timed so far, in order
        self._marks: list[Any] = []

    def _now(self) -> Any:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.process_time()

    def start(self) -> None:
        """At an epoch's start, before its first batch is fetched."""
        self._marks = [self._now()]

    def mark(self) -> None:
        """After each step (fetching its batch included)."""
        self._marks.append(self._now())

    def stop(self) -> None:
        """At the epoch's end, after the device is synchronised: the epoch's steps join `seconds`."""
        pairs = zip(self._marks, self._marks[1:], strict=False)
        if self.cuda:
            self.seconds += [a.elapsed_time(b) / 1000 for a, b in pairs]
        else:
            self.seconds += [(b - a) / self.threads for a, b in pairs]
        self._marks = []

    def median(self) -> float | None:
        """The median step after the warm-up (the only steps when there are no others); None before any."""
        timed = self.seconds[WARMUP_STEPS:] or self.seconds
        return statistics.median(timed) if timed else None

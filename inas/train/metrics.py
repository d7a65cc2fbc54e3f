"""Classification metrics and the records a training run produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch


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
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["val_top1"], d["val_top5"] = self.val_top1, self.val_top5
        return d

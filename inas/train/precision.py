"""The precision and memory format a run trains in, chosen from what its device computes fast.

`auto` (the default recipe's): bf16 autocast on a CUDA GPU with bf16 and on a CPU with native bf16
instructions (AVX512_BF16 or AMX-BF16, which oneDNN runs convolutions and matrix products on); fp32
elsewhere. The memory format is channels_last in either precision on CUDA (cuDNN prefers it) and on a
CPU with oneDNN, whose convolutions and 3x3 max-pool run faster on it in fp32 too (benchmarks/RESULTS.md,
"channels_last on the CPU in fp32"); contiguous (NCHW) elsewhere.
`fp32` is always honoured (the seed's recipe uses it: it reproduces the seed). `bf16` asked of a device
without native bf16 is refused rather than emulated: emulated bf16 is slower than fp32 and no more exact.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from inas.errors import ConfigError
from inas.train.recipe import PRECISIONS

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 on x86


@dataclass(frozen=True)
class Numerics:
    """A resolved choice: `precision` bf16 (autocast; weights, optimizer state and the loss stay fp32)
    or fp32, and `memory_format` channels_last or contiguous (NCHW); `reason` says why."""

    precision: str
    memory_format: str
    reason: str = ""

    @property
    def channels_last(self) -> bool:
        return self.memory_format == "channels_last"

    def autocast(self, device: torch.device) -> AbstractContextManager:
        """The context the forward pass runs in (autocast keeps reductions and BatchNorm in fp32)."""
        if self.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return nullcontext()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, as on macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_bf16_missing() -> str | None:
    """None when this CPU computes bf16 natively through oneDNN; otherwise why it does not."""
    if not torch.backends.mkldnn.is_available():
        return "this PyTorch is built without oneDNN"
    if not set(CPU_BF16_FLAGS) & cpu_flags():
        return f"the CPU has no {' or '.join(CPU_BF16_FLAGS)} instructions"
    capability = torch.backends.cpu.get_cpu_capability()
    if not capability.startswith("AVX512"):
        # ATEN_CPU_CAPABILITY can hold PyTorch's kernels below what the CPU has.
        return f"PyTorch's CPU kernels run at {capability}, not AVX512"
    return None


def cuda_bf16_missing(device: torch.device) -> str | None:
    """None when the GPU computes bf16 natively (Ampere and later)."""
    with torch.cuda.device(device):
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return None
    return f"{torch.cuda.get_device_name(device)} has no native bf16"


def channels_last_layout(device: torch.device | str) -> str:
    """The memory format a run on `device` uses: channels_last where cuDNN or oneDNN runs it."""
    device = torch.device(device)
    fast = device.type == "cuda" or (device.type == "cpu" and torch.backends.mkldnn.is_available())
    return "channels_last" if fast else "contiguous"


def resolve(requested: str, device: torch.device, where: str = "recipe.precision") -> Numerics:
    """What `requested` (auto, bf16 or fp32) trains in on `device`; bf16 where it cannot run natively
    is a ConfigError."""
    if requested not in PRECISIONS:
        raise ConfigError(f"{where}: unknown value {requested!r}; choose one of {', '.join(PRECISIONS)}")
    layout = channels_last_layout(device)
    if requested == "fp32":
        return Numerics("fp32", layout, "fp32 asked")
    if device.type == "cuda":
        missing = cuda_bf16_missing(device)
    elif device.type == "cpu":
        missing = cpu_bf16_missing()
    else:
        missing = f"bf16 autocast is not used on {device.type}"
    if missing is None:
        return Numerics("bf16", "channels_last", f"native bf16 on {device.type}")
    if requested == "bf16":
        raise ConfigError(f"{where}: bf16 needs native bf16 and {missing}; use auto or fp32")
    return Numerics("fp32", layout, missing)

"""How many threads a run's operators use: no more than the CPUs this process may run on."""

from __future__ import annotations

import os
from pathlib import Path

import torch

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "QUOTA PERIOD" or "max PERIOD"


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity mask, bounded by a container's CPU quota (which
    PyTorch's default, the machine's cores, ignores: threads beyond it take turns and run slower)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()
        if quota != "max":
            n = min(n, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, n)


def set_threads(n: int | None = None) -> int:
    """Set PyTorch's intra-op threads to `n`, or by default to its own choice capped at `usable_cpus()`
    (an OMP_NUM_THREADS the user set is kept); the number in use."""
    if n is None and "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    n = n if n is not None else min(torch.get_num_threads(), usable_cpus())
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()

"""Ray for a search: join a cluster or start a local one, and how many trials fit on it at once."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inas.errors import InasError
from inas.search.settings import SearchSettings


@contextlib.contextmanager
def scoped_env(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore what was there."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself retries for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" and the like: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise InasError(
            f"--address {address}: nothing answers there ({e.strerror or e}); start the cluster with "
            "`ray start --head` and pass the address it prints, or `--address auto` on a cluster node"
        ) from None


@contextlib.contextmanager
def ray_session(s: SearchSettings) -> Iterator[None]:
    """Join the cluster at `--address`, or start a local Ray, unless Ray is already running here."""
    if s.address:
        check_reachable(s.address)
    # Ray's own progress tables would fight the live view; Ctrl-C must raise KeyboardInterrupt out of
    # Tuner.fit (Ray would otherwise stop quietly and return), so the search can mark what was running.
    env = {"RAY_AIR_NEW_OUTPUT": os.environ.get("RAY_AIR_NEW_OUTPUT", "0"), "TUNE_DISABLE_SIGINT_HANDLER": "1"}
    with scoped_env(**env):
        import ray

        if ray.is_initialized():
            yield
            return
        with _init(s):
            yield


@contextlib.contextmanager
def _init(s: SearchSettings) -> Iterator[None]:
    import ray

    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    if not s.verbose:  # Ray's banners (token authentication, the local instance it started) stay off stderr
        logging.getLogger("ray").setLevel(logging.ERROR)
    if s.address:
        kwargs["address"] = s.address
    else:
        kwargs.update(num_cpus=s.num_cpus, num_gpus=s.num_gpus)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {s.address}" if s.address else "a local Ray"
        raise InasError(
            f"cannot start or join {where} ({str(e).splitlines()[0]}); check --address and, with token "
            "authentication, that RAY_AUTH_TOKEN matches the cluster's"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class Placement:
    """The GPU share a trial takes, how many trials the cluster runs at once, and the share of its
    device's memory a trial may take (trials sharing a GPU, or a node's RAM, must not each fit to all)."""

    gpus_per_trial: float
    fits: int
    memory_share: float = 1.0


def placement(s: SearchSettings) -> Placement:
    """Where trials go on the running Ray; a trial that fits nowhere is bad input."""
    import ray

    cluster = ray.cluster_resources()
    cpus, gpus = cluster.get("CPU", 0), s.gpus_per_trial
    if gpus is None:
        gpus = 1.0 if cluster.get("GPU", 0) >= 1 else 0.0
    if gpus > cluster.get("GPU", 0):
        raise InasError(
            f"--gpus-per-trial {gpus:g}: the Ray cluster has {cluster.get('GPU', 0):g} GPUs; "
            "lower it (0 trains on the CPU) or join a cluster with GPUs (--address)"
        )
    if s.cpus_per_trial > cpus:
        raise InasError(f"--cpus-per-trial {s.cpus_per_trial:g}: the Ray cluster has {cpus:g} CPUs; lower it")
    fits = int(cpus // s.cpus_per_trial)
    if gpus > 0:
        fits = min(fits, int(cluster.get("GPU", 0) // gpus))
    if s.max_concurrent:
        fits = min(fits, s.max_concurrent)
    if gpus > 0:
        share = min(1.0, gpus)
    else:  # CPU trials share their node's RAM: as many as the largest node runs at once
        node_cpus = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=cpus)
        share = 1 / max(1, min(fits, int(node_cpus // s.cpus_per_trial)))
    return Placement(gpus, fits, share)

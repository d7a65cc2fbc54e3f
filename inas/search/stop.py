"""How a search is stopped: Ctrl-C and SIGTERM set one flag and raise KeyboardInterrupt.

The KeyboardInterrupt raised at once can land inside library code that swallows it (seen once in CI: a
SIGINT ignored, the search ran to its end); `inas.search.heartbeat.StopOnSignal` raises it again from
Tune's loop, where nothing does.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

STOP_REQUESTED = threading.Event()


class SearchStopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped Tune; `stopped`: how many of the search's running trials were failed."""

    def __init__(self, stopped: int):
        super().__init__(stopped)
        self.stopped = stopped


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (what `kill`, systemd and job schedulers send) stop a search: running
    trials are marked, finished ones kept. Only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        STOP_REQUESTED.set()
        raise KeyboardInterrupt

    before = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def past(deadline: float | None) -> bool:
    """Whether --timeout's moment (a `time.time()`; None: no timeout) has come."""
    return deadline is not None and time.time() >= deadline

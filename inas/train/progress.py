"""The progress a long pass shows on stderr: in a terminal a bar with img/s and the time left, and
otherwise (a log, a pipe) a line at the end of each pass. `inas train`, `inas export` and `inas
evaluate` all show this one."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from inas.train.metrics import EpochMetrics, TrainResult


def duration(seconds: float) -> str:
    """`seconds` as a person reads a wait: 45 s, 12 min, 2.3 h."""
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"


def _err(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


class PassProgress:
    """Progress over `passes` passes of batches of `batch_size` images (epochs, or one evaluation).
    Use as a context manager; feed it `on_batch` (a loop's BatchCallback), and `on_epoch` for training."""

    def __init__(self, passes: int, batch_size: int, name: str = "epoch", images: int | None = None) -> None:
        """`images`: of a pass, where its last batch may be short (an evaluation's); a training loader
        drops a short batch."""
        self.passes, self.batch_size, self.name, self.images = passes, batch_size, name, images
        self.progress = Progress(
            TextColumn("{task.fields[label]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            TextColumn("{task.fields[status]}"),
            # On stderr in every mode (stdout keeps --json's JSON alone); where stderr is not a terminal
            # the bar draws nothing, and the lines `line` prints are the progress.
            console=Console(stderr=True, soft_wrap=True),
            transient=False,
        )
        self.task = None
        self.current = 1  # the pass under way
        self.start = self.pass_start = time.perf_counter()

    def __enter__(self) -> PassProgress:
        self.progress.start()
        self.start = self.pass_start = time.perf_counter()
        self.task = self.progress.add_task(
            self.name, total=None, label=self._label(), speed="", left="", status="", start=True
        )
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def _label(self) -> str:
        return f"{self.name} {self.current}/{self.passes}" if self.passes > 1 or self.name == "epoch" else self.name

    def on_batch(self, done: int, total: int) -> None:
        now = time.perf_counter()
        seconds = now - self.pass_start
        images = done * self.batch_size if self.images is None else min(done * self.batch_size, self.images)
        speed = f"{images / seconds:,.0f} img/s" if seconds > 0 else ""
        # The whole run's time left, from the batches of every pass so far (an epoch's is not what one waits for).
        finished = (self.current - 1) * total + done
        left = (now - self.start) / finished * (self.passes * total - finished)
        self.progress.update(
            self.task, completed=done, total=total, speed=speed, left=f"about {duration(left)} left" if left else ""
        )

    def line(self, text: str) -> None:
        """A line above the bar (the only output where stderr is not a terminal)."""
        self.progress.console.print(text, highlight=False)

    def end_pass(self, number: int, status: str) -> None:
        """Pass `number` is done: its line (with the time so far and, before the last, the time left)."""
        now = time.perf_counter()
        left = (now - self.start) / number * (self.passes - number)
        when = f"{duration(now - self.start)}" + (f", about {duration(left)} left" if left > 0 else "")
        label = f"{self.name} {number}/{self.passes}" if self.passes > 1 or self.name == "epoch" else self.name
        self.current = min(number + 1, self.passes)
        self.progress.update(self.task, label=self._label(), status=status)
        self.line(f"{label}: {status}  ({when})")
        self.pass_start = time.perf_counter()

    def on_epoch(self, m: EpochMetrics, _result: TrainResult) -> bool:
        """A training loop's EpochCallback: the epoch's loss, validation error (where there is a
        validation split) and speed. Never stops training."""
        val = f"  val top-1 err {_err(m.val_top1)}" if m.val_top1 is not None else ""
        self.end_pass(m.epoch, f"loss {m.train_loss:.3f}{val}  {m.images_per_second:,.0f} img/s")
        return True

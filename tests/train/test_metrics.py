"""The robust training time: each step timed between marks (on a CPU, the process's CPU time shared
over its threads), the median after the warm-up, times the steps."""

import torch

from inas.train.metrics import WARMUP_STEPS, StepTimer, TrainResult


def test_the_median_step_leaves_the_warm_up_and_stalls_out(monkeypatch):
    clock = iter([0.0, 5.0, 5.1, 5.2, 9.2, 9.3])  # a 5 s first step, a 4 s stall, three 0.1 s steps
    monkeypatch.setattr("inas.train.metrics.time.process_time", lambda: next(clock))
    timer = StepTimer(torch.device("cpu"), threads=1)
    timer.start()
    for _ in range(5):
        timer.mark()
    timer.stop()
    assert len(timer.seconds) == 5 and WARMUP_STEPS == 1
    assert abs(timer.median() - 0.1) < 1e-9  # the wall clock says 9.3 s; the pace says 0.5 s
    result = TrainResult(train_seconds=9.3, step_seconds=timer.median(), train_steps=len(timer.seconds))
    assert abs(result.robust_train_seconds - 0.5) < 1e-9
    assert result.to_dict()["robust_train_seconds"] == result.robust_train_seconds


def test_epochs_add_up_and_one_step_is_its_own_median():
    timer = StepTimer(torch.device("cpu"))
    assert timer.median() is None and TrainResult().robust_train_seconds is None
    timer.start()
    timer.mark()
    timer.stop()
    assert timer.median() == timer.seconds[0] >= 0  # only the warm-up step: it is the figure
    timer.start()
    timer.mark()
    timer.mark()
    timer.stop()
    assert len(timer.seconds) == 3  # the time between epochs (evaluation) is no step's


def test_cpu_time_is_shared_over_the_threads(monkeypatch):
    clock = iter([0.0, 4.0, 8.0])  # two threads busy for 2 s a step: 4 s of CPU time each
    monkeypatch.setattr("inas.train.metrics.time.process_time", lambda: next(clock))
    timer = StepTimer(torch.device("cpu"), threads=2)
    timer.start()
    timer.mark()
    timer.mark()
    timer.stop()
    assert timer.seconds == [2.0, 2.0]

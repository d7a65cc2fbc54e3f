"""The progress `inas train`, `inas export` and `inas evaluate` show: where stderr is no terminal, a
line a pass."""

from inas.train.metrics import EpochMetrics, TrainResult
from inas.train.progress import PassProgress, duration


def test_durations_read_as_a_wait():
    assert [duration(s) for s in (4.2, 89, 95, 41 * 60, 2.34 * 3600)] == ["4 s", "89 s", "2 min", "41 min", "2.3 h"]


def test_a_line_an_epoch_with_the_time_left(capsys):
    with PassProgress(2, 32) as progress:
        for epoch in (1, 2):
            for done in (1, 2, 3):
                progress.on_batch(done, 3)
            m = EpochMetrics(epoch, 1.5, None, None, 900.0, 0.1, 0.0, 0.1)
            assert progress.on_epoch(m, TrainResult()) is True
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("epoch 1/2: loss 1.500  900 img/s  (") and lines[0].endswith(" s left)")
    assert lines[1].startswith("epoch 2/2: loss 1.500  900 img/s  (") and "left" not in lines[1]  # no val split


def test_validation_error_where_there_is_a_split(capsys):
    with PassProgress(1, 32) as progress:
        progress.on_epoch(EpochMetrics(1, 0.5, 0.25, 0.05, 10.0, 1.0, 0.0, 0.1), TrainResult())
    assert "epoch 1/1: loss 0.500  val top-1 err 0.2500  10 img/s" in capsys.readouterr().err

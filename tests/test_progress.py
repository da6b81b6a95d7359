"""Progress lines and warnings on the terminal of a workflow job (nutune.progress, nutune.stages.common.log_to)."""

from __future__ import annotations

import io
import logging
import sys
import warnings

import pytest

from nutune.npe.training import EpochSchedule
from nutune.progress import RateLimit, format_seconds, progress
from nutune.stages.common import log_to


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_first_call_then_every_interval():
    clock = FakeClock()
    rate = RateLimit(10.0, clock=clock)
    due = []
    for t in (0.0, 3.0, 9.9, 10.0, 15.0, 19.9, 20.5):
        clock.now = t
        due.append(rate.due())
    assert due == [True, False, False, True, False, False, True]
    assert rate.elapsed() == 20.5


@pytest.mark.parametrize("seconds, text", [(4.2, "4 s"), (65, "1 min 05 s"), (7620, "2 h 07 min"), (-1, "0 s")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_training_progress_line_has_epoch_losses_best_elapsed_and_time_left():
    clock = FakeClock()
    schedule = EpochSchedule(max_num_epochs=99, member=3, stop_after_epochs=20)
    schedule.rate = RateLimit(10.0, clock=clock)
    schedule.best_val_loss, schedule.best_epoch, schedule.epoch_seconds = -1.25, 8, 20.0
    clock.now = 30.0  # 10 s of set-up + 10 epochs of 2 s
    line = schedule.progress_line(10, -1.0, -1.2)
    # sbi runs epochs 0 .. max_num_epochs: the budget is 100; 10 epochs of 2 s -> at most 90 * 2 s left
    assert line == ("member 3: epoch 10/100  train -1.0000  val -1.2000  best -1.2500 (epoch 8, 2/20 epochs "
                    "without improvement)  elapsed 30 s, at most 3 min 00 s left")


def _job(tmp_path, body):
    """Run ``body`` inside log_to as a workflow job would, with a captured 'terminal' stderr: (terminal, log)."""
    terminal = io.StringIO()
    old = sys.stderr
    sys.stderr = terminal
    try:
        with log_to(tmp_path / "logs" / "train_npe" / "0.log"):
            body()
    finally:
        sys.stderr = old
    return terminal.getvalue(), (tmp_path / "logs" / "train_npe" / "0.log").read_text()


def test_log_to_shows_progress_and_each_nutune_warning_once_on_the_terminal(tmp_path):
    npe_log = logging.getLogger("nutune.npe")

    def body():
        npe_log.info("epoch 1  train_loss 1.0")  # file only
        for epoch in (1, 2):
            progress(npe_log, "member 0: epoch %d/3", epoch)
        for _ in range(3):  # repeated per member / throw / observation: once on the terminal
            npe_log.warning("too little posterior mass")
        logging.getLogger("sbi.inference").warning("third-party warning")  # log file only
        warnings.warn("python warning", UserWarning, stacklevel=1)  # log file only
        print("stray print to stderr", file=sys.stderr)  # log file only

    terminal, log = _job(tmp_path, body)
    assert terminal.splitlines() == [
        "[train_npe/0] member 0: epoch 1/3",
        "[train_npe/0] member 0: epoch 2/3",
        "[train_npe/0] WARNING too little posterior mass",
    ]
    assert log.count("too little posterior mass") == 3  # the log file keeps every record
    for text in ("epoch 1  train_loss 1.0", "third-party warning", "python warning", "stray print to stderr"):
        assert text in log


def test_log_to_names_a_failure_on_the_terminal(tmp_path):
    def body():
        raise ValueError("bad bins")

    terminal = io.StringIO()
    old = sys.stderr
    sys.stderr = terminal
    try:
        with pytest.raises(ValueError), log_to(tmp_path / "logs" / "throws" / "t2k.log"):
            body()
    finally:
        sys.stderr = old
    assert terminal.getvalue().strip() == "[throws/t2k] ERROR job failed; see the traceback above: ValueError: bad bins"
    assert "Traceback" in (tmp_path / "logs" / "throws" / "t2k.log").read_text()


def test_epoch_end_logs_every_epoch_to_the_file_and_a_progress_line_every_interval(caplog):
    """Every epoch is a log record; progress lines (the terminal's) come on the first epoch, then every 10 s."""

    class Optimizer:
        param_groups = [{"lr": 1e-3}]

    clock = FakeClock()
    schedule = EpochSchedule(max_num_epochs=49, member=0, stop_after_epochs=20)
    schedule.rate = RateLimit(10.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="nutune.npe"):
        for epoch in range(50):
            clock.now = 3.0 * (epoch + 1)  # 3 s per epoch
            schedule.epoch_end(epoch, 1.0 / (epoch + 1), 2.0 / (epoch + 1), 3.0, Optimizer())
    epochs = [r for r in caplog.records if r.getMessage().startswith("epoch ")]
    lines = [r.getMessage() for r in caplog.records if getattr(r, "progress", False)]
    assert len(epochs) == 50
    assert [line.split()[3] for line in lines] == ["1/50", "5/50", "9/50", "13/50", "17/50", "21/50", "25/50",
                                                   "29/50", "33/50", "37/50", "41/50", "45/50", "49/50"]
    assert "best 0.0408 (epoch 49" in lines[-1] and "at most 3 s left" in lines[-1]

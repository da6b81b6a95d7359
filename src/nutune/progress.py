"""Progress lines of long-running steps (training epochs, covariance throws), shown on the terminal while they run.

A progress line is an ordinary ``logging`` record at INFO with the attribute ``progress=True`` (:func:`progress`).
In a workflow job :func:`nutune.stages.common.log_to` writes every record to the job's log file and, in addition, the
progress records and every warning to the terminal that runs snakemake (:func:`terminal_handler`), so a user sees
how far training and throws are without opening ``logs/``. Outside the workflow they are normal log records.

:class:`RateLimit` keeps the terminal readable: a step asks it whether a line is due (the first call, then at most
one per ``seconds``), and always prints its final line itself. Imports nothing from nutune (bottom of the import
order).
"""

from __future__ import annotations

import logging
import time
from typing import TextIO

__all__ = ["PROGRESS_SECONDS", "RateLimit", "progress", "is_progress", "for_terminal", "terminal_handler",
           "format_seconds", "OnceFilter"]

#: Seconds between two progress lines of one step on the terminal (the log file gets every epoch regardless).
PROGRESS_SECONDS = 10.0


def progress(logger: logging.Logger, message: str, *args: object) -> None:
    """Log ``message % args`` at INFO as a progress line (also shown on the terminal of a workflow job)."""
    logger.info(message, *args, extra={"progress": True})


def is_progress(record: logging.LogRecord) -> bool:
    """Whether a log record is a progress line (:func:`progress`)."""
    return bool(getattr(record, "progress", False))


def format_seconds(seconds: float) -> str:
    """A duration as ``42 s``, ``3 min 05 s`` or ``2 h 07 min`` (progress lines, estimates)."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class RateLimit:
    """Says when the next progress line of one step is due: the first time asked, then every ``seconds``."""

    def __init__(self, seconds: float = PROGRESS_SECONDS, *, clock=time.monotonic) -> None:
        self.seconds, self._clock = float(seconds), clock
        self.start = clock()
        self._last: float | None = None

    def due(self) -> bool:
        """True (and the clock restarts) when a line is due now."""
        now = self._clock()
        if self._last is None or now - self._last >= self.seconds:
            self._last = now
            return True
        return False

    def elapsed(self) -> float:
        """Seconds since this limiter was made (the step's start)."""
        return self._clock() - self.start


class OnceFilter(logging.Filter):
    """Lets each distinct warning message through once per handler (a warning repeated per member, throw or
    observation reaches the terminal once; the log file keeps its own copy of each)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Record at WARNING or above: pass the first of each (logger, message); anything else passes."""
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def for_terminal(record: logging.LogRecord) -> bool:
    """Whether a record goes to the terminal: nutune's progress lines, and nutune's warnings and errors.

    Third-party warnings (sbi's "max_num_epochs reached", emcee's autocorrelation note, Python ``warnings``) stay
    in the job's log file: nutune states what they mean for the run in its own words (e.g. the training's last
    progress line says when a member stopped at the epoch budget), once.
    """
    if record.name != "nutune" and not record.name.startswith("nutune."):
        return False
    return is_progress(record) or record.levelno >= logging.WARNING


def terminal_handler(stream: TextIO, label: str) -> logging.Handler:
    """A handler for the terminal of a workflow job: progress lines and nutune's warnings (each distinct message
    once per job, :class:`OnceFilter`), prefixed by ``label``.

    Args:
        stream: the job's real stderr (Snakemake passes it through to the terminal or the cluster's job log).
        label: what names the job on a shared terminal, e.g. ``train_npe/0``.
    """
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    handler.addFilter(for_terminal)
    handler.addFilter(OnceFilter())
    handler.setFormatter(_TerminalFormatter(label))
    return handler


class _TerminalFormatter(logging.Formatter):
    """``[label] message`` for progress lines, ``[label] WARNING message`` for warnings and errors."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno < logging.WARNING else f"{record.levelname} "
        error = ""
        if record.exc_info and record.exc_info[1] is not None:  # the traceback is in the log file
            error = f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}".split("\n")[0]
        return f"[{self.label}] {level}{record.getMessage()}{error}"

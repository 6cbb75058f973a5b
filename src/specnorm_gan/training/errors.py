"""The exceptions of the training loop."""

from __future__ import annotations

import signal
from typing import Optional

__all__ = ["CheckpointError", "NonFiniteLossError", "TrainingInterrupted"]


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not match the run (nothing was overwritten)."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stopped (the last good checkpoint is kept).

    Attributes:
        iteration: the (1-based) iteration whose loss was not finite.
        checkpoint: path of the last checkpoint written (None if none).
    """

    def __init__(self, message: str, iteration: int, checkpoint: Optional[str]) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.checkpoint = checkpoint


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM stopped training after a checkpoint was written.

    Attributes:
        signum: the signal number.
        iteration: iterations completed.
        checkpoint: path of the checkpoint written on the way out.
    """

    def __init__(self, signum: int, iteration: int, checkpoint: Optional[str]) -> None:
        name = signal.Signals(signum).name if signum in {s.value for s in signal.Signals} else str(signum)
        super().__init__(f"{name} received: stopped after iteration {iteration}; checkpoint: {checkpoint}")
        self.signum = signum
        self.iteration = iteration
        self.checkpoint = checkpoint

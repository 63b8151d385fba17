"""Optimisation settings of the torch methods, in a module without torch.

Method configs (e.g. :class:`altbench.methods.mlp.Mlp`) hold a :class:`TrainConfig`;
resolving an experiment (``altbench status``) reads them without importing
torch.  The training loop itself is :mod:`altbench.train`; early stopping's
bookkeeping is :mod:`altbench.early_stop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from annotated_types import Ge, Gt

ID_IF_SET = {"id": "if_set"}  # = altbench.config.ID_IF_SET (not imported: that module imports the methods)


@dataclass(frozen=True)
class EarlyStop:
    """When to end a fit before ``epochs`` run out (Prechelt 1998, "Early stopping — but when?").

    Every ``every`` (an epoch, or N optimizer steps) the monitored loss is
    measured; after ``patience`` checks in a row without an improvement larger
    than ``min_delta`` the fit stops, never before ``min_steps`` steps.  Both
    monitors read labelled rows only, never test data: ``val_loss`` is the mean
    loss on the ``budget.validation`` rows (bought from the pool and never
    trained on); ``train_loss`` is the labelled-only fallback, the mean step
    loss over the window since the previous check (a smoothed training loss).
    ``restore_best`` ends on the weights of the best check (the last one that
    improved by more than ``min_delta``).  Per-step learning-rate schedules
    keep the shape they have over all ``epochs``; a stop cuts them short.
    """

    monitor: Literal["train_loss", "val_loss"] = "train_loss"  # val_loss needs budget.validation > 0
    patience: Annotated[int, Gt(0)] = 2  # checks in a row without improvement before stopping
    min_delta: Annotated[float, Ge(0)] = 0.0  # an improvement must lower the best loss by more than this
    every: Annotated[int, Gt(0)] | Literal["epoch"] = "epoch"  # check after each epoch, or every N optimizer steps
    restore_best: bool = True  # end with the weights of the best check (val_loss: Prechelt's rule)
    min_steps: Annotated[int, Ge(0)] = 0  # no stop before this many steps (a method's min_steps is added at fit time)

    def __post_init__(self):
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise ValueError(f"early_stop.patience must be a positive integer, got {self.patience!r}")
        if not self.min_delta >= 0:
            raise ValueError(f"early_stop.min_delta must be >= 0, got {self.min_delta!r}; write e.g. 0.0")
        if self.every != "epoch" and not (isinstance(self.every, int) and self.every >= 1):
            raise ValueError(f"early_stop.every must be 'epoch' or a positive step count, got {self.every!r}")
        if not (isinstance(self.min_steps, int) and self.min_steps >= 0):
            raise ValueError(f"early_stop.min_steps must be a non-negative integer, got {self.min_steps!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by all torch methods."""

    epochs: int = 60  # passes over the labelled set (with early_stop: at most this many)
    batch_size: int = 32  # mini-batch size (the last batch may be smaller)
    lr: float = 1e-3  # AdamW learning rate (base rate for param groups)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    grad_clip: float | None = 1.0  # max global grad norm, None to disable
    # stop when the monitored loss stops improving (None: run all epochs); = ID_IF_SET, old run ids kept
    early_stop: EarlyStop | None = field(default=None, metadata=ID_IF_SET)


def needs_validation(cfg: TrainConfig) -> bool:
    """True when ``cfg`` stops early on the validation loss (the method then asks the loop for
    ``fit(..., validation=(X_val, y_val))``)."""
    return cfg.early_stop is not None and cfg.early_stop.monitor == "val_loss"

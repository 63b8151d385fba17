"""Optimisation settings of the torch methods, in a module without torch.

Method configs (e.g. :class:`altbench.methods.mlp.Mlp`) hold a :class:`TrainConfig`;
resolving an experiment (``altbench status``) reads them without importing
torch.  The training loop itself is :mod:`altbench.train`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by all torch methods."""

    epochs: int = 60  # passes over the labelled set
    batch_size: int = 32  # mini-batch size (the last batch may be smaller)
    lr: float = 1e-3  # AdamW learning rate (base rate for param groups)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    grad_clip: float | None = 1.0  # max global grad norm, None to disable

"""The one training loop every torch-based transfer method plugs into.

Methods differ in *what* they train (modules, parameter groups with their
own learning rates, per-epoch schedules such as gradual unfreezing), never in
the loop itself.  Mini-batch order comes from an explicit ``torch.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by all torch methods."""

    epochs: int = 60  # passes over the labelled set
    batch_size: int = 32  # mini-batch size (the last batch may be smaller)
    lr: float = 1e-3  # AdamW learning rate (base rate for param groups)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    grad_clip: float | None = 1.0  # max global grad norm, None to disable


EpochHook = Callable[[int, torch.optim.Optimizer], None]


def train(module: nn.Module, X: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, *,
          generator: torch.Generator, param_groups: Iterable[dict] | None = None,
          on_epoch_start: EpochHook | None = None,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> nn.Module:
    """Fit ``module`` on (X, y) with AdamW and return it in eval mode.

    X: (n, ...) inputs already on the module's device; y: (n,) int64 labels.
    ``param_groups`` overrides the single default group (e.g. layer-wise LRs);
    ``on_epoch_start(epoch, optimizer)`` may change LRs or freeze layers.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    groups = list(param_groups) if param_groups is not None else [{"params": list(module.parameters())}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(y)
    module.train()
    for epoch in range(cfg.epochs):
        if on_epoch_start is not None:
            on_epoch_start(epoch, opt)
        order = torch.randperm(n, generator=generator).to(y.device)
        for start in range(0, n, cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(X[batch]), y[batch])
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
            opt.step()
    module.eval()
    return module

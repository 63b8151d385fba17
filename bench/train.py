"""The one training loop every torch-based transfer method plugs into.

Methods differ in *what* they train (modules, parameter groups with their
own learning rates, per-epoch schedules such as gradual unfreezing, per-step
learning-rate schedules such as ULMFiT's slanted triangle, contrastive
losses over pairs), never in the loop itself.  Mini-batch order comes from an
explicit ``torch.Generator``.  The loop records the mean loss of the last
epoch on the module (``module.train_loss_``), the optimizer steps taken
(``module.train_steps_``), and stops with :class:`altbench.outputs.NonFiniteError`
once the loss is NaN or inf.  ``cfg.early_stop`` (off by default) ends a fit
when a labelled-only loss stops improving (Prechelt 1998; :mod:`altbench.early_stop`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import torch
from torch import nn

from altbench.early_stop import Validation, stopper_for
from altbench.outputs import NonFiniteError
from altbench.train_config import TrainConfig  # torch-free, so method configs resolve without torch


def with_min_steps(cfg: TrainConfig, n: int, min_steps: int) -> TrainConfig:
    """``cfg`` with enough epochs for at least ``min_steps`` optimizer steps on n rows
    (tiny labelled sets otherwise get a handful of updates); early stopping, if on,
    never stops before ``min_steps`` either."""
    steps_per_epoch = -(-n // cfg.batch_size)
    stop = cfg.early_stop
    if stop is not None:
        stop = dataclasses.replace(stop, min_steps=max(stop.min_steps, min_steps))
    return dataclasses.replace(cfg, epochs=max(cfg.epochs, -(-min_steps // steps_per_epoch)), early_stop=stop)


def total_steps(net: nn.Module) -> int | None:
    """Optimizer steps :func:`train` took on ``net`` and its submodules, summed (lp-ft: the head
    alone, then the whole net); None when none of them was trained here."""
    steps = [m.train_steps_ for m in net.modules() if getattr(m, "train_steps_", None) is not None]
    return sum(steps) if steps else None


EpochHook = Callable[[int, torch.optim.Optimizer], None]
# lr_schedule(step, total_steps) -> factor applied to every group's base lr
LrSchedule = Callable[[int, int], float]
# encode_batch(indices (b,) int64) -> the module's input(s) for those rows
BatchEncoder = Callable[[torch.Tensor], Any]
CHECK_EVERY = 50  # steps between loss checks (each check syncs with the device once)


def take_rows(X: Any, idx: torch.Tensor) -> Any:
    """Rows ``idx`` of a tensor or of each tensor in a tuple/list."""
    if isinstance(X, (tuple, list)):
        return tuple(x[idx] for x in X)
    return X[idx]


def call(module: nn.Module, inputs: Any) -> torch.Tensor:
    """``module(*inputs)`` for a tuple of inputs, else ``module(inputs)``."""
    return module(*inputs) if isinstance(inputs, tuple) else module(inputs)


def forward_rows(module: nn.Module, X: Any, idx: torch.Tensor) -> torch.Tensor:
    """The module's output for rows ``idx`` of X: tensors (or a tuple of them), or
    a BatchEncoder that builds the inputs of those rows."""
    return call(module, X(idx) if callable(X) else take_rows(X, idx))


class LossLog:
    """Per-step losses kept on the device and checked every ``CHECK_EVERY`` steps.

    ``epoch_mean`` is the mean step loss of the last finished epoch.
    """

    def __init__(self, total_steps: int):
        self.total = total_steps
        self.pending: list[torch.Tensor] = []  # detached (scalar) losses not yet checked
        self.first_step = 0  # step number of pending[0]
        self.epoch_sum, self.epoch_steps = 0.0, 0
        self.epoch_mean: float | None = None

    def add(self, loss: torch.Tensor) -> None:
        self.pending.append(loss.detach())
        if len(self.pending) >= CHECK_EVERY:
            self.flush()

    def flush(self) -> None:
        """Check the pending losses; NonFiniteError at the first non-finite one."""
        if not self.pending:
            return
        values = torch.stack(self.pending).double().cpu()  # (k,)
        bad = torch.nonzero(~torch.isfinite(values)).flatten()
        if len(bad):
            kind = "NaN" if torch.isnan(values[bad[0]]) else "inf"
            raise NonFiniteError(f"training loss became {kind} at step {self.first_step + int(bad[0]) + 1} of "
                                 f"{self.total}; lower the learning rate (train.lr) or check the inputs")
        self.epoch_sum += float(values.sum())
        self.epoch_steps += len(values)
        self.first_step += len(values)
        self.pending = []

    def end_epoch(self) -> None:
        self.flush()
        if self.epoch_steps:
            self.epoch_mean = self.epoch_sum / self.epoch_steps
        self.epoch_sum, self.epoch_steps = 0.0, 0


def train(module: nn.Module, X: Any, y: torch.Tensor, cfg: TrainConfig, *,
          generator: torch.Generator, param_groups: Iterable[dict] | None = None,
          on_epoch_start: EpochHook | None = None,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
          lr_schedule: LrSchedule | None = None,
          encode_batch: BatchEncoder | None = None,
          validation: Validation | None = None) -> nn.Module:
    """Fit ``module`` on (X, y) with AdamW and return it in eval mode.

    X: (n, ...) inputs already on the module's device, or a tuple of such
    tensors (the module is called with one argument per tensor), or ``None``
    when ``encode_batch(idx)`` builds each batch's inputs (e.g. tokenised text
    or sentence pairs).  y: (n,) targets (int64 labels for the default
    cross-entropy; any dtype ``loss_fn(output, y[idx])`` accepts).
    ``param_groups`` overrides the single default group (e.g. layer-wise LRs);
    ``on_epoch_start(epoch, optimizer)`` may change LRs or freeze layers;
    ``lr_schedule(step, total)`` multiplies each group's base lr (its lr when
    the optimizer was built) before every step.  Frozen parameters
    (``requires_grad=False``) get no gradient and AdamW skips them.
    ``validation=(X_val, y_val)``: K labelled validation rows (tensors like X,
    or a BatchEncoder over them, and (K,) targets) for ``cfg.early_stop`` with
    ``monitor: val_loss``; nothing else reads them (never test rows).
    Sets ``module.train_loss_``: the mean step loss of the last epoch (None
    with no steps), ``module.train_steps_``: optimizer steps taken, and with
    early stopping ``module.early_stop_``: the stopper (its ``checks`` and ``best``);
    raises NonFiniteError when a step's loss is NaN or inf.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    groups = list(param_groups) if param_groups is not None else [{"params": list(module.parameters())}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    base_lrs = [g["lr"] for g in opt.param_groups]
    n = len(y)
    steps_per_epoch = -(-n // cfg.batch_size)
    total, step = cfg.epochs * steps_per_epoch, 0
    log = LossLog(total)
    stopper = stopper_for(cfg, validation, loss_fn, forward_rows)  # None: the fixed schedule

    def set_lr(step: int) -> None:
        if lr_schedule is not None:
            factor = lr_schedule(step, total)
            for g, base in zip(opt.param_groups, base_lrs):
                g["lr"] = base * factor

    module.train()
    for epoch in range(cfg.epochs):
        set_lr(step)  # the hook sees this epoch's first-step rates
        if on_epoch_start is not None:
            on_epoch_start(epoch, opt)
        order = torch.randperm(n, generator=generator).to(y.device)
        for start in range(0, n, cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            set_lr(step)
            opt.zero_grad(set_to_none=True)
            inputs = encode_batch(batch) if encode_batch is not None else take_rows(X, batch)
            loss = loss_fn(call(module, inputs), y[batch])
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_([p for p in module.parameters() if p.grad is not None], cfg.grad_clip)
            opt.step()
            log.add(loss)
            step += 1
            if stopper is not None and stopper.after_step(module, step, loss):
                break
        log.end_epoch()
        if stopper is not None and stopper.after_epoch(module, step):
            break
    if stopper is not None:
        stopper.finish(module, step)
        module.early_stop_ = stopper
    module.eval()
    module.train_loss_, module.train_steps_ = log.epoch_mean, step
    return module

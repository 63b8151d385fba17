"""Early stopping for the one training loop (:func:`altbench.train.train`).

The rule is Prechelt 1998 ("Early stopping — but when?", in *Neural Networks:
Tricks of the Trade*): measure a loss every strip of training (here an epoch
or N optimizer steps), stop once it has failed to improve for ``patience``
strips in a row, and keep the weights of the best strip.  What is measured
never touches test data:

* ``val_loss``: the mean loss on the run's validation labels
  (``budget.validation: K``, :mod:`altbench.validation`).  They are bought
  from the pool and charged to the budget, never trained on, and the loop
  never shows the test split to ``fit``, so nothing here can read it;
* ``train_loss``: the labelled-only fallback, the mean step loss of the
  training rows over the strip (a moving average, so one noisy mini-batch does
  not end the fit).

Checking draws no random numbers and the validation pass runs in eval mode
(dropout off), so a fit follows the fixed schedule's exact trajectory up to
the step where it stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from altbench.train_config import EarlyStop, TrainConfig

__all__ = ["EarlyStopper", "NO_VALIDATION", "Validation", "stopper_for", "validation_loss"]

# (inputs, y_val): inputs are (K, ...) tensors (or a tuple of them) or encode(idx (b,) int64) -> batch inputs
Validation = tuple[Any, torch.Tensor]
# forward(module, inputs, idx (b,)) -> the module's output for those rows (altbench.train.forward_rows)
Forward = Callable[[nn.Module, Any, torch.Tensor], torch.Tensor]
EVAL_BATCH = 64  # rows per forward pass of the validation loss
NO_VALIDATION = ("train.early_stop.monitor is val_loss but the fit got no validation examples; set budget.validation: "
                 "K (e.g. 20) for finetune, lp-ft or ulmfit, or write early_stop.monitor: train_loss")


@torch.no_grad()
def validation_loss(module: nn.Module, validation: Validation, loss_fn: Callable, forward: Forward) -> float:
    """Mean ``loss_fn`` over the K validation rows, in eval mode (the module's mode is restored)."""
    inputs, y = validation
    was_training = module.training
    module.eval()
    total = 0.0
    for start in range(0, len(y), EVAL_BATCH):
        idx = torch.arange(start, min(len(y), start + EVAL_BATCH), device=y.device)  # (b,)
        total += float(loss_fn(forward(module, inputs, idx), y[idx])) * len(idx)
    module.train(was_training)
    return total / len(y)


@dataclass
class Check:
    """One measurement: optimizer step and monitored loss."""

    step: int
    loss: float


class EarlyStopper:
    """Patience bookkeeping for one fit; ``checks`` lists every measurement, ``best`` the lowest.

    ``after_step(module, step, loss)`` / ``after_epoch(module, step)`` return True when
    the fit should stop (``stopped``); ``finish(module, step)`` measures the final weights
    (if unmeasured) and, with ``restore_best``, loads the best check's weights.
    """

    def __init__(self, rule: EarlyStop, measure_val: Callable[[nn.Module], float] | None):
        self.rule = rule
        self.measure_val = measure_val  # None: monitor the training loss
        self.checks: list[Check] = []
        self.best: Check | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad = 0  # checks in a row without improvement
        self.stopped = False  # patience ran out (after min_steps)
        self.window, self.window_steps = 0.0, 0  # step-loss sum (a device scalar) since the last check

    def after_step(self, module: nn.Module, step: int, loss: torch.Tensor) -> bool:
        if self.measure_val is None:
            self.window = self.window + loss.detach()  # no device sync until the check
            self.window_steps += 1
        return isinstance(self.rule.every, int) and step % self.rule.every == 0 and self.check(module, step)

    def after_epoch(self, module: nn.Module, step: int) -> bool:
        return self.stopped or (self.rule.every == "epoch" and self.check(module, step))

    def check(self, module: nn.Module, step: int) -> bool:
        """Measure now; True when patience has run out and ``min_steps`` are done."""
        if self.checks and self.checks[-1].step == step:
            return False
        if self.measure_val is not None:
            value = self.measure_val(module)
        elif self.window_steps:
            value = float(self.window) / self.window_steps
        else:
            return False
        self.window, self.window_steps = 0.0, 0
        now = Check(step, value)
        self.checks.append(now)
        if self.best is None or value < self.best.loss - self.rule.min_delta:
            self.best, self.bad = now, 0
            if self.rule.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            self.bad += 1
        self.stopped = self.bad >= self.rule.patience and step >= self.rule.min_steps
        return self.stopped

    def finish(self, module: nn.Module, step: int) -> None:
        """Measure unmeasured final weights; with ``restore_best``, end on the best check's weights."""
        if step:
            self.check(module, step)
        if self.rule.restore_best and self.best_state is not None and self.best.step != step:
            module.load_state_dict(self.best_state)
        self.best_state = None


def stopper_for(cfg: TrainConfig, validation: Validation | None, loss_fn: Callable,
                forward: Forward) -> EarlyStopper | None:
    """The fit's stopper (None without ``cfg.early_stop``); ValueError (one line) for val_loss
    without validation rows."""
    rule = cfg.early_stop
    if rule is None:
        return None
    if rule.monitor == "train_loss":
        return EarlyStopper(rule, None)
    if validation is None or len(validation[1]) == 0:
        raise ValueError(NO_VALIDATION)
    return EarlyStopper(rule, lambda module: validation_loss(module, validation, loss_fn, forward))

"""Torch pieces shared by backbones and methods: seeded dropout and seeded initialisation.

Layers point down: :mod:`altbench.backbones` and :mod:`altbench.methods` both
import from here, and this module imports nothing of altbench's but torch.
Nothing here touches torch's global generator: masks and initial weights come
from the ``torch.Generator`` a run derives from its named streams
(:func:`altbench.seeds.torch_generator`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SeededDropout", "dropout_rate", "init_linear_", "replace_dropout", "use_generator"]


class SeededDropout(nn.Module):
    """Inverted dropout drawing its masks from an explicit ``torch.Generator``
    (``nn.Dropout`` uses torch's global generator, which we never seed)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


def use_generator(module: nn.Module, g: torch.Generator) -> None:
    """Make every SeededDropout in ``module`` draw from ``g``."""
    for m in module.modules():
        if isinstance(m, SeededDropout):
            m.generator = g


def init_linear_(layer: nn.Linear, g: torch.Generator) -> None:
    """PyTorch's default Linear init, but from generator ``g``."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
    bound = 1.0 / math.sqrt(layer.in_features)
    nn.init.uniform_(layer.bias, -bound, bound, generator=g)


def dropout_rate(module: nn.Module) -> float | None:
    """The drop probability of a dropout module (``nn.Dropout`` or a library's own
    ``*Dropout`` class with ``p`` / ``drop_prob``), else None."""
    if isinstance(module, SeededDropout):
        return None
    if isinstance(module, nn.Dropout):
        return float(module.p)
    if type(module).__name__.endswith("Dropout"):
        rate = getattr(module, "p", getattr(module, "drop_prob", None))
        return float(rate) if isinstance(rate, (int, float)) else None
    return None


def replace_dropout(module: nn.Module) -> None:
    """Swap every dropout module under ``module`` for a :class:`SeededDropout` of the same rate."""
    for name, child in list(module.named_children()):
        rate = dropout_rate(child)
        if rate is not None:
            setattr(module, name, SeededDropout(rate))
        else:
            replace_dropout(child)

"""A small multi-layer perceptron trained from scratch (tabular baseline).

This module holds the config only and imports torch when a model is fitted,
so resolving a grid does not.  The nets and the fitted model live in
:mod:`altbench.methods.torch_model`, seeded dropout and initialisation in
:mod:`altbench.torchparts` (their old names here still work).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from altbench.registry import METHODS
from altbench.train_config import TrainConfig

if TYPE_CHECKING:
    from altbench.methods.torch_model import TorchModel

PRELOAD = ("altbench.methods.torch_model", "torch._dynamo")  # what fit imports: run processes start with it
# old names here → the module that holds them now (the shared torch pieces live in altbench.torchparts)
MOVED = {"SeededDropout": "altbench.torchparts", "use_generator": "altbench.torchparts",
         "init_linear_": "altbench.torchparts", "MlpNet": "altbench.methods.torch_model",
         "TorchModel": "altbench.methods.torch_model", "MlpModel": "altbench.methods.torch_model"}


def __getattr__(name: str):
    if name in MOVED:  # `from altbench.methods.mlp import TorchModel` keeps working (imports torch)
        return getattr(importlib.import_module(MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@METHODS.register(name="mlp")
@dataclass(frozen=True)
class Mlp:
    """MLP from scratch with dropout, trained by the shared loop (AdamW)."""

    hidden: tuple[int, ...] = (128,)  # widths of the hidden layers
    dropout: float = 0.2  # dropout after each hidden layer (also used by MC dropout)
    train: TrainConfig = field(default_factory=TrainConfig)  # optimisation settings

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> TorchModel:
        import torch

        from altbench.device import device
        from altbench.methods.torch_model import MlpModel, MlpNet
        from altbench.seeds import torch_generator
        from altbench.torchparts import use_generator
        from altbench.train import train

        dev = device()
        net = MlpNet(np.asarray(X).shape[1], tuple(self.hidden), n_classes, self.dropout,
                     torch_generator(rng_init)).to(dev)
        g_order = torch_generator(rng_order)
        use_generator(net, torch_generator(rng_order, dev))
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
        yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)
        train(net, Xt, yt, self.train, generator=g_order)
        return MlpModel(net, n_classes, self)

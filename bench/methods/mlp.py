"""A small multi-layer perceptron trained from scratch (tabular baseline)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from bench.device import device
from bench.registry import METHODS
from bench.seeds import torch_generator
from bench.train import TrainConfig, train


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


class MlpNet(nn.Module):
    """x (n, d) → [Linear → ReLU → Dropout]* → features (n, h) → logits (n, C)."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], n_classes: int, dropout: float,
                 g: torch.Generator):
        super().__init__()
        layers: list[nn.Module] = []
        for h in hidden:
            lin = nn.Linear(d_in, h)
            init_linear_(lin, g)
            layers += [lin, nn.ReLU(), SeededDropout(dropout)]
            d_in = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(d_in, n_classes)
        init_linear_(self.head, g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class TorchModel:
    """A fitted torch classifier ``net`` with ``net.features`` and ``net.head``."""

    def __init__(self, net: nn.Module, n_classes: int, batch_size: int = 4096):
        self.net = net
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.dev = next(net.parameters()).device

    @torch.no_grad()
    def _batches(self, X, fn):
        X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        outs = [fn(X[i:i + self.batch_size].to(self.dev)).cpu() for i in range(0, len(X), self.batch_size)]
        return torch.cat(outs).numpy() if outs else np.zeros((0,))

    def predict_proba(self, X) -> np.ndarray:
        """(n, C)"""
        self.net.eval()
        return self._batches(X, lambda x: self.net(x).softmax(-1)).astype(np.float64)

    def predict_proba_mc(self, X, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """(n, C, T): dropout on, T passes, masks from ``rng``; memory O(batch·C·T)."""
        g = torch_generator(rng, self.dev)
        use_generator(self.net, g)
        self.net.train()
        try:
            out = self._batches(X, lambda x: torch.stack([self.net(x).softmax(-1) for _ in range(n_samples)], -1))
        finally:
            self.net.eval()
        return out.astype(np.float64)

    def embed(self, X) -> np.ndarray:
        """(n, h) penultimate features."""
        self.net.eval()
        return self._batches(X, self.net.features)

    def grad_embed(self, X) -> np.ndarray:
        """(n, C·h): (p − e_ŷ) ⊗ h, the last-layer gradient at the predicted label."""
        self.net.eval()

        def g(x):
            h = self.net.features(x)
            p = self.net.head(h).softmax(-1)
            p[torch.arange(len(p)), p.argmax(-1)] -= 1.0
            return (p[:, :, None] * h[:, None, :]).flatten(1)

        return self._batches(X, g)


@METHODS.register(name="mlp")
@dataclass(frozen=True)
class Mlp:
    """MLP from scratch with dropout, trained by the shared loop (AdamW)."""

    hidden: tuple[int, ...] = (128,)  # widths of the hidden layers
    dropout: float = 0.2  # dropout after each hidden layer (also used by MC dropout)
    train: TrainConfig = field(default_factory=TrainConfig)  # optimisation settings

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> TorchModel:
        dev = device()
        net = MlpNet(np.asarray(X).shape[1], tuple(self.hidden), n_classes, self.dropout,
                     torch_generator(rng_init)).to(dev)
        g_order = torch_generator(rng_order)
        use_generator(net, torch_generator(rng_order, dev))
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
        yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)
        train(net, Xt, yt, self.train, generator=g_order)
        return TorchModel(net, n_classes)

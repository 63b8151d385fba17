"""Network pieces shared by the transfer methods (all initialised from explicit generators).

Every classifier here has ``features(*inputs) -> (b, h)`` and ``head`` (a
``nn.Linear``), the shape :class:`altbench.methods.mlp.TorchModel` serves.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from altbench.methods.mlp import SeededDropout, init_linear_


class Standardize(nn.Module):
    """(x − mean) / std with fixed buffers (identity by default)."""

    def __init__(self, dim: int, X: torch.Tensor | None = None):
        super().__init__()
        mean = X.mean(0) if X is not None and len(X) > 1 else torch.zeros(dim)
        std = X.std(0).clamp_min(1e-6) if X is not None and len(X) > 1 else torch.ones(dim)
        self.register_buffer("mean", mean.detach().float())
        self.register_buffer("std", std.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class HeadNet(nn.Module):
    """Linear probe on fixed features: x (b, d) → standardise → dropout → linear (b, C).

    Standardisation statistics come from ``X`` (n, d) when given (else identity).
    """

    def __init__(self, dim: int, n_classes: int, dropout: float, g: torch.Generator,
                 X: torch.Tensor | None = None):
        super().__init__()
        self.features = nn.Sequential(Standardize(dim, X), SeededDropout(dropout))
        self.head = nn.Linear(dim, n_classes)
        init_linear_(self.head, g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class EncoderClassifier(nn.Module):
    """encoder(*inputs) (b, d) → ``post`` (standardise, dropout) → ``head`` (b, C).

    MC dropout uses the encoder's own SeededDropout modules plus the one
    before the head.
    """

    def __init__(self, encoder: nn.Module, head: HeadNet):
        super().__init__()
        self.encoder = encoder
        self.post = head.features
        self.head = head.head

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.post(self.encoder(*inputs))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(*inputs))


class BagOfEmbeddings(nn.Module):
    """From-scratch text model (Joulin et al. 2017, fastText-style): ids (b, L) →
    mean of word embeddings (pad = 0 ignored) → ReLU layer → dropout → linear."""

    def __init__(self, vocab_size: int, dim: int, hidden: int, n_classes: int, dropout: float,
                 g: torch.Generator):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim, padding_idx=0)
        nn.init.normal_(self.emb.weight, 0.0, 0.1, generator=g)
        with torch.no_grad():
            self.emb.weight[0].zero_()
        self.hidden = nn.Linear(dim, hidden)
        self.head = nn.Linear(hidden, n_classes)
        self.drop = SeededDropout(dropout)
        for lin in (self.hidden, self.head):
            init_linear_(lin, g)

    def trunk(self, ids: torch.Tensor) -> torch.Tensor:
        """(b, hidden) features before the dropout."""
        ids = ids.long()
        mask = (ids > 0).unsqueeze(-1).float()
        mean = (self.emb(ids) * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        return torch.relu(self.hidden(mean))

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        return self.drop(self.trunk(ids))

    def split_dropout(self) -> tuple[Callable[..., torch.Tensor], SeededDropout]:
        """(trunk, dropout): the net's only dropout is the last step of ``features``."""
        return self.trunk, self.drop

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(ids))


def init_conv_(conv: nn.Conv2d, g: torch.Generator) -> None:
    """PyTorch's default Conv2d init, but from generator ``g``."""
    nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5), generator=g)
    fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    nn.init.uniform_(conv.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g)


class SmallCnn(nn.Module):
    """From-scratch image model: float (b, C, H, W) → 2 × [conv3×3 → ReLU → maxpool]
    → conv3×3 → ReLU → global average pool → dropout → linear."""

    def __init__(self, in_ch: int, n_classes: int, width: int, dropout: float, g: torch.Generator):
        super().__init__()
        convs = [nn.Conv2d(in_ch, width, 3, padding=1), nn.Conv2d(width, 2 * width, 3, padding=1),
                 nn.Conv2d(2 * width, 4 * width, 3, padding=1)]
        for c in convs:
            init_conv_(c, g)
        self.body = nn.Sequential(convs[0], nn.ReLU(), nn.MaxPool2d(2), convs[1], nn.ReLU(),
                                  nn.MaxPool2d(2), convs[2], nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), SeededDropout(dropout))
        self.head = nn.Linear(4 * width, n_classes)
        init_linear_(self.head, g)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def split_dropout(self) -> tuple[Callable[..., torch.Tensor], SeededDropout]:
        """(trunk, dropout): the net's only dropout is the last step of ``features``."""
        return self.body[:-1], self.body[-1]


def images_to_float(X) -> torch.Tensor:
    """uint8 (n, H, W) or (n, H, W, C) → float (n, C, H, W) in [0, 1]."""
    x = torch.as_tensor(np.asarray(X))
    x = x.unsqueeze(-1) if x.ndim == 3 else x
    return x.permute(0, 3, 1, 2).float().div(255.0)

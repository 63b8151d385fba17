"""ULMFiT's fine-tuning recipe applied to a pretrained encoder (Howard & Ruder 2018,
"Universal Language Model Fine-tuning for Text Classification").

Three pieces, each plugged into the shared training loop:

* discriminative learning rates: encoder layer group l (counted down from
  the top, l = 0) gets ``lr / decay**l`` (paper: decay 2.6); the new head, a
  group of its own, gets ``head_lr`` (a random head on unit-norm sentence
  features needs a larger rate than the paper's shared top rate);
* slanted triangular learning rates (paper eq. 3): a linear warm-up over the
  first ``cut_frac`` of all steps to ``lr`` then a linear decay, the lowest
  rate being ``lr / ratio`` (paper: cut_frac 0.1, ratio 32) — a per-step
  factor given to ``train(lr_schedule=...)``;
* gradual unfreezing: at epoch e only the top e + 1 groups train (the head
  first), through ``train(on_epoch_start=...)``.

Groups, bottom → top: the encoder's ``layer_groups()`` (MiniLM: embeddings,
layers 0–5; EfficientNet-Lite0: stem, 7 stages, 1×1 head) then the new head.
With fewer epochs than groups, the lowest groups stay frozen — cheaper, and
the paper's schedule truncated.  The original uses an AWD-LSTM language model
fine-tuned on the target corpus first; that stage is not done here (the
encoder is already a sentence encoder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from altbench.device import device
from altbench.methods.finetune import as_model, load_encoder, train_encoder_classifier
from altbench.methods.mlp import TorchModel
from altbench.methods.nets import EncoderClassifier, HeadNet
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import TrainConfig, with_min_steps


def discriminative_groups(groups: list[list[nn.Parameter]], lr: float, decay: float,
                          head: list[nn.Parameter], head_lr: float) -> list[dict]:
    """Optimizer param groups, top first: the head at ``head_lr``, then encoder
    group l (counted from the top encoder group, l = 0) at lr / decay**l."""
    top_first = groups[::-1]
    return [{"params": head, "lr": head_lr, "name": "head"}] + [
        {"params": ps, "lr": lr / decay ** l, "name": f"group{len(groups) - 1 - l}"}
        for l, ps in enumerate(top_first)]


def slanted_triangular(cut_frac: float, ratio: float) -> Callable[[int, int], float]:
    """Per-step lr factor in [1/ratio, 1] (Howard & Ruder 2018, eq. 3)."""

    def factor(step: int, total: int) -> float:
        cut = max(1, int(total * cut_frac))
        p = step / cut if step < cut else 1.0 - (step - cut) / max(1, total - cut)
        return (1.0 + p * (ratio - 1.0)) / ratio

    return factor


def gradual_unfreezing(groups: list[dict]) -> Callable[[int, torch.optim.Optimizer], None]:
    """Epoch hook: at epoch e, the first e + 1 optimizer groups (top first) train."""

    def hook(epoch: int, opt: torch.optim.Optimizer) -> None:
        for i, g in enumerate(groups):
            for p in g["params"]:
                p.requires_grad_(i <= epoch)

    return hook


@METHODS.register(name="ulmfit")
@dataclass(frozen=True)
class Ulmfit:
    """Fine-tuning with discriminative LRs, slanted triangular LRs and gradual unfreezing."""

    backbone: str = "auto"  # "auto": minilm (text), efficientnet-lite0 (image)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}
    dropout: float = 0.1  # before the head
    decay: float = 2.6  # lr ratio between adjacent layer groups (paper: 2.6)
    cut_frac: float = 0.1  # fraction of steps spent warming up (paper: 0.1)
    ratio: float = 32.0  # peak lr / lowest lr of the triangle (paper: 32)
    min_steps: int = 50  # at least this many updates: more epochs (so more unfrozen groups) for tiny sets
    head_lr: float = 5e-3  # peak lr of the new head (random init on unit-norm features: needs more)
    # lr = peak rate of the top encoder group; epochs = groups unfrozen (head, then one group per epoch)
    train: TrainConfig = TrainConfig(epochs=4, batch_size=16, lr=2e-4, weight_decay=0.01)

    def schedule(self, net: EncoderClassifier):
        """(param groups, epoch hook, lr schedule) for ``net``; used by fit and tests."""
        groups = discriminative_groups(net.encoder.layer_groups(), self.train.lr, self.decay,
                                       list(net.head.parameters()), self.head_lr)
        return groups, gradual_unfreezing(groups), slanted_triangular(self.cut_frac, self.ratio)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> TorchModel:
        enc = load_encoder(self.backbone, self.backbone_params, X)
        head = HeadNet(enc.dim, n_classes, self.dropout, torch_generator(rng_init))
        net = EncoderClassifier(enc, head).to(device())
        groups, hook, lr_schedule = self.schedule(net)
        cfg = with_min_steps(self.train, len(y), self.min_steps)
        train_encoder_classifier(net, enc, X, y, cfg, rng_order, param_groups=groups,
                                 on_epoch_start=hook, lr_schedule=lr_schedule)
        for p in net.parameters():  # leave the model fully trainable-looking for later use
            p.requires_grad_(True)
        return as_model(net, enc, n_classes)

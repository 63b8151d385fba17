"""Transfer methods that train the pretrained encoder: ``finetune`` and ``lp-ft``.

Both wrap a trainable backbone encoder (``altbench.backbones``: MiniLM for text,
EfficientNet-Lite0 for images) in an :class:`EncoderClassifier` and run the
shared loop with ``encode_batch`` (tokenise / preprocess each mini-batch).
Dropout inside the encoder is SeededDropout (see ``altbench.backbones.text``),
so training noise and MC-dropout samples come from the run's generators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from altbench.adapt import load_adapted
from altbench.config import ID_IF_SET
from altbench.device import device
from altbench.methods.mlp import TorchModel, use_generator
from altbench.methods.nets import EncoderClassifier, HeadNet
from altbench.methods.torch_model import batched
from altbench.methods.transfer import PROBE_TRAIN, backbone_for, batch_encoder, fit_head, input_kind
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import TrainConfig, train, with_min_steps
from altbench.train_config import needs_validation

MODALITY = {"text": "text", "image": "image"}  # input kind → backbone modality
FINETUNE_TRAIN = TrainConfig(epochs=2, batch_size=16, lr=5e-5, weight_decay=0.01, grad_clip=1.0)


def load_encoder(backbone: str, params: dict, X: Any) -> Any:
    """A fresh trainable encoder for raw inputs X (text or images) on the device."""
    kind = input_kind(X)
    if kind not in MODALITY:
        raise ValueError(f"fine-tuning needs raw text or images, got {kind} inputs; use linear-probe or scratch")
    return backbone_for(backbone, params, MODALITY[kind]).encoder().to(device())


def encode_rows(enc: Any, X: Any, batch_size: int = 64) -> np.ndarray:
    """(n, d) features of X under ``enc`` in eval mode, in length-sorted batches when the
    encoder gives ``sort_keys`` (rows come back in X's order)."""
    enc.eval()
    sort_keys = getattr(enc, "sort_keys", None)
    keys = sort_keys(X) if sort_keys is not None and len(X) > batch_size else None
    return batched(X, enc, enc.inputs, batch_size, device(), keys)


def train_encoder_classifier(net: EncoderClassifier, enc: Any, X, y, cfg: TrainConfig,
                             rng_order: np.random.Generator, validation: tuple | None = None,
                             **train_kwargs: Any) -> EncoderClassifier:
    """Run the shared loop over raw rows X, tokenising each mini-batch; ``validation``:
    raw (X_val, y_val) rows for ``early_stop: {monitor: val_loss}``."""
    dev = device()
    use_generator(net, torch_generator(rng_order, dev))
    yt = torch.as_tensor(np.array(y, dtype=np.int64), device=dev)  # copy: y may be read-only
    val = None if validation is None else (batch_encoder(enc, validation[0], dev),
                                           torch.as_tensor(np.array(validation[1], dtype=np.int64), device=dev))
    return train(net, None, yt, cfg, generator=torch_generator(rng_order),
                 encode_batch=batch_encoder(enc, X, dev), validation=val, **train_kwargs)


def head_and_body(net: EncoderClassifier, lr: float, head_lr: float) -> list[dict]:
    """Two param groups: the encoder at ``lr``, the new head at ``head_lr``."""
    return [{"params": list(net.encoder.parameters()), "lr": lr},
            {"params": list(net.head.parameters()), "lr": head_lr}]


def as_model(net: EncoderClassifier, enc: Any, n_classes: int, train_loss: float | None = None) -> TorchModel:
    """The fitted model; its ``train_loss_`` is ``train_loss`` or else the one training left on ``net``."""
    return TorchModel(net, n_classes, batch_size=64, to_inputs=enc.inputs, sort_key=getattr(enc, "sort_key", None),
                      sort_keys=getattr(enc, "sort_keys", None), train_loss=train_loss)


@METHODS.register(name="finetune")
@dataclass(frozen=True)
class Finetune:
    """Full fine-tuning: pretrained encoder + new linear head, all weights trained
    (Devlin et al. 2019's recipe: AdamW, lr 5e-5, few epochs).  The new head
    gets its own, larger rate ``head_lr`` (a random head on unit-norm sentence
    features barely moves at 5e-5; set head_lr = train.lr for one shared rate).

    The head is initialised from ``rng_init``; the encoder starts from the
    checkpoint every fit (no warm start across AL rounds).
    """

    backbone: str = "auto"  # "auto": minilm (text), efficientnet-lite0 (image)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}
    adapt: dict | None = field(default=None, metadata=ID_IF_SET)  # e.g. {name: mlm}: pool-adapted encoder (altbench.adapt)
    dropout: float = 0.1  # before the head; the encoder keeps its own hidden dropout
    head_lr: float = 5e-3  # AdamW rate of the new head (train.lr is the encoder's)
    min_steps: int = 50  # at least this many updates: more epochs for tiny labelled sets
    train: TrainConfig = FINETUNE_TRAIN  # small on purpose: CPU fits take minutes
    uses_validation = property(lambda self: needs_validation(self.train))  # val_loss stopping: the loop passes rows

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator, validation: tuple | None = None) -> TorchModel:
        enc = load_adapted(self, load_encoder(self.backbone, self.backbone_params, X))
        head = HeadNet(enc.dim, n_classes, self.dropout, torch_generator(rng_init))
        net = EncoderClassifier(enc, head).to(device())
        train_encoder_classifier(net, enc, X, y, with_min_steps(self.train, len(y), self.min_steps), rng_order,
                                 validation, param_groups=head_and_body(net, self.train.lr, self.head_lr))
        return as_model(net, enc, n_classes)


@METHODS.register(name="lp-ft")
@dataclass(frozen=True)
class LpFt:
    """Linear probe, then full fine-tuning from that head (Kumar et al. 2022,
    "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution").

    Stage 1 trains the head on frozen features (computed once, no grad);
    stage 2 fine-tunes everything at a smaller learning rate, so the good head
    keeps the early gradients from distorting the features.
    """

    backbone: str = "auto"  # "auto": minilm (text), efficientnet-lite0 (image)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}
    adapt: dict | None = field(default=None, metadata=ID_IF_SET)  # e.g. {name: mlm}: pool-adapted encoder (altbench.adapt)
    dropout: float = 0.1  # before the head
    probe: TrainConfig = PROBE_TRAIN  # stage 1: the head alone
    min_steps: int = 50  # stage 2 gets at least this many updates
    finetune: TrainConfig = TrainConfig(epochs=2, batch_size=16, lr=1e-5, weight_decay=0.01)  # stage 2
    uses_validation = property(lambda self: needs_validation(self.finetune))  # val_loss stopping in stage 2

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator, validation: tuple | None = None) -> TorchModel:
        enc = load_adapted(self, load_encoder(self.backbone, self.backbone_params, X))
        head = fit_head(encode_rows(enc, X), y, n_classes, self.dropout, self.probe, rng_init, rng_order)
        net = EncoderClassifier(enc, head).to(device())
        train_encoder_classifier(net, enc, X, y, with_min_steps(self.finetune, len(y), self.min_steps), rng_order,
                                 validation)
        return as_model(net, enc, n_classes)

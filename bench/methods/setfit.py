"""SetFit: contrastive sentence-pair fine-tuning, then a logistic head
(Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts").

Stage 1 draws, ``num_iterations`` times per labelled example, one positive
pair (same label) and one negative pair (different label) — the paper's
scheme: 2 · 20 · n pairs, all of them by default (``pairs: all``; e.g.
12,800 pairs at SST-5 with 64 labels per class), or a random subset of at
most ``max_pairs`` (``pairs: max_pairs``, the CPU-budget behaviour before
this option) — and fine-tunes the sentence encoder so that cos(e_a, e_b) ≈ 1
for positives and 0 for negatives (CosineSimilarityLoss, MSE).  The learning
rate follows sentence-transformers' ``fit`` as the paper runs it
(``schedule: warmup_linear``: linear warm-up over the first ``warmup``
fraction of steps, then linear decay to 0), or stays constant
(``schedule: constant``, the behaviour before this option).  Runs that pin
both old values keep their old run ids.  The pairs are the loop's "dataset":
``train`` gets pair indices as rows, ``encode_batch`` tokenises both sides
and ``loss_fn`` is the MSE.  Stage 2 fits the linear softmax head on the
tuned, frozen embeddings (the paper uses scikit-learn's logistic regression;
a torch head keeps MC dropout and gradient embeddings available).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn

from altbench.adapt import load_adapted
from altbench.config import ID_IF_SET, ID_UNLESS
from altbench.device import device
from altbench.methods.finetune import as_model, encode_rows, load_encoder
from altbench.methods.mlp import TorchModel, use_generator
from altbench.methods.nets import EncoderClassifier
from altbench.methods.transfer import PROBE_TRAIN, fit_head
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import TrainConfig, train


def sentence_pairs(y: np.ndarray, num_iterations: int, max_pairs: int | None,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (m, 2) row indices, targets (m,) float 1 = same label / 0 = different);
    ``max_pairs=None`` keeps every pair drawn."""
    y = np.asarray(y)
    pairs, targets = [], []
    for _ in range(num_iterations):
        for i in range(len(y)):
            same = np.flatnonzero(y == y[i])
            other = np.flatnonzero(y != y[i])
            if len(same) > 1:
                pairs.append((i, rng.choice(same[same != i])))
                targets.append(1.0)
            if len(other):
                pairs.append((i, rng.choice(other)))
                targets.append(0.0)
    pairs_a, targets_a = np.asarray(pairs, dtype=np.int64).reshape(-1, 2), np.asarray(targets, dtype=np.float32)
    if max_pairs is not None and len(pairs_a) > max_pairs:
        keep = np.sort(rng.choice(len(pairs_a), size=max_pairs, replace=False))
        pairs_a, targets_a = pairs_a[keep], targets_a[keep]
    return pairs_a, targets_a


def warmup_linear(warmup: float) -> Callable[[int, int], float]:
    """lr factor at step t of T: t / w during the first w = ⌈warmup · T⌉ steps, then
    (T − t) / (T − w) down to 0 (sentence-transformers' ``WarmupLinear``, which SetFit uses)."""
    def factor(step: int, total: int) -> float:
        w = int(np.ceil(warmup * total))
        if step < w:
            return step / w
        return max(0.0, (total - step) / max(1, total - w))

    return factor


# schedule name → lr_schedule for the contrastive stage (None: constant rate)
SCHEDULES: dict[str, Callable[[float], Callable[[int, int], float] | None]] = {
    "warmup_linear": warmup_linear, "constant": lambda warmup: None}


class PairCosine(nn.Module):
    """(inputs of side a, inputs of side b) → (b,) cosine similarity of the encodings."""

    def __init__(self, encoder: nn.Module, n_a: int):
        super().__init__()
        self.encoder = encoder
        self.n_a = n_a  # how many of the positional inputs belong to side a

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        a, b = self.encoder(*inputs[:self.n_a]), self.encoder(*inputs[self.n_a:])
        return nn.functional.cosine_similarity(a, b, dim=-1)


@METHODS.register(name="setfit")
@dataclass(frozen=True)
class SetFit:
    """Contrastive pair fine-tuning of the sentence encoder + a linear head (text only)."""

    backbone: str = "auto"  # "auto": minilm (text)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}
    adapt: dict | None = field(default=None, metadata=ID_IF_SET)  # e.g. {name: mlm}: pool-adapted encoder (altbench.adapt)
    num_iterations: int = 20  # pair-generation rounds per example (paper default 20)
    max_pairs: int = 640  # cap on contrastive pairs when pairs = "max_pairs"
    # "all": every pair drawn (the paper); "max_pairs": at most max_pairs (old default, keeps old run ids)
    pairs: Literal["all", "max_pairs"] = field(default="all", metadata=ID_UNLESS("max_pairs"))
    # contrastive lr: warm-up then linear decay (the paper); "constant" (old default, keeps old run ids)
    schedule: Literal["warmup_linear", "constant"] = field(default="warmup_linear", metadata=ID_UNLESS("constant"))
    warmup: float = field(default=0.1, metadata=ID_IF_SET)  # warm-up fraction of the contrastive steps
    dropout: float = 0.1  # before the head
    contrastive: TrainConfig = TrainConfig(epochs=1, batch_size=16, lr=2e-5, weight_decay=0.01)  # paper: 1 epoch, 2e-5
    head: TrainConfig = PROBE_TRAIN  # the linear head on the tuned embeddings

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> TorchModel:
        enc = load_adapted(self, load_encoder(self.backbone, self.backbone_params, X))
        X = np.asarray(X, dtype=object)
        cap = self.max_pairs if self.pairs == "max_pairs" else None
        pairs, targets = sentence_pairs(y, self.num_iterations, cap, rng_order)
        if len(pairs):
            dev = device()
            n_a = len(enc.inputs(X[:1]))
            model = PairCosine(enc, n_a)
            use_generator(model, torch_generator(rng_order, dev))

            def encode_batch(idx: torch.Tensor) -> tuple:
                rows = pairs[idx.cpu().numpy()]
                return tuple(t.to(dev) for side in (0, 1) for t in enc.inputs(X[rows[:, side]]))

            train(model, None, torch.as_tensor(targets, device=dev), self.contrastive,
                  generator=torch_generator(rng_order), encode_batch=encode_batch,
                  loss_fn=nn.functional.mse_loss, lr_schedule=SCHEDULES[self.schedule](self.warmup))
        head = fit_head(encode_rows(enc, X), y, n_classes, self.dropout, self.head, rng_init, rng_order)
        # train_loss_: the head's cross-entropy (the classifier's own loss), not the contrastive MSE
        return as_model(EncoderClassifier(enc, head).to(device()), enc, n_classes, train_loss=head.train_loss_)

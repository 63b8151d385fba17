"""SetFit: contrastive sentence-pair fine-tuning, then a classification head
(Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts", arXiv:2209.11055).

Each knob against the paper (§3 and its experimental setup):

* ``num_iterations`` = the paper's R = 20: pair generation runs R times over
  the labelled set, each time drawing for every example one positive pair
  (same label) and one negative pair (different label): 2 · R · n pairs.
* ``pairs: all`` (default) trains on every pair drawn, as the paper does
  (12,800 at SST-5 with 64 labels per class); ``pairs: max_pairs`` keeps a
  random subset of at most ``max_pairs`` (the CPU-budget recipe used before).
* ``contrastive``: one epoch, batch 16, lr 2e-5 (the paper's setup); the
  loss is sentence-transformers' CosineSimilarityLoss, MSE between
  cos(e_a, e_b) and the pair target 1 / 0.  The pairs are the loop's
  "dataset": ``train`` gets pair indices as rows, ``encode_batch`` tokenises
  both sides and ``loss_fn`` is the MSE.
* ``schedule: warmup_linear`` (default) is sentence-transformers' ``fit``,
  which the paper runs: linear warm-up over the first ``warmup`` = 10% of
  steps, then linear decay to 0; ``schedule: constant`` is the rate used
  before.
* ``head: logreg`` (default) is the paper's head: scikit-learn's L2
  ``LogisticRegression`` on the fine-tuned, frozen sentence embeddings.  It
  is linear-probe's logistic-regression head (:mod:`altbench.methods.logreg_head`,
  settings in ``logreg``): lbfgs to convergence with C chosen by stratified CV
  on the labelled set (the paper keeps scikit-learn's C = 1; we choose it by a
  labelled-only rule, as for the probe).  Probabilities, embeddings (the tuned
  encoder's), BADGE gradient embeddings (p − e_ŷ) ⊗ h; no MC dropout.
  ``head: torch`` is the head used before: standardise → dropout → linear,
  AdamW for ``head_train`` epochs, with MC dropout (encoder dropout plus the
  one before the head).

Runs that pin all the old values (``pairs: max_pairs, schedule: constant,
head: torch``) leave ``pairs``, ``schedule`` and ``head`` out of their run id;
the new defaults hash into new ids, so old results are never reused under them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import torch
from torch import nn

from altbench.adapt import load_adapted
from altbench.config import ID_IF_SET, ID_UNLESS
from altbench.device import device
from altbench.methods.finetune import as_model, encode_rows, load_encoder
from altbench.methods.logreg_head import LOGREG_HEAD, MISSING_HINTS, LogRegHead, fit_logreg_head
from altbench.methods.mlp import TorchModel, use_generator
from altbench.methods.nets import EncoderClassifier
from altbench.methods.sklearn_models import SklearnModel
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


class EncodedLogReg:
    """setfit's ``head: logreg`` as a model over raw text: rows → the tuned encoder's
    embeddings H (n, d) → the logistic regression (linear-probe's
    :class:`~altbench.methods.sklearn_models.SklearnModel`).  Capabilities as the probe's:
    ``predict_proba`` (n, C), ``embed`` = H, ``grad_embed`` (n, C·d), ``head_proba``."""

    missing_hints = MISSING_HINTS  # the view's CapabilityError for MC dropout: which head to choose

    def __init__(self, enc: nn.Module, head: SklearnModel, n_classes: int, train_loss: float):
        self.enc = enc
        self.head = head
        self.n_classes = n_classes
        self.train_loss_ = train_loss  # the head's mean log-loss on the labelled rows

    def embed(self, X) -> np.ndarray:
        """(n, d) float32 embeddings of text rows X."""
        return encode_rows(self.enc, np.asarray(X, dtype=object))

    def predict_proba(self, X) -> np.ndarray:
        return self.head.predict_proba(self.embed(X))

    def head_proba(self, H: np.ndarray) -> np.ndarray:
        return self.head.predict_proba(H)

    def grad_embed(self, X) -> np.ndarray:
        return self.head.grad_embed(self.embed(X))


def _logreg_head(m: "SetFit", enc: nn.Module, H: np.ndarray, y, n_classes: int, rng_init, rng_order) -> EncodedLogReg:
    head = fit_logreg_head(H, y, n_classes, m.logreg, rng_init)
    p = head.predict_proba(H)[np.arange(len(y)), np.asarray(y)]  # (n,) probability of the true label
    return EncodedLogReg(enc, head, n_classes, float(-np.log(np.clip(p, 1e-15, None)).mean()))


def _torch_head(m: "SetFit", enc: nn.Module, H: np.ndarray, y, n_classes: int, rng_init, rng_order) -> TorchModel:
    head = fit_head(H, y, n_classes, m.dropout, m.head_train, rng_init, rng_order)
    # train_loss_: the head's cross-entropy (the classifier's own loss), not the contrastive MSE
    return as_model(EncoderClassifier(enc, head).to(device()), enc, n_classes, train_loss=head.train_loss_)


# head name → fit(setfit config, tuned encoder, its embeddings (n, d), labels (n,), n_classes, rng_init, rng_order)
SETFIT_HEADS: dict[str, Callable[..., object]] = {"logreg": _logreg_head, "torch": _torch_head}


@METHODS.register(name="setfit")
@dataclass(frozen=True)
class SetFit:
    """Contrastive pair fine-tuning of the sentence encoder + a classification head (text only;
    each knob against the paper in the module docstring)."""

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
    dropout: float = 0.1  # head "torch": before the head (training and MC dropout)
    contrastive: TrainConfig = TrainConfig(epochs=1, batch_size=16, lr=2e-5, weight_decay=0.01)  # paper: 1 epoch, 2e-5
    # "logreg": the paper's logistic regression (linear-probe's head); "torch": old default, keeps old run ids
    head: Literal["logreg", "torch"] = field(default="logreg", metadata=ID_UNLESS("torch"))
    head_train: TrainConfig = PROBE_TRAIN  # head "torch": AdamW on the linear head (before: the field `head`)
    logreg: LogRegHead = field(default=LOGREG_HEAD, metadata=ID_IF_SET)  # head "logreg": C grid, folds, tolerance

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> Any:
        enc = load_adapted(self, load_encoder(self.backbone, self.backbone_params, X))
        X = np.asarray(X, dtype=object)
        self._tune(enc, X, y, rng_order)
        return SETFIT_HEADS[self.head](self, enc, encode_rows(enc, X), y, n_classes, rng_init, rng_order)

    def _tune(self, enc: nn.Module, X: np.ndarray, y, rng_order: np.random.Generator) -> None:
        """Stage 1: contrastive fine-tuning of ``enc`` in place on the sentence pairs of (X, y)."""
        cap = self.max_pairs if self.pairs == "max_pairs" else None
        pairs, targets = sentence_pairs(y, self.num_iterations, cap, rng_order)
        if not len(pairs):
            return
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

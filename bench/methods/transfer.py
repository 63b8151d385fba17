"""Transfer methods without encoder training: ``scratch`` and ``linear-probe``.

Also the helpers every transfer method shares: what kind of input a fit
receives, the backbone for it, and a head trained on fixed features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import torch

from altbench.adapt import adapted_backbone
from altbench.backbones import cached_features, make_backbone
from altbench.config import ID_IF_SET, ID_UNLESS
from altbench.device import device
from altbench.methods.logreg_head import LOGREG_HEAD, LogRegHead, fit_logreg_head
from altbench.methods.mlp import MlpNet, TorchModel, use_generator
from altbench.methods.nets import BagOfEmbeddings, HeadNet, SmallCnn, images_to_float
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import TrainConfig, train, with_min_steps


def input_kind(X: Any) -> str:
    """"text" (object array of str), "tokens" (int32 (n, L) ids), "image" (uint8
    (n, H, W[, C])) or "tabular" (float (n, d))."""
    a = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if a.dtype == object:
        return "text"
    if a.dtype == np.int32 and a.ndim == 2:
        return "tokens"
    if a.dtype == np.uint8 and a.ndim in (3, 4):
        return "image"
    if np.issubdtype(a.dtype, np.floating) and a.ndim == 2:
        return "tabular"
    raise ValueError(f"cannot tell the input kind of an array {a.dtype} {a.shape}; expected text "
                     "(object str), images (uint8 n×H×W[×C]) or features (float n×d)")


def backbone_for(name: str, params: dict, modality: str) -> Any:
    """The backbone instance, with a one-line error for bad parameters."""
    try:
        return make_backbone(name, modality, **params)
    except TypeError as exc:
        raise ValueError(f"backbone {name!r}: bad backbone_params {params}: {exc}") from None


def tensors(X, y, dev) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.as_tensor(np.array(X, dtype=np.float32), device=dev),  # copy: X may be a read-only memmap
            torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev))


def fit_head(F, y, n_classes: int, dropout: float, cfg: TrainConfig, rng_init: np.random.Generator,
             rng_order: np.random.Generator) -> HeadNet:
    """A linear head (standardise → dropout → linear) trained on features F (n, d)."""
    dev = device()
    Ft, yt = tensors(F, y, dev)
    net = HeadNet(Ft.shape[1], n_classes, dropout, torch_generator(rng_init), X=Ft).to(dev)
    use_generator(net, torch_generator(rng_order, dev))
    return train(net, Ft, yt, cfg, generator=torch_generator(rng_order))


def batch_encoder(enc: Any, X: Any, dev: torch.device) -> Callable[[torch.Tensor], tuple]:
    """encode_batch for the training loop: row indices → the encoder's input tensors on ``dev``."""
    X = np.asarray(X, dtype=object) if input_kind(X) == "text" else np.asarray(X)
    return lambda idx: tuple(t.to(dev) for t in enc.inputs(X[idx.cpu().numpy()]))


PROBE_TRAIN = TrainConfig(epochs=50, batch_size=32, lr=1e-2, weight_decay=1e-2)


@METHODS.register(name="linear-probe")
@dataclass(frozen=True)
class LinearProbe:
    """Frozen pretrained features + a linear softmax head (Kumar et al. 2022's "LP").

    ``prepare`` encodes the whole dataset once through the embedding cache
    (:mod:`altbench.cache`) and returns memory-mapped features, so fits never run
    the backbone.  ``head``:

    * ``"logreg"`` (default): Kumar et al.'s LP and SetFit's head (Tunstall et
      al. 2022): L2 logistic regression fitted to convergence (lbfgs), C chosen
      by stratified CV on the labelled set (:mod:`altbench.methods.logreg_head`,
      settings in ``logreg``).  Probabilities, embeddings (the features) and
      BADGE gradient embeddings; no MC dropout (a CapabilityError).
    * ``"torch"``: the default until this option existed: standardise →
      dropout → linear, AdamW for ``train`` epochs.  Adds MC dropout (a
      SeededDropout on the standardised features); embeddings are the
      standardised features.  Runs that pin it keep their old run ids.
    """

    backbone: str = "auto"  # registry name in altbench.backbones; "auto": minilm (text), efficientnet-lite0 (image)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}; part of the cache key
    adapt: dict | None = field(default=None, metadata=ID_IF_SET)  # e.g. {name: mlm}: pool-adapted encoder (altbench.adapt)
    dropout: float = 0.1  # head "torch": dropout on features before the head (training and MC dropout)
    train: TrainConfig = PROBE_TRAIN  # head "torch": optimisation of the head (AdamW on cross-entropy)
    # which head (see above); "torch" keeps the run ids of runs made before this field existed
    head: Literal["logreg", "torch"] = field(default="logreg", metadata=ID_UNLESS("torch"))
    logreg: LogRegHead = field(default=LOGREG_HEAD, metadata=ID_IF_SET)  # head "logreg": C grid, folds, tolerance

    def prepare(self, dataset) -> tuple[np.ndarray, np.ndarray]:
        bb = adapted_backbone(self, backbone_for(self.backbone, self.backbone_params, dataset.modality))
        return cached_features(bb, dataset)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> Any:
        if input_kind(X) != "tabular":
            raise ValueError("linear-probe.fit needs features from its prepare(); run it through the AL loop")
        return PROBE_HEADS[self.head](self, X, y, n_classes, rng_init, rng_order)


def _torch_probe(m: LinearProbe, X, y, n_classes: int, rng_init, rng_order) -> TorchModel:
    return ProbeModel(fit_head(X, y, n_classes, m.dropout, m.train, rng_init, rng_order), n_classes)


def _logreg_probe(m: LinearProbe, X, y, n_classes: int, rng_init, rng_order) -> Any:
    return fit_logreg_head(X, y, n_classes, m.logreg, rng_init)


# head name → fit(probe config, features (n, d), labels (n,), n_classes, rng_init, rng_order) → model
PROBE_HEADS: dict[str, Callable[..., Any]] = {"logreg": _logreg_probe, "torch": _torch_probe}


class ProbeModel(TorchModel):
    """A linear head over stored features: its embedding is their standardisation,
    a cheap row-wise map, so the view reads the (memory-mapped) pool in blocks."""

    streams_rows = True


def _tokens_net(X, n_classes, m, g):
    return BagOfEmbeddings(m.vocab_size + 2, m.embed_dim, m.hidden[0], n_classes, m.dropout, g)


def _image_net(X, n_classes, m, g):
    return SmallCnn(1 if np.asarray(X).ndim == 3 else np.asarray(X).shape[-1], n_classes, m.cnn_width, m.dropout, g)


def _tabular_net(X, n_classes, m, g):
    return MlpNet(np.asarray(X).shape[1], tuple(m.hidden), n_classes, m.dropout, g)


# input kind → (network builder, rows → tensor)
SCRATCH_NETS = {
    "tokens": (_tokens_net, lambda X: torch.as_tensor(np.asarray(X, dtype=np.int64))),
    "image": (_image_net, images_to_float),
    "tabular": (_tabular_net, lambda X: torch.as_tensor(np.asarray(X, dtype=np.float32))),
}


@METHODS.register(name="scratch")
@dataclass(frozen=True)
class Scratch:
    """Random initialisation, no pretraining: the baseline transfer is measured against.

    Text: bag of word embeddings → ReLU layer (fastText-style, Joulin et al.
    2017) over a vocabulary built from the unlabelled train pool in
    ``prepare``; images: a 3-conv CNN; tabular: an MLP.  All use a
    SeededDropout before the head (MC dropout).  ``min_steps`` keeps tiny
    labelled sets from being undertrained: 20 images at batch 32 would
    otherwise get 30 updates (Gal et al. 2017 train 50 epochs whatever the
    set size; we fix the update count instead).
    """

    hidden: tuple[int, ...] = (128,)  # hidden widths (text: first = layer after the embedding bag)
    embed_dim: int = 64  # word-embedding size (text)
    vocab_size: int = 10000  # most frequent train-pool words kept (+ padding and unknown ids)
    max_tokens: int = 64  # words kept per text
    cnn_width: int = 32  # channels of the first conv (images); doubles twice
    dropout: float = 0.2  # before the head (and MLP hidden layers)
    train: TrainConfig = TrainConfig(epochs=30, batch_size=32, lr=1e-3, weight_decay=1e-4)  # shared loop
    min_steps: int = 300  # at least this many updates: more epochs for tiny labelled sets

    def prepare(self, dataset) -> tuple[Any, Any]:
        if dataset.modality != "text":
            return dataset.X_train, dataset.X_test
        from altbench.backbones.text import WordVocab

        vocab = WordVocab(dataset.X_train, max_size=self.vocab_size)
        return vocab.ids(dataset.X_train, self.max_tokens), vocab.ids(dataset.X_test, self.max_tokens)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> TorchModel:
        kind = input_kind(X)
        if kind == "text":
            raise ValueError("scratch.fit got raw text: run it through the AL loop so prepare() tokenises it")
        build, to_tensor = SCRATCH_NETS[kind]
        dev = device()
        net = build(X, n_classes, self, torch_generator(rng_init)).to(dev)
        use_generator(net, torch_generator(rng_order, dev))
        yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)
        cfg = with_min_steps(self.train, len(yt), self.min_steps)
        train(net, to_tensor(X).to(dev), yt, cfg, generator=torch_generator(rng_order))
        return TorchModel(net, n_classes, batch_size=512, to_inputs=to_tensor)

"""ULMFiT's three stages applied to a pretrained transformer encoder (Howard & Ruder 2018,
"Universal Language Model Fine-tuning for Text Classification", ACL).

1. **General-domain pretraining** (§3.1): the backbone's checkpoint (the
   paper: an AWD-LSTM LM on WikiText-103; here all-MiniLM-L6-v2 or any
   ``hf:`` transformer).
2. **Target-task LM fine-tuning** (§3.2), ``lm_finetune: true`` (default):
   the encoder keeps training as a language model on the texts of the train
   pool (never the test split, no labels), with discriminative rates and
   slanted triangular rates.  *Deviation*: a transformer encoder is
   fine-tuned with the **masked-LM** objective (Devlin et al. 2019; head:
   the checkpoint's, else a fresh one tied to the input embeddings, see
   :mod:`altbench.adapt`) instead of the paper's next-word LM.  Done once per
   (backbone, dataset, ``lm`` config, seed) and cached on disk;
   ``lm_finetune: false`` drops it (the paper's "no LM fine-tuning" ablation,
   §5).  Text only: for images stage 2 is skipped.
3. **Classifier fine-tuning** (§3.3): a new head on the (adapted) encoder,
   discriminative rates, slanted triangular rates and gradual unfreezing.

| knob | paper | here |
|---|---|---|
| ``backbone`` | §3.1 general-domain LM | pretrained transformer (default minilm) |
| ``lm_finetune`` | §3.2 stage on / off (§5 ablation) | true |
| ``lm.steps``, ``lm.batch_size`` | §3.2 LM fine-tuning length | 300 steps × 16 pool texts |
| ``lm.lr`` | §3.2 η of the top layer | 1e-4 (AdamW) |
| ``lm.decay`` | §3.2 eq. 2, η^(l-1) = η^l / 2.6 | 2.6 |
| ``lm.schedule``, ``lm.cut_frac``, ``lm.ratio`` | §3.2 eq. 3 STLR, cut_frac 0.1, ratio 32 | stlr, 0.1, 32 |
| ``lm.mask_prob`` | — (masked-LM deviation) | 0.15, BERT's 80/10/10 |
| ``train.lr`` | §3.3 η of the top encoder group | 2e-4 |
| ``decay`` | §3.3 discriminative fine-tuning, 2.6 | 2.6 |
| ``cut_frac``, ``ratio`` | §3.3 STLR, as in §3.2 | 0.1, 32 |
| ``train.epochs`` | §3.3 gradual unfreezing: one more group per epoch, top first | 4 (at least) |
| ``unfreeze_all``, ``full_epochs`` | §3.3 unfreeze every group, then train all to convergence | true, 3 |
| ``head_lr`` | — (the paper's head shares the top rate) | 5e-3: a random head on unit-norm features |
| ``dropout`` | §3.3 dropout in the classifier head | 0.1, one linear layer on mean pooling |
| ``min_steps`` | — (CPU budget: tiny labelled sets get more epochs) | 50 |

Stage 3 groups, bottom → top: the encoder's ``layer_groups()`` (MiniLM:
embeddings, layers 0–5; EfficientNet-Lite0: stem, 7 stages, 1×1 head) then
the new head; at epoch e only the top e + 1 groups train, so every group
trains from epoch G - 1 on (G groups: 8 for MiniLM).  ``unfreeze_all: true``
(default) runs at least G - 1 + ``full_epochs`` epochs (MiniLM: 10), so all
groups train together for ``full_epochs``.  ``unfreeze_all: false`` is the
recipe before the switch existed: exactly ``train.epochs`` epochs (more only
for ``min_steps``), so with fewer epochs than groups the lowest groups never
train (the paper's schedule truncated; a fit logs a warning).  At 4 epochs
that left MiniLM's embeddings and layers 0-2 frozen from 200 labelled rows
up (below that, the 50-step floor adds epochs); old run records mean
``false`` and keep their ids.
Stage 2 trains every group (no unfreezing in §3.2): the MLM head at
``lm.lr``, encoder group l below the top at ``lm.lr / 2.6**l``; a decoder
tied to the input embeddings trains with the embeddings' group.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from altbench.adapt import Mlm, discriminative_groups, load_adapted, slanted_triangular
from altbench.config import ID_IF_SET, ID_UNLESS
from altbench.device import device
from altbench.methods.finetune import as_model, load_encoder, train_encoder_classifier
from altbench.methods.mlp import TorchModel
from altbench.methods.nets import EncoderClassifier, HeadNet
from altbench.methods.transfer import input_kind
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import TrainConfig, with_min_steps
from altbench.train_config import needs_validation

__all__ = ["Ulmfit", "discriminative_groups", "gradual_unfreezing", "slanted_triangular", "ULMFIT_LM"]

log = logging.getLogger("altbench")
# stage 2 (§3.2): masked-LM fine-tuning on the pool with discriminative rates and STLR
ULMFIT_LM = Mlm(steps=300, lr=1e-4, batch_size=16, schedule="stlr", cut_frac=0.1, ratio=32.0, decay=2.6)


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
    """ULMFiT: target-task LM fine-tuning on the pool, then the classifier with gradual unfreezing.

    The knobs and the paper section each follows are tabled in the module docstring.
    """

    backbone: str = "auto"  # "auto": minilm (text), efficientnet-lite0 (image)
    backbone_params: dict = field(default_factory=dict)  # e.g. {max_length: 64}
    dropout: float = 0.1  # before the head
    decay: float = 2.6  # lr ratio between adjacent layer groups (paper: 2.6)
    cut_frac: float = 0.1  # fraction of steps spent warming up (paper: 0.1)
    ratio: float = 32.0  # peak lr / lowest lr of the triangle (paper: 32)
    min_steps: int = 50  # at least this many updates: more epochs for tiny sets
    head_lr: float = 5e-3  # peak lr of the new head (random init on unit-norm features: needs more)
    # lr = peak rate of the top encoder group; epochs: the head, then one more group per epoch
    train: TrainConfig = TrainConfig(epochs=4, batch_size=16, lr=2e-4, weight_decay=0.01)
    # true: at least (groups - 1 + full_epochs) epochs, so every group trains (the paper); false: train.epochs
    # as given (the recipe before this field; keeps old run ids)
    unfreeze_all: bool = field(default=True, metadata=ID_UNLESS(False))
    full_epochs: int = field(default=3, metadata=ID_IF_SET)  # unfreeze_all: epochs with every group training
    # stage 2 on (§3.2) or off (the ablation).  Always part of the run id: runs of the old two-stage
    # recipe (made before this field existed) never match a run id of either setting.
    lm_finetune: bool = True
    lm: Mlm = ULMFIT_LM  # stage 2's masked-LM fine-tuning on the pool (§3.2; see the table above)

    def adaptation(self, modality: str | None = None) -> Mlm | None:
        """Stage 2's config, or None when it is switched off or the data are not text."""
        return self.lm if self.lm_finetune and modality in (None, "text") else None

    def schedule(self, net: EncoderClassifier):
        """(param groups, epoch hook, lr schedule) for ``net``; used by fit and tests."""
        groups = discriminative_groups(net.encoder.layer_groups(), self.train.lr, self.decay,
                                       list(net.head.parameters()), self.head_lr)
        return groups, gradual_unfreezing(groups), slanted_triangular(self.cut_frac, self.ratio)

    def epochs_for(self, n_groups: int) -> TrainConfig:
        """``train`` with enough epochs that all ``n_groups`` groups train for ``full_epochs``
        (``unfreeze_all``), else ``train`` as given."""
        if not self.unfreeze_all:
            return self.train
        return dataclasses.replace(self.train, epochs=max(self.train.epochs, n_groups - 1 + self.full_epochs))

    uses_validation = property(lambda self: needs_validation(self.train))  # val_loss early stopping

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator, validation: tuple | None = None) -> TorchModel:
        enc = load_encoder(self.backbone, self.backbone_params, X)
        if input_kind(X) == "text":
            load_adapted(self, enc)  # stage 2's weights (a no-op with lm_finetune false)
        head = HeadNet(enc.dim, n_classes, self.dropout, torch_generator(rng_init))
        net = EncoderClassifier(enc, head).to(device())
        groups, hook, lr_schedule = self.schedule(net)
        cfg = with_min_steps(self.epochs_for(len(groups)), len(y), self.min_steps)
        if cfg.epochs < len(groups):
            log.warning("ulmfit: %d epochs unfreeze only the top %d of %d layer groups, so the lowest never train; "
                        "set train.epochs >= %d to train them all (Howard & Ruder 2018, section 3.3)",
                        cfg.epochs, cfg.epochs, len(groups), len(groups))
        train_encoder_classifier(net, enc, X, y, cfg, rng_order, validation, param_groups=groups,
                                 on_epoch_start=hook, lr_schedule=lr_schedule)
        for p in net.parameters():  # leave the model fully trainable-looking for later use
            p.requires_grad_(True)
        return as_model(net, enc, n_classes)

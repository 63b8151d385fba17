"""The torch side of pool adaptation (:mod:`altbench.adapt`): the masked-LM and SimCSE
objectives, trained by the shared loop (:func:`altbench.train.train`).

An :class:`Objective` is a module whose forward returns the batch loss, a
batch encoder ``encode(rows (b,) int, g) -> inputs`` (tokenise, mask) and the
parameters it adds to the encoder (the MLM head).  Training runs exactly
``steps`` optimizer steps: the loop's "rows" are ``steps × batch_size``
virtual rows, row v being pool text ``v mod n`` (so each text is used
equally often), shuffled by the loop's generator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from altbench.adapt import SCHEDULES, AdaptConfig, discriminative_groups
from altbench.device import device
from altbench.seeds import torch_generator
from altbench.torchparts import use_generator
from altbench.train import TrainConfig, train


@dataclass
class Objective:
    """What one adapter trains: ``module(*inputs) -> loss``, inputs from ``encode(rows, g)``."""

    module: nn.Module
    encode: Callable[[np.ndarray, torch.Generator], tuple]
    head: list[nn.Parameter]  # parameters outside the encoder (the MLM head), trained at the top rate


def hf_parts(enc: nn.Module) -> tuple[Any, Any]:
    """(transformers model, tokenizer) inside a backbone encoder, found by type (any architecture)."""
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    model = next((m for m in enc.modules() if isinstance(m, PreTrainedModel)), None)
    tok = next((v for v in vars(enc).values() if isinstance(v, PreTrainedTokenizerBase)), None)
    if model is None or tok is None:
        raise ValueError(f"adapt: the {type(enc).__name__} encoder holds no transformers model and tokenizer; "
                         "pool adaptation needs a transformers text backbone (minilm or hf:...)")
    return model, tok


# ---------------------------------------------------------------- masked LM
def mask_tokens(ids: torch.Tensor, attn: torch.Tensor, special: torch.Tensor, mask_prob: float, mask_id: int,
                vocab_size: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of ids (b, L): (inputs (b, L), labels (b, L), -100 where not predicted).

    Each non-special, non-padding token is picked with ``mask_prob``; picked
    ones become [MASK] (80%), a uniform random token (10%) or stay (10%).  At
    least one token per batch is picked (the loss needs a target)."""
    candidate = attn.bool() & ~torch.isin(ids, special)
    picked = (torch.rand(ids.shape, generator=g) < mask_prob) & candidate
    if not picked.any() and candidate.any():
        where = candidate.flatten().nonzero().flatten()
        picked.view(-1)[where[torch.randint(len(where), (1,), generator=g)]] = True
    labels = ids.masked_fill(~picked, -100)
    u = torch.rand(ids.shape, generator=g)
    random_ids = torch.randint(vocab_size, ids.shape, generator=g)
    inputs = ids.masked_fill(picked & (u < 0.8), mask_id)
    swap = picked & (u >= 0.8) & (u < 0.9)
    return torch.where(swap, random_ids, inputs), labels


def init_fresh_(model: nn.Module, names: list[str], std: float, g: torch.Generator) -> None:
    """BERT's initialisation of the named parameters, from ``g``: matrices N(0, std), biases 0, norm scales 1."""
    params = dict(model.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for name in names:
            p = params.get(name)
            if p is None:
                continue
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * std)
            else:
                p.fill_(1.0 if name.endswith("weight") else 0.0)


def mlm_model(enc: nn.Module, g: torch.Generator) -> tuple[nn.Module, list[str]]:
    """(``AutoModelForMaskedLM`` whose base is ``enc``'s own model, names of the fresh head weights).

    The checkpoint's MLM head is loaded when it has one; missing head weights
    are initialised from ``g``; the decoder is re-tied to the (shared) input
    embeddings when the config ties them.  Training it trains ``enc``."""
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    base, _ = hf_parts(enc)
    path = base.config._name_or_path
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "some weights were newly initialised": expected, reported below
    try:
        mlm, info = AutoModelForMaskedLM.from_pretrained(path, output_loading_info=True,
                                                         local_files_only=os.path.isdir(path))
    finally:
        hf_logging.set_verbosity(verbosity)
    prefix = mlm.base_model_prefix
    fresh = sorted(n for n in info["missing_keys"] if not n.startswith(prefix + "."))
    setattr(mlm, prefix, base)
    init_fresh_(mlm, fresh, float(getattr(base.config, "initializer_range", 0.02)), g)
    if getattr(mlm.config, "tie_word_embeddings", False):
        mlm.get_output_embeddings().weight = base.get_input_embeddings().weight
    return mlm.to(next(base.parameters()).device), fresh


class MlmLoss(nn.Module):
    """(ids (b, L), mask (b, L), labels (b, L)) → mean cross-entropy on the picked tokens."""

    def __init__(self, mlm: nn.Module):
        super().__init__()
        self.mlm = mlm

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self.mlm(input_ids=ids, attention_mask=mask).logits  # (b, L, vocab)
        total = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100,
                                            reduction="sum")
        return total / (labels != -100).sum().clamp_min(1)  # 0, not NaN, for a batch with nothing to predict


def tokenize(tok: Any, texts: np.ndarray, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (b, L), attention mask (b, L)) padded to the batch's longest text."""
    out = tok([str(t) for t in texts], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return out["input_ids"], out["attention_mask"]


def mlm_objective(cfg: Any, enc: nn.Module, texts: np.ndarray, g: torch.Generator) -> Objective:
    mlm, _ = mlm_model(enc, g)
    base, tok = hf_parts(enc)
    max_length = cfg.max_length or getattr(enc, "max_length", None) or 128
    special = torch.tensor(sorted(set(tok.all_special_ids)), dtype=torch.long)
    vocab = min(len(tok), base.config.vocab_size)
    dev = next(base.parameters()).device

    def encode(rows: np.ndarray, gen: torch.Generator) -> tuple:
        ids, attn = tokenize(tok, texts[rows], max_length)
        inputs, labels = mask_tokens(ids, attn, special, cfg.mask_prob, tok.mask_token_id, vocab, gen)
        return inputs.to(dev), attn.to(dev), labels.to(dev)

    in_base = {id(p) for p in base.parameters()}
    return Objective(MlmLoss(mlm), encode, [p for p in mlm.parameters() if id(p) not in in_base])


# ---------------------------------------------------------------- SimCSE
class SimCseLoss(nn.Module):
    """Encoder inputs → InfoNCE of two dropout views: (b, b) cosine / temperature, target = the diagonal."""

    def __init__(self, enc: nn.Module, temperature: float):
        super().__init__()
        self.enc = enc
        self.temperature = temperature

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        z1, z2 = self.enc(*inputs), self.enc(*inputs)  # (b, d) each, different dropout masks
        sim = nn.functional.cosine_similarity(z1[:, None, :], z2[None, :, :], dim=-1) / self.temperature
        return nn.functional.cross_entropy(sim, torch.arange(len(sim), device=sim.device))


def simcse_objective(cfg: Any, enc: nn.Module, texts: np.ndarray, g: torch.Generator) -> Objective:
    hf_parts(enc)  # the same one-line error for non-transformers encoders
    dev = next(enc.parameters()).device

    def encode(rows: np.ndarray, gen: torch.Generator) -> tuple:
        return tuple(t.to(dev) for t in enc.inputs(texts[rows]))

    return Objective(SimCseLoss(enc, cfg.temperature), encode, [])


# ---------------------------------------------------------------- training
def param_groups(cfg: AdaptConfig, enc: nn.Module, head: list[nn.Parameter]) -> list[dict]:
    """Top first: the head at ``lr``, encoder layer group l below the top at lr / decay**l (non-empty groups)."""
    groups = discriminative_groups(enc.layer_groups(), cfg.lr, cfg.decay, head, cfg.lr)
    return [g for g in groups if g["params"]]


def train_objective(cfg: AdaptConfig, obj: Objective, enc: nn.Module, n: int, rng: np.random.Generator,
                    **train_kwargs: Any) -> float:
    """``cfg.steps`` AdamW steps on ``obj`` over n pool texts; the last epoch's mean loss."""
    dev = device()
    g_order, g_mask = torch_generator(rng), torch_generator(rng)
    use_generator(obj.module, torch_generator(rng, dev))  # dropout masks (SimCSE's two views too)
    rows = torch.zeros(cfg.steps * cfg.batch_size, device=dev)  # virtual rows; v ↦ text v mod n
    loop = TrainConfig(epochs=1, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay, grad_clip=1.0)
    train(obj.module, None, rows, loop, generator=g_order, param_groups=param_groups(cfg, enc, obj.head),
          lr_schedule=SCHEDULES[cfg.schedule](cfg), loss_fn=lambda loss, _: loss,
          encode_batch=lambda idx: obj.encode(idx.cpu().numpy() % n, g_mask), **train_kwargs)
    return float(obj.module.train_loss_)


@torch.no_grad()
def pool_loss(obj: Objective, n: int, batch_size: int, g: torch.Generator) -> float:
    """Mean objective over the n pool texts, in eval mode (no dropout), masks from ``g``."""
    obj.module.eval()
    losses = [float(obj.module(*obj.encode(np.arange(s, min(n, s + batch_size)), g)))
              for s in range(0, n, batch_size)]
    return float(np.mean(losses))


def run(cfg: AdaptConfig, enc: nn.Module, texts: Any, rng: np.random.Generator) -> float:
    """Adapt ``enc`` in place on ``texts``; the mean loss of the training steps."""
    texts = np.asarray(texts, dtype=object)
    obj = cfg.objective(enc, texts, torch_generator(rng))
    return train_objective(cfg, obj, enc, len(texts), rng)

"""``hf``: any transformers encoder by hub id or local folder (``backbone: hf:<id or dir>``).

Text encoders (BERT, RoBERTa, DeBERTa, MPNet, MiniLM, ModernBERT, …) are
tokenised by the folder's tokenizer; image encoders (ViT, DINOv2, ConvNeXt, …)
are preprocessed by its ``AutoImageProcessor``.  One pooled vector per input:

* ``mean``: attention-masked mean of the last hidden states (Reimers &
  Gurevych 2019, Sentence-BERT: better than CLS for sentence embeddings);
* ``cls``: the first token's state (Devlin et al. 2019);
* ``max``: masked max over tokens; ``pooler``: the model's own ``pooler_output``;
* ``auto``: a sentence-transformers folder's ``1_Pooling/config.json``, else
  ``mean`` for text and, for images, ``pooler_output`` when the model has one
  (DINOv2's normalised CLS, ConvNeXt's pooled map) else ``mean``.

Nothing is architecture-specific: dropout rates are found by name in the
config (attention-probability dropout and stochastic depth switched off, since
transformers draws them from torch's global generator; hidden dropout modules
become :class:`~altbench.torchparts.SeededDropout`), and ``layer_groups`` are
the parameters before the model's main stack of blocks (embeddings), each
block, then the parameters after it that the pooled output uses (pooler, final
norm).  Features: (n, d) float32, cached with the folder's content hash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from altbench.backbones import BACKBONES, hf_files
from altbench.device import device
from altbench.torchparts import replace_dropout

PoolFn = Callable[[Any, "torch.Tensor | None"], torch.Tensor]


def token_states(out: Any) -> torch.Tensor:
    """(b, L, d) token states; a convolutional map (b, C, h, w) becomes (b, h·w, C)."""
    h = out.last_hidden_state
    return h.flatten(2).transpose(1, 2) if h.ndim == 4 else h


def mean_pool(out: Any, mask: torch.Tensor | None) -> torch.Tensor:
    h = token_states(out)
    if mask is None:
        return h.mean(1)
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp_min(1.0)


def cls_pool(out: Any, mask: torch.Tensor | None) -> torch.Tensor:
    return token_states(out)[:, 0]


def max_pool(out: Any, mask: torch.Tensor | None) -> torch.Tensor:
    h = token_states(out)
    if mask is not None:
        h = h.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(h.dtype).min)
    return h.max(1).values


def pooler_pool(out: Any, mask: torch.Tensor | None) -> torch.Tensor:
    p = getattr(out, "pooler_output", None)
    if p is None:
        raise ValueError("this model has no pooler_output; use backbone_params {pooling: mean} or cls")
    return p.flatten(1)


def pooler_else_mean(out: Any, mask: torch.Tensor | None) -> torch.Tensor:
    """``auto`` for image models: the model's pooled output when it has one, else the mean."""
    return pooler_pool(out, mask) if getattr(out, "pooler_output", None) is not None else mean_pool(out, mask)


POOLINGS: dict[str, PoolFn] = {"mean": mean_pool, "cls": cls_pool, "max": max_pool, "pooler": pooler_pool}
AUTO_POOLING: dict[str, PoolFn] = {"text": mean_pool, "image": pooler_else_mean}  # modality → auto


def resolve_pooling(pooling: str, folder: Path, modality: str) -> PoolFn:
    """The pooling function: the one named, else the folder's sentence-transformers one, else by modality."""
    if pooling != "auto":
        return POOLINGS[pooling]
    declared = hf_files.st_pooling(folder)
    return POOLINGS[declared] if declared else AUTO_POOLING[modality]


def dropout_overrides(config: Any, dropout: float | None) -> dict[str, float]:
    """Config keyword → rate: attention dropout, drop-path and layer-drop 0 (global RNG);
    every other ``*dropout*`` rate = ``dropout`` (None: keep the checkpoint's)."""
    out = {}
    for key, value in config.to_dict().items():
        if not isinstance(value, float):
            continue
        if "drop_path" in key or "layerdrop" in key or ("drop" in key and ("attention" in key or "attn" in key)):
            out[key] = 0.0
        elif "dropout" in key and dropout is not None:
            out[key] = float(dropout)
    return out


def block_stack(model: nn.Module) -> nn.ModuleList:
    """The model's main stack of blocks: its ModuleList holding the most parameters."""
    stacks = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m)]
    if not stacks:
        raise ValueError(f"{type(model).__name__} has no stack of layers (nn.ModuleList); "
                         "use linear-probe or finetune, which need no layer groups")
    return max(stacks, key=lambda m: sum(p.numel() for p in m.parameters()))


def _sides(size: Any) -> list[str]:
    """The keys set in an image processor's size (a dict, or transformers' SizeDict dataclass)."""
    if dataclasses.is_dataclass(size):
        size = dataclasses.asdict(size)
    return [k for k, v in size.items() if v is not None] if isinstance(size, dict) else []


def text_length(text: Any) -> int:
    """Sort key that batches texts of similar length together (less padding)."""
    return len(str(text))


def rgb_rows(images: Any) -> list[np.ndarray]:
    """uint8 (n, H, W) or (n, H, W, C) → n arrays (H, W, 3)."""
    x = np.asarray(images)
    x = x[..., None] if x.ndim == 3 else x
    x = np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x[..., :3]
    return list(x)


class HfEncoder(nn.Module):
    """Trainable transformers encoder: ``inputs(rows)`` → tensors → ``forward`` (b, dim) pooled."""

    def __init__(self, bb: "Hf"):
        super().__init__()
        from transformers import AutoConfig, AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = bb.folder()
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True,
                                               **dropout_overrides(config, bb.dropout))
        replace_dropout(self.model)
        self.modality = hf_files.modality(folder)
        self.prep = _processor(bb, self.modality)
        self.pool = resolve_pooling(bb.pooling, folder, self.modality)
        self.normalize = hf_files.st_normalize(folder) if bb.normalize is None else bb.normalize
        self.max_length = bb.max_length
        self.image_size = bb.image_size
        self.sort_key = text_length if self.modality == "text" else None
        self.dim = int(self._probe().shape[-1])

    def inputs(self, rows: Any) -> tuple[torch.Tensor, ...]:
        """Text: (ids (b, L), mask (b, L)); images: (pixel values (b, 3, s, s),)."""
        if self.modality == "text":
            tok = self.prep([str(t) for t in rows], padding=True, truncation=True,
                            max_length=self.max_length, return_tensors="pt")
            return tok["input_ids"], tok["attention_mask"]
        return (self.prep(images=rgb_rows(rows), return_tensors="pt", **self._resize())["pixel_values"],)

    def _resize(self) -> dict:
        """Processor overrides for ``image_size``: every side of its ``size`` (and ``crop_size``)."""
        if self.image_size is None:
            return {}
        sides = {k: _sides(getattr(self.prep, k, None)) for k in ("size", "crop_size")}
        return {k: {side: self.image_size for side in found} for k, found in sides.items() if found}

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.modality == "text":
            ids, mask = inputs
            width = int(mask.sum(1).max())  # drop all-padding columns of this batch
            ids, mask = ids[:, :width], mask[:, :width]
            pooled = self.pool(self.model(input_ids=ids, attention_mask=mask), mask)
        else:
            pooled = self.pool(self.model(pixel_values=inputs[0]), None)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Bottom → top: parameters before the block stack (embeddings), each block, then the
        used parameters after it (pooler, final norm; absent when the pooled output skips them)."""
        stack = block_stack(self.model)
        inside = {id(p) for p in stack.parameters()}
        before: list[nn.Parameter] = []
        after: list[nn.Parameter] = []
        past = False
        for p in self.model.parameters():  # registration order: embeddings, blocks, head parts
            past = past or id(p) in inside
            if id(p) not in inside:
                (after if past else before).append(p)
        used = self._used_parameters()
        after = [p for p in after if id(p) in used]
        return [before] + [list(block.parameters()) for block in stack] + ([after] if after else [])

    def _probe_rows(self) -> Any:
        if self.modality == "text":
            return np.array(["a"], dtype=object)
        return np.zeros((1, 8, 8, 3), dtype=np.uint8)

    @torch.no_grad()  # not inference_mode: buffers a model fills lazily must stay trainable
    def _probe(self) -> torch.Tensor:
        """(1, dim): one tiny input through the model in eval mode (dropout off, no RNG)."""
        was = self.training
        self.eval()
        out = self(*self.inputs(self._probe_rows()))
        self.train(was)
        return out

    def _used_parameters(self) -> set[int]:
        """ids of the parameters the pooled output depends on (one tiny backward, grads restored)."""
        was, dev = self.training, next(self.parameters()).device
        saved = {id(p): p.grad for p in self.parameters()}
        self.eval()
        try:
            for p in self.parameters():
                p.grad = None
            with torch.enable_grad():
                self(*(t.to(dev) for t in self.inputs(self._probe_rows()))).sum().backward()
            return {id(p) for p in self.parameters() if p.grad is not None}
        finally:
            for p in self.parameters():
                p.grad = saved[id(p)]
            self.train(was)


def _processor(bb: "Hf", modality: str) -> Any:
    """The folder's tokenizer (text) or image processor (images); ``bb.processor`` overrides the folder."""
    from transformers import AutoImageProcessor, AutoTokenizer

    source = hf_files.locate(bb.processor, bb.revision) if bb.processor else bb.folder()
    if modality == "text":
        return AutoTokenizer.from_pretrained(source, local_files_only=True)
    return AutoImageProcessor.from_pretrained(source, local_files_only=True)


@BACKBONES.register(name="hf")
@dataclass(frozen=True)
class Hf:
    """Any transformers encoder by hub id or local folder (``hf:<id or dir>``), pooled per input."""

    registry_name = "hf"
    name_field = "model"  # `backbone: hf:X` means `backbone: hf` with `model: X`
    model: str = ""  # hub id (org/name) or a local folder written by save_pretrained (required)
    pooling: str = "auto"  # mean | cls | max | pooler | auto (sentence-transformers folder's own, else by modality)
    normalize: bool | None = None  # L2-normalise the pooled vector; None: as the sentence-transformers folder says
    max_length: int = 128  # tokens kept per text (preprocessing: part of the cache key)
    image_size: int | None = None  # resize side for images; None: the image processor's own
    processor: str | None = None  # tokenizer / image processor (hub id or folder); None: the model's own
    revision: str | None = None  # hub branch, tag or commit (hub ids only)
    dropout: float | None = None  # hidden dropout when fine-tuned; None: the checkpoint's own rate
    batch_size: int = 64  # inputs per forward pass when encoding (does not change features)

    def __post_init__(self):
        if self.pooling != "auto" and self.pooling not in POOLINGS:
            raise ValueError(f"hf backbone: unknown pooling {self.pooling!r}; "
                             f"write one of {', '.join(sorted(POOLINGS) + ['auto'])}")

    def folder(self) -> Path:
        """The model's local folder (a hub id is downloaded into the hub cache once)."""
        return hf_files.locate(self.model, self.revision)

    def problem(self) -> str | None:
        """Why this backbone cannot load (config-time check: reads files only), or None."""
        return hf_files.problem(self.model, self.revision) or (
            hf_files.problem(self.processor, self.revision) if self.processor else None)

    @property
    def modality(self) -> str:
        return hf_files.modality(self.folder())

    def cache_identity(self) -> dict:
        """What the resolved model is: content hashes of its folder (and processor folder)."""
        ident = {"model_files": hf_files.identity(self.folder())}
        if self.processor:
            ident["processor_files"] = hf_files.identity(hf_files.locate(self.processor, self.revision))
        return ident

    def encoder(self) -> HfEncoder:
        return HfEncoder(self)

    def encode(self, X: Any, enc: HfEncoder | None = None) -> np.ndarray:
        """(n, dim) float32 features, batched (similar text lengths share a batch), in eval mode."""
        enc = enc if enc is not None else self.encoder().to(device())
        enc.eval()
        X = np.asarray(X, dtype=object) if enc.modality == "text" else np.asarray(X)
        order = (np.argsort([enc.sort_key(t) for t in X], kind="stable") if enc.sort_key
                 else np.arange(len(X)))
        out = np.zeros((len(X), enc.dim), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, len(X), self.batch_size):
                rows = order[s:s + self.batch_size]
                out[rows] = enc(*(t.to(device()) for t in enc.inputs(X[rows]))).float().cpu().numpy()
        return out

    def encode_split(self, X_train: Any, X_test: Any) -> tuple[np.ndarray, np.ndarray]:
        enc = self.encoder().to(device())
        return self.encode(X_train, enc), self.encode(X_test, enc)

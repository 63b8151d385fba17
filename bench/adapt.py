"""Pool-adaptive pretraining (``adapt``): continue pretraining the encoder on the unlabelled pool.

Task-adaptive pretraining (Gururangan et al. 2020, "Don't Stop Pretraining",
TAPT) before active learning, as Margatina et al. 2022 ("On the Importance of
Effectively Adapting Pretrained Language Models for Active Learning") do:
the encoder keeps pretraining on the texts of the *train pool only* (never
test rows; the pool's labels are never read), then every round, strategy
and method that names the same adaptation starts from those weights.

Adapters (registry :data:`ADAPTERS`, a frozen dataclass config each):

* ``mlm``: BERT's masked-LM objective (Devlin et al. 2019): 15% of the
  non-special tokens are picked; of those 80% become ``[MASK]``, 10% a random
  token, 10% stay; cross-entropy on the picked ones.  The MLM head is the
  checkpoint's own ``*ForMaskedLM`` head when the checkpoint has one; a
  sentence-encoder checkpoint (all-MiniLM-L6-v2 ships ``BertModel`` weights
  only) has none, so a **fresh head** is made: the architecture's MLM head,
  its missing weights initialised from the run's ``adapt`` stream (normal,
  std = ``initializer_range``; biases 0; norm scales 1) and its decoder
  weight **tied to the encoder's input embeddings** (as BERT ties them).
* ``simcse``: unsupervised SimCSE (Gao et al. 2021): each text is encoded
  twice with independent dropout masks; in-batch InfoNCE over cosine
  similarities at temperature 0.05 (the other texts of the batch are the
  negatives).  Suited to sentence encoders: it trains the pooled embedding.

Shared knobs (:class:`AdaptConfig`): ``steps`` optimizer steps of
``batch_size`` pool texts (every text used equally often), AdamW at ``lr``,
``schedule`` constant / linear (warm-up then linear decay) / stlr (ULMFiT's
slanted triangle), ``decay`` for discriminative rates (ULMFiT: 2.6).

Cache: the adapted encoder's ``state_dict`` is stored under
``<cache dir>/adapted/<key>.pt``, key = hash(backbone name and config,
dataset fingerprint, adapter name and config, seed); built under a file lock,
written atomically; a damaged file is reported and rebuilt.  Works with any
backbone whose ``encoder()`` holds a transformers model and tokenizer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from altbench.atomic import CACHE_HINT, atomic_open, atomic_write_bytes, exclusive_lock
from altbench.cache import cache_dir
from altbench.registry import Registry

log = logging.getLogger("altbench")

ADAPTERS = Registry("adapters")
FORMAT_VERSION = 1  # bump when the stored layout or an adapter's semantics change


# ---------------------------------------------------------------- learning-rate schedules
def slanted_triangular(cut_frac: float, ratio: float) -> Callable[[int, int], float]:
    """Per-step lr factor in [1/ratio, 1] (Howard & Ruder 2018, eq. 3)."""

    def factor(step: int, total: int) -> float:
        cut = max(1, int(total * cut_frac))
        p = step / cut if step < cut else 1.0 - (step - cut) / max(1, total - cut)
        return (1.0 + p * (ratio - 1.0)) / ratio

    return factor


def warmup_linear(warmup: float) -> Callable[[int, int], float]:
    """Linear warm-up over the first ``warmup`` of the steps, then linear decay to 0 (BERT, TAPT)."""

    def factor(step: int, total: int) -> float:
        cut = max(1, int(total * warmup))
        return (step + 1) / cut if step < cut else max(0.0, (total - step) / max(1, total - cut))

    return factor


# schedule name → (config → lr_schedule(step, total) factor)
SCHEDULES: dict[str, Callable[[Any], Callable[[int, int], float]]] = {
    "constant": lambda cfg: (lambda step, total: 1.0),
    "linear": lambda cfg: warmup_linear(cfg.warmup),
    "stlr": lambda cfg: slanted_triangular(cfg.cut_frac, cfg.ratio),
}


def discriminative_groups(groups: list[list], lr: float, decay: float, head: list, head_lr: float) -> list[dict]:
    """Optimizer param groups, top first: ``head`` at ``head_lr``, then layer group l
    (counted down from the top group, l = 0) at lr / decay**l (Howard & Ruder 2018, §3.2)."""
    top_first = groups[::-1]
    return [{"params": head, "lr": head_lr, "name": "head"}] + [
        {"params": ps, "lr": lr / decay ** l, "name": f"group{len(groups) - 1 - l}"}
        for l, ps in enumerate(top_first)]


# ---------------------------------------------------------------- adapter configs
@dataclass(frozen=True)
class AdaptConfig:
    """Knobs every adapter shares (TAPT-like defaults, sized for CPU)."""

    steps: int = 300  # optimizer steps; each takes batch_size pool texts, every text used equally often
    lr: float = 1e-4  # AdamW peak rate (of the top layer group when decay > 1)
    batch_size: int = 16  # pool texts per step
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    schedule: str = "linear"  # constant | linear (warm-up, then linear decay to 0) | stlr (ULMFiT eq. 3)
    warmup: float = 0.06  # linear: fraction of steps warming up (Gururangan et al. 2020: 6%)
    cut_frac: float = 0.1  # stlr: fraction of steps rising (Howard & Ruder 2018: 0.1)
    ratio: float = 32.0  # stlr: peak / lowest rate (Howard & Ruder 2018: 32)
    decay: float = 1.0  # discriminative rates: layer group l below the top trains at lr / decay**l (ULMFiT: 2.6)

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r} is unknown; write one of {', '.join(SCHEDULES)}")
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("steps, batch_size and lr must be positive; e.g. write steps: 300, lr: 1e-4")

    def run(self, enc: Any, texts: Any, rng: Any) -> float:
        """Adapt ``enc`` in place on ``texts`` (the pool); the last step's loss."""
        from altbench import adapt_objectives

        return adapt_objectives.run(self, enc, texts, rng)


@ADAPTERS.register(name="mlm")
@dataclass(frozen=True)
class Mlm(AdaptConfig):
    """Masked-LM pretraining on the pool (Devlin et al. 2019; TAPT, Gururangan et al. 2020)."""

    mask_prob: float = 0.15  # fraction of non-special tokens predicted (BERT: 15%, split 80/10/10)
    max_length: int | None = None  # tokens per text; None: the backbone's max_length

    def objective(self, enc: Any, texts: Any, g: Any) -> Any:
        from altbench.adapt_objectives import mlm_objective

        return mlm_objective(self, enc, texts, g)


@ADAPTERS.register(name="simcse")
@dataclass(frozen=True)
class SimCse(AdaptConfig):
    """Unsupervised SimCSE on the pool (Gao et al. 2021): dropout views, in-batch InfoNCE."""

    lr: float = 3e-5  # Gao et al. 2021, BERT-base unsupervised
    schedule: str = "constant"  # no warm-up (their runs: linear decay over one epoch of Wikipedia)
    temperature: float = 0.05  # InfoNCE temperature (Gao et al. 2021: 0.05)

    def objective(self, enc: Any, texts: Any, g: Any) -> Any:
        from altbench.adapt_objectives import simcse_objective

        return simcse_objective(self, enc, texts, g)


def adapter_config(spec: dict) -> AdaptConfig:
    """``{name: mlm, steps: 100, ...}`` → the adapter's config, or a one-line ValueError."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"adapt must be a mapping with a name, got {spec!r}; write e.g. adapt: {{name: mlm}}")
    import pydantic

    name, params = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    if name not in ADAPTERS:
        raise ValueError(f"unknown adapter {name!r}; write one of {', '.join(ADAPTERS.names())}")
    cls = ADAPTERS.get(name)
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"adapter {name!r} has no parameter {unknown[0]!r}; valid: {', '.join(sorted(fields))}")
    try:
        return pydantic.TypeAdapter(cls).validate_python(params)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:  # raised by __post_init__: its message already says what to write
            raise ValueError(f"adapter {name!r}: {err.get('ctx', {}).get('error', err['msg'])}") from None
        key = ".".join(map(str, err["loc"]))
        raise ValueError(f"adapter {name!r}: parameter {key}: {err['msg']}; write e.g. "
                         f"{key}: {json.dumps(fields.get(key))}") from None


def adaptation_of(method: Any, modality: str | None = None) -> AdaptConfig | None:
    """The adaptation ``method`` asks for on data of ``modality`` (None: any): its
    ``adaptation(modality)`` (ulmfit's stage 2), else its ``adapt`` dict."""
    own = getattr(method, "adaptation", None)
    if callable(own):
        return own(modality)
    spec = getattr(method, "adapt", None)
    return None if spec is None else adapter_config(spec)


# ---------------------------------------------------------------- the on-disk cache
def adapt_key(backbone_name: str, backbone_config: Any, dataset_fingerprint: str, cfg: AdaptConfig,
              seed: int) -> str:
    """Hex key of (backbone name and config, dataset content, adapter and its config, seed)."""
    bb = dataclasses.asdict(backbone_config) if dataclasses.is_dataclass(backbone_config) else backbone_config
    blob = json.dumps({"v": FORMAT_VERSION, "backbone": backbone_name, "config": bb, "data": dataset_fingerprint,
                       "adapter": type(cfg).__name__, "adapt": dataclasses.asdict(cfg), "seed": int(seed)},
                      sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Adapted:
    """Handle on a stored adapted encoder: ``load_into(enc)`` copies its weights."""

    key: str
    path: Path

    def state(self) -> dict:
        return _read_state(str(self.path), self.path.stat().st_mtime_ns)

    def load_into(self, enc: Any) -> Any:
        enc.load_state_dict(self.state())
        return enc


@functools.lru_cache(maxsize=2)  # one process's runs reuse the last entries: no reread per AL round
def _read_state(path: str, mtime_ns: int) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


class AdaptCache:
    """Key → adapted encoder state dict (``<key>.pt``); ``hits`` / ``misses`` count lookups."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "adapted"
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: str, compute: Callable[[], dict], meta: dict) -> Adapted:
        """The entry; ``compute()`` (→ state dict) runs on a miss, in one process at a time."""
        if self._valid(key):
            self.hits += 1
            return Adapted(key, self.root / f"{key}.pt")
        with exclusive_lock(self.root / f"{key}.lock", hint=CACHE_HINT):
            if self._valid(key):  # another worker built it while we waited
                self.hits += 1
                return Adapted(key, self.root / f"{key}.pt")
            import torch

            from altbench.watch import phase  # the driver's progress line shows it (altbench.watch)

            with phase(f"adapting {meta.get('backbone')} to {meta.get('dataset')}"):
                state = compute()
            with atomic_open(self.root / f"{key}.pt", hint=CACHE_HINT) as fh:
                torch.save({k: v.detach().cpu() for k, v in state.items()}, fh)
            atomic_write_bytes(self.root / f"{key}.json", json.dumps(meta, sort_keys=True, default=list).encode(),
                               hint=CACHE_HINT)
            self.misses += 1
            return Adapted(key, self.root / f"{key}.pt")

    def _valid(self, key: str) -> bool:
        """True if ``<key>.pt`` loads as a state dict; a damaged one is reported (then rebuilt)."""
        path = self.root / f"{key}.pt"
        if not path.is_file():
            return False
        try:
            state = _read_state(str(path), path.stat().st_mtime_ns)
            if not isinstance(state, dict) or not state:
                raise ValueError("not a state dict")
            return True
        except Exception as exc:  # truncated zip, pickle error, wrong content: rebuild
            log.warning("adapted-encoder cache entry %s in %s is damaged (%s); rebuilding it", key, self.root,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return False


def adapt_pool(bb: Any, cfg: AdaptConfig, dataset: Any, streams: Any, cache: AdaptCache | None = None) -> Adapted:
    """Adapt ``bb``'s encoder on ``dataset.X_train`` (the pool; no test row, no label) once per
    (backbone, dataset, config, seed); ``streams.rng("adapt")`` drives masks, dropout and order."""
    from altbench.backbones import backbone_name

    if getattr(dataset, "modality", "text") != "text":
        raise ValueError(f"adapt needs a text dataset, {dataset.name!r} is {dataset.modality}; remove adapt")
    cache = cache or AdaptCache()
    key = adapt_key(backbone_name(bb), bb, dataset.fingerprint(), cfg, streams.seed)
    meta = {"backbone": backbone_name(bb), "config": dataclasses.asdict(bb), "dataset": dataset.name,
            "adapter": type(cfg).__name__, "adapt": dataclasses.asdict(cfg), "seed": streams.seed}

    def compute() -> dict:
        from altbench.device import device

        enc = bb.encoder().to(device())
        cfg.run(enc, dataset.X_train, streams.rng("adapt"))
        return enc.state_dict()

    return cache.get_or_compute(key, compute, meta)


# ---------------------------------------------------------------- what methods call
def prepared_weights(method: Any) -> Adapted:
    """The ``adapted_`` weights :func:`altbench.methods.prepare_inputs` attached to ``method``."""
    adapted = getattr(method, "adapted_", None)
    if adapted is None:
        raise ValueError(f"{type(method).__name__} adapts its encoder on the pool but was not prepared; "
                         "run it through the AL loop (altbench.methods.prepare_inputs) first")
    return adapted


def load_adapted(method: Any, enc: Any) -> Any:
    """``enc`` with the pool-adapted weights when ``method`` names an adaptation, else unchanged."""
    return enc if adaptation_of(method) is None else prepared_weights(method).load_into(enc)


@dataclass(frozen=True)
class AdaptedBackbone:
    """A backbone whose encoder carries pool-adapted weights.  Its fields are its config, so
    the feature cache keys its features by the inner backbone *and* the adapted weights' key."""

    inner: Any  # the backbone config (a frozen dataclass)
    adapted_key: str  # Adapted.key of the weights (hash of backbone, dataset, adapter config, seed)

    registry_name = "pool-adapted"

    @classmethod
    def of(cls, inner: Any, adapted: Adapted) -> AdaptedBackbone:
        bb = cls(inner, adapted.key)
        object.__setattr__(bb, "weights_", adapted)  # where they are stored: not part of the config
        return bb

    @property
    def modality(self) -> str:
        return self.inner.modality

    def encoder(self) -> Any:
        return self.weights_.load_into(self.inner.encoder())

    def encode_split(self, X_train, X_test):
        from altbench.device import device
        from altbench.methods.finetune import encode_rows

        enc = self.encoder().to(device())
        return encode_rows(enc, X_train), encode_rows(enc, X_test)


def adapted_backbone(method: Any, bb: Any) -> Any:
    """``bb``, or its pool-adapted version when ``method`` names an adaptation (for cached features)."""
    return bb if adaptation_of(method) is None else AdaptedBackbone.of(bb, prepared_weights(method))

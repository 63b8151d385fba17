"""Torch models behind the method interface: the fitted :class:`TorchModel`, the MLP net
and seeded dropout (imported by a run, never by `altbench status` or `list`)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from altbench.seeds import torch_generator
from altbench.torchparts import SeededDropout, init_linear_, use_generator  # noqa: F401  (shared torch pieces)
from altbench.train import total_steps


class MlpNet(nn.Module):
    """x (n, d) → [Linear → ReLU → Dropout]* → features (n, h) → logits (n, C)."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], n_classes: int, dropout: float,
                 g: torch.Generator):
        super().__init__()
        layers: list[nn.Module] = []
        for h in hidden:
            lin = nn.Linear(d_in, h)
            init_linear_(lin, g)
            layers += [lin, nn.ReLU(), SeededDropout(dropout)]
            d_in = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(d_in, n_classes)
        init_linear_(self.head, g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _float_rows(X) -> torch.Tensor:
    return torch.as_tensor(np.array(X, dtype=np.float32))  # copy: X may be a read-only memmap


@torch.inference_mode()
def batched(X, fn: Callable[..., torch.Tensor], to_inputs: Callable[[Any], Any], batch_size: int,
            dev: torch.device, keys: np.ndarray | None = None) -> np.ndarray:
    """``fn(*to_inputs(batch))`` over batches of rows X (n, ...), concatenated: (n, ...).

    With ``keys`` (n,) (e.g. token counts) the batches hold rows in key order,
    so each pads to a similar length; the output rows are put back in X's order.
    """
    order = None if keys is None else np.argsort(keys, kind="stable")
    if order is not None:
        X = X[order]
    outs = []
    for i in range(0, len(X), batch_size):
        inputs = to_inputs(X[i:i + batch_size])
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        outs.append(fn(*(t.to(dev) for t in inputs)).cpu())
    out = torch.cat(outs).numpy() if outs else np.zeros((0,))
    if order is None:
        return out
    restored = np.empty_like(out)
    restored[order] = out
    return restored


class TorchModel:
    """A fitted torch classifier ``net`` with ``net.features`` and ``net.head``.

    ``to_inputs(X_chunk)`` turns rows of the prepared inputs into a tensor or a
    tuple of tensors (default: a float32 tensor); ``net.features(*inputs)`` is
    the (b, h) penultimate embedding and ``net.head`` the last linear layer.
    MC dropout switches on only the :class:`SeededDropout` modules (BatchNorm
    stays in eval mode), with masks from the ``rng`` given.  ``train_loss_``
    is the final-epoch mean training loss: ``train_loss`` if given, else the
    one :func:`altbench.train.train` left on ``net`` (None if neither).
    """

    def __init__(self, net: nn.Module, n_classes: int, batch_size: int = 4096,
                 to_inputs: Callable[[Any], Any] = _float_rows,
                 sort_key: Callable[[Any], float] | None = None, train_loss: float | None = None,
                 sort_keys: Callable[[Any], np.ndarray] | None = None):
        self.net = net
        self.train_loss_ = train_loss if train_loss is not None else getattr(net, "train_loss_", None)
        self.train_steps_ = total_steps(net)  # optimizer steps this fit took (the run record's train_steps)
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.to_inputs = to_inputs
        self.sort_key = sort_key  # e.g. text length: similar rows share a batch (less padding)
        self.sort_keys = sort_keys  # the same for a whole chunk at once: rows (n,) → keys (n,)
        self.dev = next(net.parameters()).device

    def _keys(self, X) -> np.ndarray | None:
        """(n,) batching keys of rows X (None: keep the given order)."""
        if len(X) <= self.batch_size:
            return None
        if self.sort_keys is not None:
            return np.asarray(self.sort_keys(X))
        return None if self.sort_key is None else np.asarray([self.sort_key(x) for x in X])

    def _batches(self, X, fn):
        """fn over batches of X, rows sorted by key (less padding); outputs in X's row order."""
        return batched(X, fn, self.to_inputs, self.batch_size, self.dev, self._keys(X))

    def _logits(self, *x):
        return self.net.head(self.net.features(*x))

    def predict_proba(self, X) -> np.ndarray:
        """(n, C)"""
        self.net.eval()
        return self._batches(X, lambda *x: self._logits(*x).softmax(-1)).astype(np.float64)

    def predict_proba_mc(self, X, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """(n, C, T): dropout on, T passes, masks from ``rng``; memory O(batch·C·T).

        Nets whose only dropout is the last step of ``features`` expose
        ``split_dropout() -> (trunk, dropout)``: the trunk then runs once per
        batch and only the masks and the head are redone T times.  The masks
        are drawn in the same order and shape, so the result is bit-identical
        to T full passes.
        """
        g = torch_generator(rng, self.dev)
        use_generator(self.net, g)
        self.net.eval()
        for m in self.net.modules():
            if isinstance(m, SeededDropout):
                m.train()
        split = getattr(self.net, "split_dropout", None)
        if split is not None:  # dropout only at the end: run the trunk once, redraw masks T times
            trunk, drop = split()

            def passes(*x):
                h = trunk(*x)
                return torch.stack([self.net.head(drop(h)).softmax(-1) for _ in range(n_samples)], -1)
        else:
            def passes(*x):
                return torch.stack([self._logits(*x).softmax(-1) for _ in range(n_samples)], -1)
        try:
            out = self._batches(X, passes)
        finally:
            self.net.eval()
        return out.astype(np.float64)

    def embed(self, X) -> np.ndarray:
        """(n, h) penultimate features."""
        self.net.eval()
        return self._batches(X, self.net.features)

    def head_proba(self, H) -> np.ndarray:
        """(n, C): softmax of the head on embeddings H (n, h) as returned by ``embed``."""
        self.net.eval()
        H = np.asarray(H, dtype=np.float32)
        with torch.inference_mode():
            out = [self.net.head(torch.as_tensor(H[i:i + self.batch_size], device=self.dev)).softmax(-1).cpu()
                   for i in range(0, len(H), self.batch_size)]
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros((0, self.n_classes))

    def grad_embed(self, X) -> np.ndarray:
        """(n, C·h): (p − e_ŷ) ⊗ h, the last-layer gradient at the predicted label."""
        self.net.eval()

        def g(*x):
            h = self.net.features(*x)
            p = self.net.head(h).softmax(-1)
            p[torch.arange(len(p)), p.argmax(-1)] -= 1.0
            return (p[:, :, None] * h[:, None, :]).flatten(1)

        return self._batches(X, g)


class MlpModel(TorchModel):
    """A fitted :class:`Mlp`; ``refit`` trains a fresh one with the same settings
    (committee members for query by bagging)."""

    def __init__(self, net: nn.Module, n_classes: int, spec: "Mlp"):
        super().__init__(net, n_classes)
        self.spec = spec  # the Mlp config that trained it

    def refit(self, X, y, rng: np.random.Generator) -> "MlpModel":
        """A new Mlp fitted on (X, y), its init and data order drawn from ``rng``."""
        return self.spec.fit(X, y, n_classes=self.n_classes, rng_init=rng, rng_order=rng)

    def committee_proba(self, X_lab, y_lab, X, n_members: int, rng: np.random.Generator) -> np.ndarray:
        """(n, C, M): M refits on bootstrap resamples of the labelled set (query by bagging)."""
        from altbench.methods.committee import bagged_proba

        return bagged_proba(self.refit, X_lab, y_lab, X, self.n_classes, n_members, rng)

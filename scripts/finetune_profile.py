"""Fine-tuning throughput: one ``finetune`` fit against a plain transformers loop, and
where the time of a whole ``finetune`` AL run on TREC-6 goes.

Part 1 (the ratio).  ``Finetune().fit`` on ``--fit-rows`` labelled TREC-6 rows
against :func:`plain_fit`, a plain PyTorch/transformers loop written here with
the same model (all-MiniLM-L6-v2 from its local folder, hidden dropout 0.1,
attention dropout off), the same number of AdamW steps, batch size, max
length, learning rates, gradient clipping, masked mean pooling + L2
normalisation + dropout + linear head, float32.  Both sides build their model
from the checkpoint on every fit (the plain loop with ``from_pretrained``) and
tokenise the texts the way they do inside a fit.  Printed: the fastest of
``--repeat`` runs of each side (the cores may be shared) and their ratio.

Part 2 (the breakdown).  One AL run (``run_active_learning``, ``--initial``,
``--query``, ``--total`` labels, seed 0, ``--strategy``) with timers wrapped
around its parts: loading the encoder, the training loop (and the tokeniser
calls inside it), test-set evaluation, pool inference for the strategy
(per ``ModelView`` method), the rest (harness).  Padding waste = 1 − real
tokens / tokens the transformer computed.

    python scripts/finetune_profile.py                   # both parts, 1 torch thread
    python scripts/finetune_profile.py --skip-run        # the ratio only
    python scripts/finetune_profile.py --strategy bald   # MC-dropout pool inference

Timings need a quiet machine: on shared cores both sides slow down unevenly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("ALTBENCH_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def trec6(data_dir: Path = DATA_DIR):
    import altbench.backbones.text  # noqa: F401  (registers minilm)
    from altbench.datasets import load_dataset

    return load_dataset("trec6", data_dir)


def finetune(min_steps: int | None = None):
    """``Finetune()`` with its defaults (``min_steps`` if given)."""
    from altbench.methods.finetune import Finetune

    return Finetune() if min_steps is None else Finetune(min_steps=min_steps)


def fit_steps(n_rows: int, min_steps: int | None = None) -> tuple[int, int]:
    """(epochs, batch size) of :func:`finetune`'s fit on n_rows labelled rows."""
    from altbench.train import with_min_steps

    ft = finetune(min_steps)
    cfg = with_min_steps(ft.train, n_rows, ft.min_steps)
    return cfg.epochs, cfg.batch_size


def plain_fit(texts, labels, n_classes: int, epochs: int, batch_size: int, max_length: int = 128,
              lr: float = 5e-5, head_lr: float = 5e-3, seed: int = 0):
    """A plain transformers fine-tuning loop (AutoModel + linear head, AdamW), as one writes it
    without a harness: from_pretrained, tokenise each mini-batch (pad to its longest row),
    masked mean pooling, L2 normalisation, dropout, cross-entropy, clip 1.0.
    Returns (model, head, number of optimizer steps).

    Dropout is ``nn.Dropout`` (torch's global generator, never seeded here): this loop only
    times the work, its numbers are not results.
    """
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer

    from altbench.backbones.text import minilm_path

    path = minilm_path()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, attention_probs_dropout_prob=0.0, hidden_dropout_prob=0.1,
                                      local_files_only=True)
    g = torch.Generator().manual_seed(seed)
    head = nn.Linear(model.config.hidden_size, n_classes)
    drop = nn.Dropout(0.1)
    opt = torch.optim.AdamW([{"params": list(model.parameters()), "lr": lr},
                             {"params": list(head.parameters()), "lr": head_lr}], lr=lr, weight_decay=0.01)
    y = torch.as_tensor(np.array(labels, dtype=np.int64))  # copy: labels may be read-only
    texts = [str(t) for t in texts]
    model.train()
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(len(texts), generator=g)
        for s in range(0, len(texts), batch_size):
            idx = order[s:s + batch_size]
            enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt")
            h = model(**enc).last_hidden_state  # (b, L, 384)
            m = enc["attention_mask"].unsqueeze(-1).float()
            pooled = nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp_min(1.0), dim=-1)
            loss = nn.functional.cross_entropy(head(drop(pooled)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(list(model.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            steps += 1
    model.eval()
    return model, head, steps


def altbench_fit(texts, labels, n_classes: int, seed: int = 0, min_steps: int | None = None):
    """:func:`finetune`'s fit on (texts, labels)."""
    return finetune(min_steps).fit(texts, labels, n_classes=n_classes, rng_init=np.random.default_rng(seed),
                                   rng_order=np.random.default_rng(seed + 1))


def fastest(fn, repeat: int) -> float:
    """Fastest wall time of ``repeat`` calls of fn()."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def fit_ratio(ds, n_rows: int, repeat: int) -> dict[str, float]:
    """Fastest times of one altbench fit and one plain fit on the first n_rows train rows."""
    X, y = ds.X_train[:n_rows], ds.y_train[:n_rows]
    epochs, batch = fit_steps(n_rows)
    altbench_fit(X, y, ds.n_classes)  # warm-up: imports, first-touch allocations
    plain, ours = float("inf"), float("inf")
    for _ in range(repeat):  # alternate the sides, so a change in the machine's load hits both
        plain = min(plain, fastest(lambda: plain_fit(X, y, ds.n_classes, epochs, batch), 1))
        ours = min(ours, fastest(lambda: altbench_fit(X, y, ds.n_classes), 1))
    return {"plain_s": plain, "altbench_s": ours, "ratio": ours / plain, "steps": epochs * -(-n_rows // batch)}


class Timers:
    """Inclusive wall time per call path ("fit/tokenise"), entered through :meth:`wrap`."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # process CPU seconds (less sensitive to shared cores)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[str] = []
        self.tokens: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # top phase → [real, computed]

    @contextlib.contextmanager
    def phase(self, name: str):
        path = "/".join([*self.stack, name]) if name not in self.stack else "/".join(self.stack)
        self.stack.append(name)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.stack.pop()
            if name not in self.stack:
                self.seconds[path] += time.perf_counter() - t0
                self.cpu[path] += time.process_time() - c0
                self.calls[path] += 1

    def wrap(self, owner, attr: str, name: str) -> None:
        fn = getattr(owner, attr)

        def timed(*args, **kwargs):
            with self.phase(name):
                return fn(*args, **kwargs)

        setattr(owner, attr, timed)

    def count_tokens(self, owner) -> None:
        """Count real vs computed tokens in ``owner.forward(ids, mask)`` (after its own width crop)."""
        fn = owner.forward

        def counted(enc, ids, mask):
            width = int(mask.sum(1).max()) if mask.numel() else 0
            tally = self.tokens[self.stack[0] if self.stack else "other"]
            tally[0] += int(mask.sum())
            tally[1] += int(mask.shape[0]) * width
            return fn(enc, ids, mask)

        owner.forward = counted


def instrument(t: Timers) -> None:
    """Wrap the parts of a finetune AL run with ``t``'s timers."""
    from transformers import PreTrainedTokenizerBase

    import altbench.loop as loop
    import altbench.methods.finetune as ft
    from altbench.backbones.text import MiniLmEncoder
    from altbench.view import ModelView

    t.wrap(ft.Finetune, "fit", "fit")
    t.wrap(ft, "load_encoder", "load encoder")
    t.wrap(ft, "train_encoder_classifier", "train loop")
    t.wrap(PreTrainedTokenizerBase, "__call__", "tokenise")
    t.wrap(loop, "predict_test_labels", "test evaluation")
    stop_probe = getattr(loop, "StopProbe", None)  # stopping signals on a fixed stop set, where the loop has them
    if stop_probe is not None:
        t.wrap(stop_probe, "measure", "stop-set signals")
    for name in ("predict_proba", "predict_proba_mc", "embed", "embeddings", "grad_embed"):
        t.wrap(ModelView, name, f"pool {name}")
    t.count_tokens(MiniLmEncoder)


def profile_run(ds, strategy: str, initial: int, query: int,
                total: int) -> tuple[Timers, tuple[float, float], list[dict]]:
    """(timers, (wall, CPU) seconds, records) of one finetune AL run on ``ds``."""
    from altbench.loop import Budget, run_active_learning
    from altbench.methods.finetune import Finetune
    from altbench.registry import STRATEGIES
    from altbench.seeds import Streams

    t = Timers()
    instrument(t)
    t0, c0 = time.perf_counter(), time.process_time()
    records = run_active_learning(ds, Finetune(), STRATEGIES.get(strategy), Budget(initial=initial, query=query,
                                  total=total), Streams(0), names=("finetune", strategy))
    return t, (time.perf_counter() - t0, time.process_time() - c0), records


def print_breakdown(t: Timers, times: tuple[float, float], records: list[dict]) -> None:
    wall, cpu = times
    print(f"\nAL run: {len(records)} rounds, wall {wall:.1f} s, CPU {cpu:.1f} s; accuracies "
          + ", ".join(f"{r['accuracy']:.3f}" for r in records))
    print(f"  {'part':<28} {'wall':>9} {'share':>6} {'CPU':>9} {'share':>6}")
    for path in sorted(t.seconds, key=lambda p: (p.split("/")[0], p)):
        s, c = t.seconds[path], t.cpu[path]
        name = "  " * path.count("/") + path.split("/")[-1]
        print(f"  {name:<28} {s:8.2f}s {100 * s / wall:5.1f}% {c:8.2f}s {100 * c / cpu:5.1f}%  ({t.calls[path]} calls)")
    top, top_cpu = (sum(v for p, v in d.items() if "/" not in p) for d in (t.seconds, t.cpu))
    print(f"  {'harness (the rest)':<28} {wall - top:8.2f}s {100 * (wall - top) / wall:5.1f}% "
          f"{cpu - top_cpu:8.2f}s {100 * (cpu - top_cpu) / cpu:5.1f}%")
    for phase, (real, comp) in sorted(t.tokens.items()):
        print(f"  padding waste in {phase}: {100 * (1 - real / max(1, comp)):.1f} % of {comp} token positions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit-rows", type=int, default=64, help="labelled rows of the timed fit")
    ap.add_argument("--repeat", type=int, default=3, help="timed fits per side (fastest kept)")
    ap.add_argument("--initial", type=int, default=20)
    ap.add_argument("--query", type=int, default=20)
    ap.add_argument("--total", type=int, default=80)
    ap.add_argument("--strategy", default="margin")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads")
    ap.add_argument("--skip-ratio", action="store_true")
    ap.add_argument("--skip-run", action="store_true")
    args = ap.parse_args()
    from altbench.device import configure_worker

    configure_worker(args.threads)
    ds = trec6()
    print(f"TREC-6: {len(ds.y_train)} train, {len(ds.y_test)} test rows; torch threads {args.threads}")
    if not args.skip_ratio:
        r = fit_ratio(ds, args.fit_rows, args.repeat)
        print(f"one fit, {args.fit_rows} rows, {r['steps']} steps: plain loop {r['plain_s']:.2f} s, "
              f"finetune {r['altbench_s']:.2f} s, ratio {r['ratio']:.2f}x (target <= 1.2x)")
    if not args.skip_run:
        print_breakdown(*profile_run(ds, args.strategy, args.initial, args.query, args.total))


if __name__ == "__main__":
    main()

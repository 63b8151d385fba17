"""What early stopping on the training loss saves: one ``finetune`` fit on TREC-6, with and without it.

``--labels`` TREC-6 train rows (drawn uniformly with the ``"initial"`` stream of
seed ``--seed``), MiniLM at ``--max-length`` tokens, the ``finetune`` recipe
(AdamW, lr 5e-5 encoder / 5e-3 head, batch 16) for ``--epochs`` epochs.  The
second arm adds ``train.early_stop: {monitor: train_loss, every, patience,
min_delta}`` (Prechelt 1998's patience rule on the labelled-only smoothed
training loss; no validation labels, no test rows).  Both arms fit from copies
of the same ``"model"`` / ``"order"`` streams, so they follow the same
trajectory until the stop (checked: bit-identical step losses).  Printed side
by side: optimizer steps taken, the step whose weights the fit ends with
(``restore_best``: the best check), fit seconds, test accuracy on the 500
TREC-6 test rows, and the early arm's checks.

    python scripts/early_stop_saving.py                      # 400 labels, 6 epochs, 1 torch thread
    python scripts/early_stop_saving.py --epochs 10 --min-delta 0.02 --every 10 --patience 2

Seconds need a quiet machine (on shared cores both arms slow down unevenly);
steps and accuracies do not depend on load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("ALTBENCH_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def arms(epochs: int, max_length: int, every: str | int, patience: int, min_delta: float) -> dict:
    """{arm name: Finetune}: the fixed schedule and the same one with train-loss early stopping."""
    from altbench.methods.finetune import FINETUNE_TRAIN, Finetune
    from altbench.train_config import EarlyStop

    fixed = Finetune(backbone_params={"max_length": max_length}, train=dataclasses.replace(FINETUNE_TRAIN,
                                                                                         epochs=epochs))
    rule = EarlyStop(monitor="train_loss", every=every, patience=patience, min_delta=min_delta, restore_best=True)
    early = dataclasses.replace(fixed, train=dataclasses.replace(fixed.train, early_stop=rule))
    return {"fixed": fixed, "early_stop": early}


def measure(method, X, y, X_test, y_test, n_classes: int, seed: int) -> dict:
    """One fit from seed's streams: steps, seconds, test accuracy, and the stopper's checks."""
    from altbench.seeds import Streams

    streams = Streams(seed)
    t0 = time.perf_counter()
    model = method.fit(X, y, n_classes=n_classes, rng_init=streams.rng("model", 0),
                       rng_order=streams.rng("order", 0))
    seconds = time.perf_counter() - t0
    accuracy = float((model.predict_proba(X_test).argmax(1) == y_test).mean())
    stopper = getattr(model.net, "early_stop_", None)
    checks = [(c.step, round(c.loss, 4)) for c in stopper.checks] if stopper is not None else []
    kept = stopper.best.step if stopper is not None and stopper.rule.restore_best else model.train_steps_
    return {"steps": model.train_steps_, "kept": kept, "seconds": seconds, "accuracy": accuracy, "checks": checks}


def table(results: dict) -> str:
    """Markdown table of the arms, then the early arm's checks."""
    lines = ["| arm | steps taken | weights of step | fit seconds | test accuracy |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {arm} | {r['steps']} | {r['kept']} | {r['seconds']:.1f} | {r['accuracy']:.4f} |"
              for arm, r in results.items()]
    fixed, early = results["fixed"], results["early_stop"]
    change = early["accuracy"] - fixed["accuracy"]
    lines.append(f"\nsteps saved {1 - early['steps'] / fixed['steps']:.0%}, seconds ratio "
                 f"{early['seconds'] / fixed['seconds']:.2f}, accuracy change {change:+.4f}")
    lines.append(f"early_stop checks (step, smoothed train loss): {early['checks']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", type=int, default=400)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--epochs", type=int, default=6, help="the fixed schedule (and the early arm's cap)")
    p.add_argument("--every", default="epoch", help="'epoch' or a step count between checks")
    p.add_argument("--patience", type=int, default=1)
    p.add_argument("--min-delta", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    from altbench.datasets import load_dataset
    from altbench.device import configure_worker
    from altbench.seeds import Streams

    configure_worker(args.threads)
    import altbench.backbones.text  # noqa: F401  (registers minilm)

    ds = load_dataset("trec6", DATA_DIR)
    rows = np.sort(Streams(args.seed).rng("initial").choice(len(ds.y_train), size=args.labels, replace=False))
    X, y = ds.X_train[rows], np.asarray(ds.y_train)[rows]
    every = args.every if args.every == "epoch" else int(args.every)
    results = {arm: measure(m, X, y, ds.X_test, np.asarray(ds.y_test), ds.n_classes, args.seed)
               for arm, m in arms(args.epochs, args.max_length, every, args.patience, args.min_delta).items()}
    print(f"TREC-6, {args.labels} labels, finetune (MiniLM, {args.max_length} tokens), {args.epochs} epochs, "
          f"{args.threads} torch thread(s), seed {args.seed}; early_stop: monitor train_loss, every {every}, "
          f"patience {args.patience}, min_delta {args.min_delta}")
    print(table(results))
    return results


if __name__ == "__main__":
    main()

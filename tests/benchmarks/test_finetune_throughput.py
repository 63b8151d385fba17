"""One ``finetune`` fit against a plain transformers loop with the same work.

Both sides fit all-MiniLM-L6-v2 + a linear head on the same labelled TREC-6
rows with the same optimizer steps, batch size, max length, learning rates,
pooling and dtype (:func:`scripts/finetune_profile.plain_fit`), one torch
thread.  The target is ``finetune`` ≤ 1.2× the plain loop; benchmarks never
assert times: ``python scripts/finetune_profile.py`` prints the ratio (and the
time breakdown of a whole AL run) on a quiet machine.  Kept small (32 rows,
8 steps) so CI's ``--benchmark-disable`` pass runs each side once quickly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import load_script


N_ROWS, MIN_STEPS = 32, 8


@pytest.fixture(scope="module")
def script():
    return load_script("finetune_profile")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


@pytest.fixture(scope="module")
def rows(script):
    ds = script.trec6()
    return ds.X_train[:N_ROWS], ds.y_train[:N_ROWS], ds.n_classes, ds.X_test[:64]


def test_finetune_fit(benchmark, script, rows):
    X, y, C, X_test = rows
    benchmark.group = "finetune fit vs plain transformers loop"
    model = benchmark.pedantic(script.altbench_fit, args=(X, y, C), kwargs={"min_steps": MIN_STEPS},
                               rounds=3, warmup_rounds=1)
    p = model.predict_proba(X_test)
    assert p.shape == (64, C) and np.allclose(p.sum(1), 1.0)


def test_plain_transformers_fit(benchmark, script, rows):
    X, y, C, X_test = rows
    epochs, batch = script.fit_steps(N_ROWS, MIN_STEPS)
    benchmark.group = "finetune fit vs plain transformers loop"
    model, head, steps = benchmark.pedantic(script.plain_fit, args=(X, y, C, epochs, batch), rounds=3,
                                            warmup_rounds=1)
    assert steps == epochs * -(-N_ROWS // batch) >= MIN_STEPS  # the finetune fit's step count
    from altbench.backbones.text import minilm_path
    from altbench.backbones.tokens import tokenizer_at

    enc = tokenizer_at(minilm_path())([str(t) for t in X_test], padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = head(model(**enc).last_hidden_state[:, 0])
    assert logits.shape == (64, C) and torch.isfinite(logits).all()


def test_both_sides_do_the_same_number_of_steps(script):
    """The comparison is fair: the finetune config the benchmark times takes exactly the plain loop's steps."""
    from altbench.train import with_min_steps

    ft = script.finetune(MIN_STEPS)
    cfg = with_min_steps(ft.train, N_ROWS, ft.min_steps)
    epochs, batch = script.fit_steps(N_ROWS, MIN_STEPS)
    assert (cfg.epochs, cfg.batch_size) == (epochs, batch) and cfg.batch_size == 16
    assert ft.backbone_params.get("max_length", 128) == 128 and ft.train.grad_clip == 1.0

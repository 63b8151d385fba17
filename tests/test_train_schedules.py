"""The shared training loop's extensions and ULMFiT's schedules, checked on the
optimizer itself: per-epoch param groups (lrs, frozen groups) and per-step lrs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from altbench.methods.nets import EncoderClassifier, HeadNet
from altbench.methods.ulmfit import Ulmfit, slanted_triangular
from altbench.train import TrainConfig, train


class ToyEncoder(nn.Module):
    """Three stacked linear layers with ``layer_groups`` like the real encoders."""

    dim = 8

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in range(3))
        for lin in self.layers:
            nn.init.normal_(lin.weight, 0, 0.3, generator=g)
            nn.init.zeros_(lin.bias)

    def forward(self, x):
        for lin in self.layers:
            x = torch.tanh(lin(x))
        return x

    def layer_groups(self):
        return [list(lin.parameters()) for lin in self.layers]


def toy_data(n=64):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(n, 8, generator=g)
    return X, (X[:, 0] > 0).long()


def toy_net():
    return EncoderClassifier(ToyEncoder(), HeadNet(8, 2, 0.0, torch.Generator().manual_seed(2)))


def test_ulmfit_groups_lrs_and_unfreezing_per_epoch():
    method = Ulmfit(train=TrainConfig(epochs=5, batch_size=16, lr=1e-2), head_lr=3e-2)
    net = toy_net()
    groups, hook, schedule = method.schedule(net)
    X, y = toy_data()
    snapshots, seen = [], []

    def recording_hook(epoch, opt):
        hook(epoch, opt)
        seen.append([(g["name"], g["lr"], [p.requires_grad for p in g["params"]]) for g in opt.param_groups])
        snapshots.append([p.detach().clone() for p in net.parameters()])

    train(net, X, y, method.train, generator=torch.Generator().manual_seed(3), param_groups=groups,
          on_epoch_start=recording_hook, lr_schedule=schedule)
    names = [name for name, _, _ in seen[0]]
    assert names == ["head", "group2", "group1", "group0"]  # top first
    for epoch, groups_now in enumerate(seen):
        trainable = [all(flags) for _, _, flags in groups_now]
        frozen = [not any(flags) for _, _, flags in groups_now]
        k = min(epoch + 1, 4)
        assert trainable[:k] == [True] * k and frozen[k:] == [True] * (4 - k), f"epoch {epoch}"
        lrs = [lr for _, lr, _ in groups_now]
        factor = schedule(epoch * 4, 20)  # 64 rows / 16 = 4 steps per epoch, 20 in all
        assert lrs[0] == pytest.approx(3e-2 * factor)
        for l in range(1, 4):  # encoder groups: lr / 2.6 ** depth
            assert lrs[l] == pytest.approx(1e-2 * factor / 2.6 ** (l - 1))
    # a group frozen during an epoch does not move; it moves once unfrozen
    enc_params = [list(lin.parameters()) for lin in net.encoder.layers]
    index = {id(p): i for i, p in enumerate(net.parameters())}
    w0 = index[id(enc_params[0][0])]  # bottom layer: frozen in epochs 0–2, trains from epoch 3
    assert torch.equal(snapshots[0][w0], snapshots[3][w0])
    assert not torch.equal(snapshots[3][w0], snapshots[4][w0])


def test_slanted_triangular_shape():
    f = slanted_triangular(cut_frac=0.1, ratio=32)
    values = [f(t, 100) for t in range(100)]
    assert values[0] == pytest.approx(1 / 32)
    assert max(values) == pytest.approx(1.0) and int(np.argmax(values)) == 10
    assert all(a <= b for a, b in zip(values[:10], values[1:11]))  # warm-up rises
    assert all(a >= b for a, b in zip(values[10:], values[11:]))  # then decays
    assert values[-1] == pytest.approx((1 + (1 - 89 / 90) * 31) / 32)


def test_lr_schedule_sets_every_step():
    net = toy_net()
    X, y = toy_data(32)
    seen = []

    def loss(out, target):
        seen.append(opt_ref[0].param_groups[0]["lr"])
        return nn.functional.cross_entropy(out, target)

    opt_ref = []
    train(net, X, y, TrainConfig(epochs=2, batch_size=8, lr=0.1),
          generator=torch.Generator().manual_seed(0), lr_schedule=lambda s, total: (s + 1) / total,
          on_epoch_start=lambda epoch, opt: opt_ref.append(opt), loss_fn=loss)
    assert seen == pytest.approx([0.1 * (s + 1) / 8 for s in range(8)])


def test_tuple_inputs_and_encode_batch_match_plain_tensor():
    X, y = toy_data()

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = toy_net()

        def forward(self, a, b):
            return self.net(a + b)

    results = []
    for mode in ("tensor", "tuple", "encode"):
        m = Two()
        if mode == "tensor":
            m.forward = lambda x, _m=m: _m.net(x)  # one input: a + 0
            kwargs = {"X": X}
        elif mode == "tuple":
            kwargs = {"X": (X, torch.zeros_like(X))}
        else:
            kwargs = {"X": None, "encode_batch": lambda idx: (X[idx], torch.zeros_like(X[idx]))}
        train(m, y=y, cfg=TrainConfig(epochs=3, batch_size=16, lr=1e-2),
              generator=torch.Generator().manual_seed(5), **kwargs)
        results.append(m.net(X))
    assert torch.allclose(results[0], results[1]) and torch.allclose(results[0], results[2])


def test_loss_fn_on_float_targets_for_pairs():
    # setfit's contrastive phase: rows are pairs, targets are similarities
    enc = ToyEncoder()
    pairs = torch.tensor([[0, 1], [2, 3], [0, 2], [1, 3]])
    X, _ = toy_data(4)
    sims = torch.tensor([1.0, 1.0, 0.0, 0.0])
    model = nn.Module()
    model.forward = lambda a, b: nn.functional.cosine_similarity(enc(a), enc(b))
    model.enc = enc
    before = nn.functional.mse_loss(model(X[pairs[:, 0]], X[pairs[:, 1]]), sims).item()
    train(model, None, sims, TrainConfig(epochs=30, batch_size=4, lr=1e-2),
          generator=torch.Generator().manual_seed(0),
          encode_batch=lambda idx: (X[pairs[idx, 0]], X[pairs[idx, 1]]), loss_fn=nn.functional.mse_loss)
    after = nn.functional.mse_loss(model(X[pairs[:, 0]], X[pairs[:, 1]]), sims).item()
    assert after < before / 2

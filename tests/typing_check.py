"""Checked by mypy, never run by pytest: the real classes and the test fake satisfy altbench.api.

``make typecheck`` (part of ``make test``) type-checks this file and ``altbench/api.py``.  Each
assignment below fails the type check if a class drifts from its Protocol (a method renamed, a
parameter added, a return type changed).
"""

from __future__ import annotations

import numpy as np

from altbench.api import (Backbone, CommitteeModel, EmbeddingBlocks, FittedModel, ModelView, Strategy,
                          TransferMethod, register_strategy, top_k)
from altbench.backbones.text import Tfidf
from altbench.methods.mlp import Mlp
from altbench.methods.sklearn_models import LogReg, SklearnModel, SvmRbf
from altbench.strategies.alfamix import AlfaMix
from altbench.strategies.badge import badge
from altbench.strategies.batchbald import BatchBald
from altbench.strategies.cal import Cal
from altbench.strategies.cluster_margin import ClusterMargin
from altbench.strategies.coreset import Coreset
from altbench.strategies.dal import Dal
from altbench.strategies.density import DensityWeighted
from altbench.strategies.egl import egl
from altbench.strategies.mc_dropout import Bald, MaxEntropy, MeanStd, VariationRatios
from altbench.strategies.probcover import ProbCover
from altbench.strategies.qbc import Qbc
from altbench.strategies.stochastic import PowerBald, Stochastic
from altbench.strategies.typiclust import TypiClust
from altbench.strategies.uncertainty import entropy, least_confidence, margin, random
from altbench.strategies.us_c import UsC
from altbench.strategies.testing import FakeView
from altbench.view import Embeddings
from altbench.view import ModelView as HarnessView


def views(harness: HarnessView, fake: FakeView) -> list[ModelView]:
    """The harness's view and the test fake are both ModelViews."""
    return [harness, fake]


def blocks(e: Embeddings) -> EmbeddingBlocks:
    return e


def methods() -> list[TransferMethod]:
    return [LogReg(), SvmRbf(), Mlp()]


def models(m: SklearnModel) -> tuple[FittedModel, CommitteeModel]:
    return m, m


def backbone() -> Backbone:
    return Tfidf()


def strategies() -> list[Strategy]:
    """Every built-in strategy, and the README's example."""
    return [random, least_confidence, margin, entropy, Bald(), MaxEntropy(), VariationRatios(), MeanStd(),
            BatchBald(), Stochastic(), PowerBald(), Coreset(), UsC(), badge, ClusterMargin(), TypiClust(),
            ProbCover(), Cal(), Dal(), AlfaMix(), egl, DensityWeighted(), Qbc(),
            smallest_max_logit, register_strategy(smallest_max_logit)]


def smallest_max_logit(view: ModelView, pool: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """The README's example strategy, written against the public API only."""
    p = view.predict_proba(pool)  # (n_pool, C)
    return pool[top_k(-np.log(p.max(1) + 1e-12), budget, rng)]

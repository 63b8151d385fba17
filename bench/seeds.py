"""Named random streams derived from one ``SeedSequence`` per run.

``Streams(seed)`` spawns one child sequence per name, always in the order of
``STREAM_NAMES`` (appending new names never changes existing streams).  A
stream can be split further per AL round, so round 3's model init does not
depend on how many numbers round 2 drew.  Nothing here, or anywhere in
altbench, seeds a global generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only where a torch.Generator is made
    import torch

# Fixed order: changing it changes every result.  "split" serves per-seed
# train/test protocols (e.g. Zhan et al. 2021's random 60/40 split); "adapt"
# pool-adaptive pretraining (altbench.adapt: masks, dropout, text order);
# "stopset" the fixed stop set of the stopping signals (altbench.stop_signals);
# "validation" the labelled validation rows of budget.validation (altbench.validation).
STREAM_NAMES = ("initial", "model", "order", "query", "split", "adapt", "stopset", "validation")


class Streams:
    """Per-run random streams: ``streams.rng("query", round=3)``."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(STREAM_NAMES))
        self._seq = dict(zip(STREAM_NAMES, children))

    def seq(self, name: str, round: int | None = None) -> np.random.SeedSequence:
        if name not in self._seq:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAM_NAMES)}")
        s = self._seq[name]
        if round is None:
            return s
        return np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, int(round)))

    def rng(self, name: str, round: int | None = None) -> np.random.Generator:
        """A NumPy generator for stream ``name`` (optionally of one round)."""
        return np.random.default_rng(self.seq(name, round))


def torch_generator(rng: np.random.Generator, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded from (and advancing) a NumPy generator (imports torch on first use)."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return g


def int_seed(rng: np.random.Generator) -> int:
    """A 31-bit integer seed for libraries that take ``random_state=int``."""
    return int(rng.integers(0, 2**31 - 1))

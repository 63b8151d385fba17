"""Every registered strategy, now and later, obeys the query contract."""

from __future__ import annotations

import numpy as np
import pytest

from altbench.registry import STRATEGIES


@pytest.mark.parametrize("name", STRATEGIES.names())
@pytest.mark.parametrize("budget", [1, 7])
def test_strategy_contract(name, budget, pool_view):
    view, pool = pool_view
    strategy = STRATEGIES.get(name)
    if isinstance(strategy, type):  # a frozen-dataclass strategy with defaults
        strategy = strategy()
    picks = strategy(view, pool, budget, np.random.default_rng(123))
    picks = np.asarray(picks)
    assert picks.shape == (budget,)
    assert np.issubdtype(picks.dtype, np.integer)
    assert len(np.unique(picks)) == budget, "indices must be distinct"
    assert np.isin(picks, pool).all(), "indices must come from the pool"
    assert not np.isin(picks, view.labelled).any(), "never a labelled index"
    again = strategy(view, pool, budget, np.random.default_rng(123))
    np.testing.assert_array_equal(picks, np.asarray(again), err_msg="same rng must give the same picks")


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_takes_whole_pool(name, pool_view):
    view, pool = pool_view
    small = pool[:12]
    strategy = STRATEGIES.get(name)
    strategy = strategy() if isinstance(strategy, type) else strategy
    picks = np.asarray(strategy(view, small, len(small), np.random.default_rng(0)))
    assert sorted(picks.tolist()) == sorted(small.tolist())

"""altbench.strategies._select.top_k: O(n) selection, near-tie rule, seeded tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest

from altbench.strategies._select import KEEP_BITS, round_scores, top_k


def lexsort_top_k(scores, k, rng):
    """The rule before near-ties: full lexsort of (random tie-break, −score)."""
    tiebreak = rng.random(len(scores))
    return np.lexsort((tiebreak, -np.asarray(scores, dtype=np.float64)))[:k]


@pytest.mark.parametrize("seed", range(40))
def test_exact_ties_and_separated_scores_pick_as_the_full_sort_did(seed):
    g = np.random.default_rng(seed)
    n = int(g.integers(1, 400))
    k = int(g.integers(0, n + 1))
    scores = g.integers(0, 6, n).astype(float) if seed % 2 else g.random(n)  # exact ties / none
    if seed % 4 == 1:
        scores[g.random(n) < 0.2] = -np.inf
    got = top_k(scores, k, np.random.default_rng(seed))
    np.testing.assert_array_equal(got, lexsort_top_k(scores, k, np.random.default_rng(seed)))
    assert got.dtype == np.int64 and len(np.unique(got)) == k


def test_last_bit_noise_does_not_change_the_picks():
    g = np.random.default_rng(0)
    clean = g.integers(0, 50, 2000) / 64.0  # on the rounding grid: noise cannot cross a boundary
    noisy = clean * (1 + g.uniform(-1e-12, 1e-12, clean.shape))
    assert not np.array_equal(clean, noisy)
    for seed in range(5):
        np.testing.assert_array_equal(top_k(noisy, 100, np.random.default_rng(seed)),
                                      top_k(clean, 100, np.random.default_rng(seed)))


def test_near_ties_are_broken_by_the_stream_and_real_differences_by_value():
    near = np.array([1.0, 1.0 + 1e-12, 1.0 - 1e-12, 0.5])  # three near-tied at the top
    firsts = {int(top_k(near, 1, np.random.default_rng(s))[0]) for s in range(60)}
    assert firsts == {0, 1, 2}  # each of the near-tied can win, chosen by the seed
    apart = np.array([1.0, 1.0 + 1e-7, 1.0 - 1e-7, 0.5])  # far above the 2^-30 tolerance
    assert {int(top_k(apart, 1, np.random.default_rng(s))[0]) for s in range(20)} == {1}
    assert top_k(apart, 4, np.random.default_rng(0)).tolist() == [1, 0, 2, 3]


def test_order_is_highest_first_then_ties_in_seeded_order():
    scores = np.array([0.2, 0.9, 0.5, 0.5, 0.5, 0.1])
    rng = np.random.default_rng(3)
    tiebreak = np.random.default_rng(3).random(6)
    got = top_k(scores, 4, rng)
    assert got[0] == 1
    tied = [2, 3, 4]
    assert got[1:].tolist() == sorted(tied, key=lambda i: tiebreak[i])


def test_stream_use_is_n_draws_whatever_k():
    scores = np.random.default_rng(0).random(50)
    for k in (0, 1, 50):
        rng = np.random.default_rng(9)
        top_k(scores, k, rng)
        ref = np.random.default_rng(9)
        ref.random(50)
        assert rng.random() == ref.random()


def test_infinities_are_allowed_and_nan_raises():
    scores = np.array([-np.inf, 0.3, np.inf, -np.inf, np.inf, 0.7])
    got = top_k(scores, 6, np.random.default_rng(0))
    assert set(got[:2].tolist()) == {2, 4} and got[2:4].tolist() == [5, 1] and set(got[4:].tolist()) == {0, 3}
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.array([0.1, np.nan]), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot pick 3 of 2"):
        top_k(np.array([0.1, 0.2]), 3, np.random.default_rng(0))


def test_rounding_keeps_order_and_the_stated_precision():
    g = np.random.default_rng(1)
    x = np.sort(np.concatenate([g.normal(size=5000) * 10.0 ** g.integers(-300, 300, 5000),
                                [0.0, -0.0, np.inf, -np.inf, 5e-324]]))
    r = round_scores(x)
    assert np.all(np.diff(r) >= 0)  # monotone: merges neighbours, never swaps them
    finite = np.isfinite(x) & (np.abs(x) >= np.finfo(np.float64).tiny)  # normal numbers
    rel = np.abs(r[finite] - x[finite]) / np.abs(x[finite])
    assert rel.max() <= 2.0 ** -KEEP_BITS
    assert np.array_equal(r[np.isinf(x)], x[np.isinf(x)])
    y = x.copy()
    round_scores(y)
    np.testing.assert_array_equal(x, y)  # input untouched

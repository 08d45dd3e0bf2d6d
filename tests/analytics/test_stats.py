"""The statistics of findings on fixtures with known answers."""

from __future__ import annotations

import math
from math import comb

import pytest

from probity.analytics import stats


def test_binomial_tail_matches_exact_sums() -> None:
    assert stats.binom_sf(8, 10, 0.5) == pytest.approx(56 / 1024, rel=1e-12)
    exact = sum(comb(30, k) for k in range(20, 31)) / 2**30
    assert stats.binom_sf(20, 30, 0.5) == pytest.approx(exact, rel=1e-12)
    assert stats.binom_sf(0, 5, 0.3) == 1.0 and stats.binom_sf(6, 5, 0.3) == 0.0
    exact = sum(comb(50, k) * 0.1**k * 0.9**(50 - k) for k in range(12, 51))
    assert stats.binom_sf(12, 50, 0.1) == pytest.approx(exact, rel=1e-10)


def test_rate_ratio_test_matches_r_poisson_test() -> None:
    # R: poisson.test(c(20, 10), c(1000, 1000), alternative = "greater") → p = 0.04937;
    # two-sided 95% CI of the rate ratio 0.8935 – 4.7846 (exact conditional).
    rr = stats.rate_ratio_test(20, 1000, 10, 1000)
    assert rr.ratio == pytest.approx(2.0)
    assert rr.p_value == pytest.approx(0.0493686, abs=1e-6)
    assert rr.low == pytest.approx(0.8935, abs=1e-4)
    assert rr.high == pytest.approx(4.7846, abs=1e-4)


def test_clopper_pearson_and_wilson_known_values() -> None:
    lo, hi = stats.clopper_pearson(5, 10)
    assert (lo, hi) == (pytest.approx(0.187086, abs=1e-6), pytest.approx(0.812914, abs=1e-6))
    lo, hi = stats.wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.236593, abs=1e-6), pytest.approx(0.763407, abs=1e-6))
    assert stats.wilson(0, 0) == (0.0, 0.0)


def test_multiple_comparison_adjustments() -> None:
    ps = [0.01, 0.04, 0.03, 0.005]
    assert stats.benjamini_hochberg(ps) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert stats.holm(ps) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.benjamini_hochberg([]) == [] and stats.holm([]) == []


def test_a_busy_window_is_not_significant_for_being_busy() -> None:
    # Ten times the messages and ten times the attempts: the same rate, nothing to find.
    rr = stats.rate_ratio_test(100, 10_000, 10, 1_000)
    assert rr.ratio == pytest.approx(1.0) and rr.p_value > 0.4
    # 2.7 times the rate on a large sample: significant with a tight interval.
    rr = stats.rate_ratio_test(300, 10_000, 1_100, 100_000)
    assert rr.ratio == pytest.approx(2.727, abs=1e-3) and rr.p_value < 1e-30
    assert 2.3 < rr.low < rr.ratio < rr.high < 3.2
    assert math.isinf(stats.rate_ratio_test(5, 10, 0, 10).ratio)


def test_the_large_sample_interval_agrees_with_the_exact_one() -> None:
    # Both counts ≥ 100: the log-scale normal interval; compare with the exact one computed
    # from the Clopper–Pearson interval directly.
    x1, n1, x2, n2 = 300, 10_000, 1_100, 100_000
    lo_pi, hi_pi = stats.clopper_pearson(x1, x1 + x2)
    exact = (lo_pi / (1 - lo_pi) * n2 / n1, hi_pi / (1 - hi_pi) * n2 / n1)
    rr = stats.rate_ratio_test(x1, n1, x2, n2)
    assert rr.low == pytest.approx(exact[0], abs=0.02)
    assert rr.high == pytest.approx(exact[1], abs=0.02)

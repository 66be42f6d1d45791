"""rl/stats.py: IQM and stratified bootstrap CIs as rliable defines them, against references."""

import math

import numpy as np
import pytest

from rl.stats import bootstrap_ci, format_population, iqm, summary


def trim_mean_reference(values):
    """scipy.stats.trim_mean(values, 0.25, axis=None) written out: sort, cut floor(n/4) from
    each end, average the rest."""
    xs = sorted(float(v) for v in np.ravel(values))
    cut = math.floor(0.25 * len(xs))
    kept = xs[cut:len(xs) - cut]
    return sum(kept) / len(kept)


def random_inputs():
    rng = np.random.default_rng(0)
    for n in range(1, 41):
        for _ in range(5):
            yield rng.normal(size=n) * 100
            yield rng.integers(0, 4, size=n).astype(float)  # many ties around the cut points


def test_iqm_matches_the_plain_reference_including_ties_and_small_n():
    for x in random_inputs():
        assert iqm(x) == pytest.approx(trim_mean_reference(x), rel=1e-12, abs=1e-12), x


def test_iqm_known_values():
    assert iqm(np.arange(100)) == 49.5  # drops 0..24 and 75..99
    assert iqm([7.0]) == 7.0
    assert iqm([1.0, 2.0, 3.0]) == 2.0  # n < 4 cuts nothing: plain mean
    assert iqm([1.0, 2.0, 3.0, 100.0]) == 2.5  # n = 4 cuts one from each end
    assert iqm([0.0, 0.0, 0.0, 0.0, 0.0, 1e9]) == 0.0


def test_iqm_flattens_runs_by_tasks():
    x = np.random.default_rng(1).normal(size=(10, 3))
    assert iqm(x) == pytest.approx(trim_mean_reference(x.ravel()), rel=1e-12)


def test_iqm_propagates_nan_and_empty_is_nan():
    assert math.isnan(iqm([1.0, np.nan, 2.0, 3.0, 4.0]))
    assert math.isnan(iqm([]))


def test_iqm_matches_scipy_trim_mean():
    stats = pytest.importorskip("scipy.stats")
    for x in random_inputs():
        assert iqm(x) == pytest.approx(stats.trim_mean(x, proportiontocut=0.25, axis=None),
                                       rel=1e-12, abs=1e-12)


def test_ci_contains_the_point_estimate_for_typical_data():
    rng = np.random.default_rng(2)
    for shape in [(16,), (10, 4)]:
        x = rng.normal(100, 20, size=shape)
        for statistic in (iqm, np.mean):
            low, high = bootstrap_ci(x, statistic)
            assert low < statistic(x) < high


def test_ci_of_constant_data_is_a_point():
    assert bootstrap_ci(np.full(16, 500.0)) == (500.0, 500.0)
    assert bootstrap_ci(np.full((5, 3), 2.0), np.mean) == (2.0, 2.0)


def test_ci_narrows_as_runs_increase():
    rng = np.random.default_rng(3)
    widths = []
    for runs in (5, 20, 80, 320):
        low, high = bootstrap_ci(rng.normal(0, 1, size=runs))
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 3


def test_bootstrap_is_stratified_by_task():
    """Task 0 scores lie in [0, 1), task 1 in [1000, 1001): a resample that mixed runs across
    tasks would change how many of each it holds."""
    rng = np.random.default_rng(4)
    runs = 7
    x = np.stack([rng.random(runs), 1000 + rng.random(runs)], axis=1)
    seen = []

    def record(sample):
        small, large = int((sample[:, 0] < 1).sum()), int((sample[:, 1] >= 1000).sum())
        seen.append((sample.shape, small, large))
        assert set(sample[:, 0]) <= set(x[:, 0]) and set(sample[:, 1]) <= set(x[:, 1])
        return float(sample.mean())

    bootstrap_ci(x, record, reps=200)
    assert len(seen) == 200
    assert set(seen) == {((runs, 2), runs, runs)}


def test_custom_statistic_on_one_task_gets_a_1d_sample_and_agrees_with_the_fast_path():
    x = np.random.default_rng(5).normal(size=12)
    shapes = set()

    def slow_iqm(sample):
        shapes.add(sample.shape)
        return trim_mean_reference(sample)

    assert bootstrap_ci(x, slow_iqm) == pytest.approx(bootstrap_ci(x, iqm), rel=1e-12)
    assert shapes == {(12,)}


def test_ci_is_deterministic_for_a_seed():
    x = np.random.default_rng(6).normal(size=(8, 2))
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)


def test_ci_confidence_level_widens_the_interval():
    x = np.random.default_rng(7).normal(size=30)
    low90, high90 = bootstrap_ci(x, confidence=0.90)
    low99, high99 = bootstrap_ci(x, confidence=0.99)
    assert low99 < low90 < high90 < high99


def test_ci_rejects_nan_and_bad_shapes():
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="shaped"):
        bootstrap_ci(np.zeros((2, 2, 2)))


def test_summary_values():
    x = np.array([500.0] * 15 + [470.0])
    s = summary(x, threshold=475)
    assert s["iqm"] == 500.0 and (s["ci_low"], s["ci_high"]) == (500.0, 500.0)
    assert s["mean"] == pytest.approx(x.mean()) and s["std"] == pytest.approx(x.std(ddof=0))
    assert s["n"] == 16 and s["solved"] == 15
    assert summary(x)["solved"] is None


def test_summary_drops_nan_but_counts_it_in_n_and_never_as_solved():
    finite = np.random.default_rng(8).normal(200, 30, size=15)
    x = np.append(finite, np.nan)
    s = summary(x, threshold=-np.inf)
    assert s["n"] == 16 and s["solved"] == 15
    assert s["iqm"] == iqm(finite)
    assert (s["ci_low"], s["ci_high"]) == bootstrap_ci(finite)
    assert s["mean"] == pytest.approx(finite.mean()) and s["std"] == pytest.approx(finite.std())


def test_summary_drops_nan_within_its_task():
    x = np.array([[1.0, 100.0], [2.0, np.nan], [3.0, 102.0], [4.0, 103.0]])
    s = summary(x, threshold=3)
    finite = x[~np.isnan(x)]
    assert s["n"] == 8 and s["solved"] == 5
    assert s["iqm"] == iqm(finite) and s["mean"] == pytest.approx(finite.mean())
    assert s["ci_low"] <= s["iqm"] <= s["ci_high"]


def test_summary_of_only_diverged_seeds_is_nan():
    s = summary([np.nan, np.nan], threshold=1)
    assert all(math.isnan(s[k]) for k in ("iqm", "ci_low", "ci_high", "mean", "std"))
    assert s["n"] == 2 and s["solved"] == 0


def test_format_population_exactly():
    s = {"iqm": 500.0, "ci_low": 500.0, "ci_high": 500.0, "mean": 498.12, "std": 7.24, "n": 16,
         "solved": 15}
    assert format_population(s, 475) == (
        "eval: IQM 500.00 [95% CI 500.00, 500.00] · mean 498.1 ± 7.2 over 16 seeds"
        " · solved by 15/16")
    assert format_population(dict(s, solved=None), None) == (
        "eval: IQM 500.00 [95% CI 500.00, 500.00] · mean 498.1 ± 7.2 over 16 seeds")
    with pytest.raises(ValueError):
        format_population(dict(s, solved=None), 475)


def test_format_population_of_a_summary():
    line = format_population(summary([10.0, 20.0, 30.0, 40.0], threshold=25), 25)
    assert line.startswith("eval: IQM 25.00 [95% CI ")
    assert line.endswith(" · mean 25.0 ± 11.2 over 4 seeds · solved by 2/4")

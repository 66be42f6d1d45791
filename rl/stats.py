"""Aggregate statistics of RL results over seeds, as rliable computes them.

Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice": report the
interquartile mean (IQM) with a stratified-bootstrap percentile confidence interval rather than
a mean ± std over a handful of seeds. The definitions follow rliable (`metrics.aggregate_iqm`,
`library.get_interval_estimates`, which uses arch's percentile interval); the code is our own,
numpy only.

Scores are shaped (runs,) for one task or (runs, tasks), as in rliable: scores[n, m] is run n on
task m.
"""

from __future__ import annotations

import numpy as np


def _trimmed_mean(sorted_rows):
    """IQM of each row of an already sorted (reps, n) array.

    scipy.stats.trim_mean (which rliable calls with proportiontocut=0.25) cuts
    int(0.25 * n) values from each end, i.e. floor(n / 4), so nothing is cut for n < 4 and the
    IQM is then the plain mean. 0.25 is exact in binary, so n // 4 is that same count."""
    n = sorted_rows.shape[-1]
    k = n // 4
    return sorted_rows[..., k:n - k].mean(axis=-1)


def iqm(scores) -> float:
    """Interquartile mean over all runs and tasks (flattened), like rliable's aggregate_iqm.

    NaN propagates (the result is NaN), as with np.mean: sorting would otherwise push NaNs to
    one end where they could be trimmed away silently. `summary` drops diverged seeds first.
    An empty input gives NaN, like scipy."""
    flat = np.asarray(scores, dtype=np.float64).ravel()
    if flat.size == 0 or np.isnan(flat).any():
        return float("nan")
    return float(_trimmed_mean(np.sort(flat)))


def _mean(sample):
    return sample.mean(axis=-1)


def _iqm(sample):
    return _trimmed_mean(np.sort(sample, axis=-1))


# Batched forms of the built-in statistics: each maps a (reps, n) array of pooled resampled
# scores to (reps,) in one numpy call, instead of a Python loop of `reps` calls. Matched by
# identity, so any callable works as a statistic, hashable or not. Pooled np.mean equals
# rliable's aggregate_mean (mean of per-task means) since bootstrap_ci's tasks all have as
# many runs.
_BATCHED = ((iqm, _iqm), (np.mean, _mean))


def _columns(scores):
    """The scores as a list of per-task 1-D float arrays (the strata), and the input's ndim."""
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"scores must be shaped (runs,) or (runs, tasks), got {a.shape}")
    cols = [a] if a.ndim == 1 else [a[:, j] for j in range(a.shape[1])]
    return cols, a.ndim


def _stratified_ci(cols, ndim, statistic, reps, confidence, seed):
    """Percentile CI of `statistic` under resampling of runs within each task column.

    Columns may have different lengths (summary drops NaNs per task); every bootstrap sample
    keeps each task's own run count, which is what makes the bootstrap stratified: a task with
    few runs, or a different score scale, is never over- or under-represented."""
    cols = [c for c in cols if c.size]
    if not cols:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    # All reps' indices for a task in one draw; the sample is the tasks' blocks side by side,
    # (reps, total runs), which is exactly the flattening rliable's IQM and mean pool over.
    # Memory is about 3 * reps * total runs * 8 bytes.
    sample = np.concatenate([c[rng.integers(0, c.size, size=(reps, c.size))] for c in cols],
                            axis=1)
    batched = next((b for f, b in _BATCHED if f is statistic), None)
    if batched is not None:
        values = batched(sample)
    else:
        sizes = {c.size for c in cols}
        if len(sizes) != 1:
            raise ValueError("a custom statistic needs the same number of runs in every task")
        # Back to rliable's layout: block j of the pooled sample is task j's runs.
        runs = sizes.pop()
        shaped = sample.reshape(reps, len(cols), runs).transpose(0, 2, 1)
        if ndim == 1:
            shaped = shaped[:, :, 0]
        values = np.array([statistic(s) for s in shaped], dtype=np.float64)
    # arch's "percentile" method: np.percentile (linear interpolation) at 100 * alpha and
    # 100 * (1 - alpha), alpha computed the same way so the quantiles match bit for bit.
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1.0 - alpha)])
    return float(low), float(high)


def bootstrap_ci(scores, statistic=iqm, reps=2000, confidence=0.95, seed=0):
    """(low, high) stratified-bootstrap percentile CI of `statistic`, as rliable computes it.

    Runs are resampled with replacement independently within each task column (rliable's
    StratifiedBootstrap without task_bootstrap). `iqm` and `np.mean` take a vectorised path over
    all reps at once; any other callable is called once per rep with a sample shaped like
    `scores`. rliable's get_interval_estimates defaults to 50000 reps; 2000 keeps this cheap
    enough to run after every evaluation, at the cost of a little Monte-Carlo noise in the
    bounds. Deterministic for a given seed (numpy's default_rng, so the draws differ from
    rliable's np.random.choice and the bounds agree only up to that noise).

    NaN raises ValueError: a NaN would make the percentiles meaningless; drop diverged runs
    first, as `summary` does."""
    cols, ndim = _columns(scores)
    if any(np.isnan(c).any() for c in cols):
        raise ValueError("scores contain NaN; drop diverged runs first (summary does)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return _stratified_ci(cols, ndim, statistic, int(reps), confidence, seed)


def summary(scores, threshold=None) -> dict:
    """IQM with its 95% CI (2000 reps, seed 0), mean, std and solved count of `scores`.

    Keys: iqm, ci_low, ci_high, mean, std (population std, ddof=0), n, solved.
    NaN scores (diverged seeds) are dropped within their task before iqm, mean, std and the CI,
    but still counted in n, and never count as solved, so a diverged seed shows as "solved by
    15/16" rather than vanishing. solved is the count of scores >= threshold, or None when
    threshold is None. With no finite score, the statistics are NaN."""
    cols, ndim = _columns(scores)
    n = sum(c.size for c in cols)
    finite = [c[~np.isnan(c)] for c in cols]
    pooled = np.concatenate(finite)
    low, high = _stratified_ci(finite, ndim, iqm, 2000, 0.95, 0)
    empty = pooled.size == 0
    return {
        "iqm": iqm(pooled),
        "ci_low": low,
        "ci_high": high,
        "mean": float("nan") if empty else float(pooled.mean()),
        "std": float("nan") if empty else float(pooled.std()),
        "n": n,
        "solved": None if threshold is None else int((pooled >= threshold).sum()),
    }


def format_population(summary_dict, threshold) -> str:
    """One line, e.g. `eval: IQM 500.00 [95% CI 500.00, 500.00] · mean 498.1 ± 7.2 over 16
    seeds · solved by 15/16`; the solved part only when threshold is not None."""
    s = summary_dict
    line = (f"eval: IQM {s['iqm']:.2f} [95% CI {s['ci_low']:.2f}, {s['ci_high']:.2f}]"
            f" · mean {s['mean']:.1f} ± {s['std']:.1f} over {s['n']} seeds")
    if threshold is not None:
        if s["solved"] is None:
            raise ValueError("summary was computed without a threshold; pass it to summary()")
        line += f" · solved by {s['solved']}/{s['n']}"
    return line

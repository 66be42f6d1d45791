"""The per-episode logging algos/common.py's EpisodeLog replaced, written out as a plain loop (one
return and one length per finished episode, under its agent), synthetic env infos to feed both,
and the check that what EpisodeLog logged is, per step and agent, the mean of those episodes.
Shared by the CPU tests (tests/algos/test_episode_log.py) and the simulator's (tests/cuda/algos)."""

import collections

import numpy as np
import pytest


def infos(rng, steps, n, ended=0.3):
    """Synthetic env infos: every sub-env's episode totals (zero where none ended, as the envs
    write them) and the mask of those that ended; CartPole-like integer returns and fractional
    ones (Pendulum) alike."""
    out = []
    for _ in range(steps):
        mask = rng.random(n) < ended
        returns = np.where(mask, rng.integers(1, 501, n) + rng.choice([0.0, 0.37], n), 0.0)
        out.append({"episode": {"r": returns, "l": np.where(mask, rng.integers(1, 501, n), 0)},
                    "_episode": mask})
    return out


def per_episode(infos_at, per_agent):
    """The old behaviour: (step, agent) -> the [(return, length)] of its episodes, in sub-env order."""
    episodes = collections.defaultdict(list)
    for step, info in infos_at:
        for i in range(len(info["episode"]["r"])):
            if info["_episode"][i]:
                episodes[step, i // per_agent].append((float(info["episode"]["r"][i]), int(info["episode"]["l"][i])))
    return episodes


class Recorder:
    """A log that records every scalar and, like rl.monitor, takes each step's returns."""

    def __init__(self, window=True):
        self.scalars, self.windows = [], []
        if not window:
            self.episodes = None

    def __call__(self, tag, value, step, agent=0):
        self.scalars.append((tag, step, agent, value))

    def episodes(self, returns, step, agent=0):
        self.windows.append((step, agent, returns.tolist()))


def check(recorder, expected, window=True):
    """What `recorder` got is `expected` (per_episode's) as EpisodeLog logs it: for each (step,
    agent) with episodes, in that order, the mean return then the mean length, and (with a window)
    every return, in sub-env order."""
    keys = sorted(expected)  # by step, then agent: the order of the calls
    assert [(tag, s, a) for tag, s, a, _ in recorder.scalars] == \
        [(tag, s, a) for s, a in keys for tag in ("charts/episodic_return", "charts/episodic_length")]
    got = {(s, a, tag): v for tag, s, a, v in recorder.scalars}
    for s, a in keys:
        returns, lengths = zip(*expected[s, a])
        assert got[s, a, "charts/episodic_return"] == pytest.approx(np.mean(returns), rel=1e-12)
        assert got[s, a, "charts/episodic_length"] == pytest.approx(np.mean(lengths), rel=1e-12)
    if window:
        assert recorder.windows == [(s, a, [r for r, _ in expected[s, a]]) for s, a in keys]

"""algos/common.py's EpisodeLog with a GPU env, under the simulator: each step's episode totals and
mask, device arrays as the CUDA envs hand them out, are written into rows on the device and
logged at flush() (or from rows already fetched with the iteration's figures), against the
per-episode reference of tests/algos/episode_reference.py."""

import numpy as np
import pytest
from numba import cuda

from algos.common import EpisodeLog, fetch
from tests.algos.episode_reference import Recorder, check, infos, per_episode


class GpuEnv:
    device = "cuda"


def as_env_gives(info, return_dtype, length_dtype):
    """The info with the env's dtypes, on the host (for the reference) and on the device."""
    host = {"episode": {"r": info["episode"]["r"].astype(return_dtype), "l": info["episode"]["l"].astype(length_dtype)},
            "_episode": info["_episode"]}
    return host, {"episode": {k: cuda.to_device(v) for k, v in host["episode"].items()},
                  "_episode": cuda.to_device(host["_episode"])}


@pytest.mark.parametrize("return_dtype, length_dtype, per_agent", [
    (np.float64, np.int64, None), (np.float32, np.int32, 3), (np.float32, np.int64, 1)])
def test_a_gpu_env_s_episodes_are_logged_at_flush_as_on_the_cpu(return_dtype, length_dtype, per_agent, rng):
    n = 6
    recorder = Recorder()
    episodes = EpisodeLog(GpuEnv(), recorder, per_agent)
    at, on_device = [], []
    for step, info in zip(range(n, 15 * n, n), infos(rng, 14, n, ended=0.4)):
        host, device = as_env_gives(info, return_dtype, length_dtype)
        at.append((step, host))
        on_device.append(device)
    # 11 steps before the first flush: the rows grow past their first 8
    for (step, _), info in zip(at[:11], on_device):
        episodes.add(info, step)
    assert recorder.scalars == []  # nothing crosses before the flush
    episodes.flush()
    check(recorder, per_episode(at[:11], per_agent or n))
    recorder.scalars.clear(), recorder.windows.clear()
    for (step, _), info in zip(at[11:], on_device[11:]):
        episodes.add(info, step)
    rows, = fetch(episodes.pending())  # as the algorithms fetch them with the iteration's figures
    episodes.flush(rows)
    expected = per_episode(at[11:], per_agent or n)
    assert expected and episodes.pending() is None
    check(recorder, expected)
    episodes.flush()  # nothing pending: nothing logged, nothing copied
    assert len(recorder.scalars) == 2 * len(expected)

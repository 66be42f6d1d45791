"""algos/common.py's episode logging (EpisodeLog, log_episodes, log_ended) on the CPU, against the
per-episode logging it replaced (tests/algos/episode_reference.py): per step and agent, the mean
of its episodes; a log with a window of recent episodes (rl.monitor) also gets every return, in
order. Sub-env i of a population is agent i // per_agent."""

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from algos.common import EpisodeLog
from rl.monitor import Monitor
from tests.algos.episode_reference import Recorder, check, infos, per_episode


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


class CpuEnv:
    device = "cpu"


@pytest.mark.parametrize("n, per_agent", [(1, None), (13, None), (12, 12), (12, 3), (40, 1)])
def test_each_agent_logs_the_mean_of_its_episodes_at_each_step(n, per_agent, rng):
    recorder = Recorder()
    episodes = EpisodeLog(CpuEnv(), recorder, per_agent)
    at = [(step, info) for step, info in zip(range(n, 31 * n, n), infos(rng, 30, n))]
    for step, info in at:
        episodes.add(info, step)
    expected = per_episode(at, per_agent or n)
    assert expected, "no episode ended: the test checks nothing"
    check(recorder, expected)


def test_a_log_without_a_window_gets_the_scalars(rng):
    recorder = Recorder(window=False)
    episodes = EpisodeLog(CpuEnv(), recorder, 4)
    at = [(step, info) for step, info in zip(range(8, 80, 8), infos(rng, 9, 8))]
    for step, info in at:
        episodes.add(info, step)
    check(recorder, per_episode(at, 4), window=False)


def test_steps_without_episodes_log_nothing(rng):
    recorder = Recorder()
    episodes = EpisodeLog(CpuEnv(), recorder, 2)
    episodes.add({}, 4)  # an env without episode statistics
    episodes.add(infos(rng, 1, 4, ended=0.0)[0], 8)
    assert recorder.scalars == [] and recorder.windows == []


def test_without_a_mask_every_sub_env_ended(rng):
    """Gymnasium-style infos that carry only the totals: each is an episode."""
    info = infos(rng, 1, 6, ended=1.0)[0]
    recorder = Recorder()
    EpisodeLog(CpuEnv(), recorder, 3).add({"episode": info["episode"]}, 6)
    check(recorder, per_episode([(6, info)], 3))


def test_the_console_and_tensorboard_see_the_episodes(rng, tmp_path):
    """Through rl.monitor: each agent's console window holds its last 100 episodes' returns, and
    its TensorBoard run one point per step, the mean of that step's episodes."""
    n, per_agent = 64, 16  # 4 agents, each ending ~8 episodes a step: the window overflows
    monitor = Monitor(str(tmp_path), 10**9, stream=open("/dev/null", "w"), seeds=[1, 2, 3, 4])
    episodes = EpisodeLog(CpuEnv(), monitor, per_agent)
    at = [(step, info) for step, info in zip(range(n, 41 * n, n), infos(rng, 40, n, ended=0.5))]
    for step, info in at:
        episodes.add(info, step)
    monitor.close()
    expected = per_episode(at, per_agent)
    for agent, seed in enumerate([1, 2, 3, 4]):
        mine = [r for step, _ in at for r, _ in expected.get((step, agent), [])]
        assert len(mine) > 100 and list(monitor.returns[agent]) == mine[-100:]
        acc = EventAccumulator(str(tmp_path / f"seed_{seed}"), size_guidance={"scalars": 0})
        acc.Reload()
        points = acc.Scalars("charts/episodic_return")
        steps = [step for step, _ in at if (step, agent) in expected]
        assert [p.step for p in points] == steps
        np.testing.assert_allclose([p.value for p in points],
                                   [np.mean([r for r, _ in expected[s, agent]]) for s in steps], rtol=1e-6)

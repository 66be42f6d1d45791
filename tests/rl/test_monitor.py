"""rl/monitor.py: the console progress a user reads, on a captured stream with a controlled clock."""

import io

import numpy as np
import pytest

from rl import monitor as monitor_module
from rl.monitor import EpisodeProgress, Monitor


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(monitor_module.time, "perf_counter", clock)
    return clock


def test_before_any_episode_and_during_warm_up_nothing_is_made_up(clock, tmp_path):
    out = io.StringIO()
    monitor = Monitor(str(tmp_path), 10_000, stream=out)
    clock.now = 10.0  # numba compiled for 10 s before the first iteration reported
    monitor("charts/SPS", 100.0, 1_000)
    assert out.getvalue() == " 1,000/10,000 steps | 100 SPS | return – | 0:10 < –\n"


def test_the_time_left_is_estimated_from_the_steps_after_warm_up(clock, tmp_path):
    out = io.StringIO()
    monitor = Monitor(str(tmp_path), 10_000, stream=out)
    clock.now = 10.0
    monitor.episodes(np.array([20.0]), 1_000)
    monitor("charts/episodic_return", 20.0, 1_000)
    clock.now = 16.0
    monitor.episodes(np.array([40.0]), 2_000)
    monitor("charts/episodic_return", 40.0, 2_000)
    # 1,000 steps in the 6 s after warm-up: 8,000 steps left take 48 s (not 64 s, as the 16 s
    # including compilation would say); the return is the mean of the episodes so far.
    assert out.getvalue().splitlines()[-1] == " 2,000/10,000 steps | 125 SPS | return 30.0 | 0:16 < 0:48"


# The last step comes 6 s after the line before it (printed then: 5 s or more) or 1 s after it
# (not printed yet): either way the final line shows it, once.
@pytest.mark.parametrize("last", [12.0, 7.0])
def test_the_final_line_shows_the_last_step_once(last, clock, tmp_path):
    out = io.StringIO()
    monitor = Monitor(str(tmp_path), 2_000, stream=out)
    clock.now = 6.0
    monitor("charts/SPS", 1.0, 1_000)
    clock.now = last
    monitor("charts/SPS", 1.0, 2_000)
    monitor.show(final=True)
    monitor.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("2,000/2,000 steps")


def test_a_population_shows_the_median_and_range_of_its_agents(clock, tmp_path):
    out = io.StringIO()
    monitor = Monitor(str(tmp_path), 10_000, stream=out, seeds=[1, 2, 3])
    clock.now = 6.0
    monitor.episodes(np.array([10.0]), 100, agent=0)
    monitor.episodes(np.array([30.0]), 100, agent=2)
    monitor("charts/episodic_return", 10.0, 100, agent=0)
    monitor.show(final=True)
    assert "return median 30.0 [10.0, 30.0]" in out.getvalue().splitlines()[-1]
    assert " SPS " in out.getvalue()


def test_evaluation_shows_signs_of_life(clock):
    out = io.StringIO()
    progress = EpisodeProgress(out, every_secs=5.0, agents=4)
    progress(0, 100)
    clock.now = 1.0
    progress(10, 100)  # too soon for another line
    clock.now = 6.0
    progress(37, 100)
    clock.now = 7.0
    progress(100, 100)  # the result line that follows says the rest
    assert out.getvalue().splitlines() == ["evaluating the deterministic policy over 100 episodes per agent",
                                           "  37/100 episodes"]


def test_on_a_terminal_evaluation_counts_in_place(clock):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    progress = EpisodeProgress(out)
    progress(0, 50)
    clock.now = 1.0
    progress(20, 50)
    clock.now = 1.05
    progress(30, 50)  # within 0.1 s: skipped
    progress(50, 50)
    progress(50, 50)  # ended: nothing more
    assert out.getvalue() == "evaluating the deterministic policy over 50 episodes\n\r  20/50 episodes\r  50/50 episodes\n"


def test_the_console_return_is_the_mean_of_the_last_100_episodes(clock, tmp_path):
    """However many episodes a step brings: here 3, then 150 (a big batch of sub-envs)."""
    out = io.StringIO()
    monitor = Monitor(str(tmp_path), 10_000, stream=out)
    returns = np.random.default_rng(5).integers(1, 501, 153).astype(np.float64)
    monitor.episodes(returns[:3], 100)
    monitor.episodes(returns[3:], 200)
    monitor.show(final=True)
    assert list(monitor.returns[0]) == returns[-100:].tolist()
    assert f"return {returns[-100:].mean():.1f}" in out.getvalue().splitlines()[-1]

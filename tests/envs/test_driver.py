"""envs/driver.py: the generated per-env driver module and where it is cached."""

import os
import subprocess
import sys

import numpy as np
import pytest

import envs
from envs import driver


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBARL_CACHE_DIR", str(tmp_path / "mine"))
    assert driver.cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("NUMBARL_CACHE_DIR")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert driver.cache_dir() == str(tmp_path / "numba" / "numbarl")


def test_generated_module_imports_the_env_functions_and_is_written_once(tmp_path):
    env = {**os.environ, "NUMBARL_CACHE_DIR": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    code = "import envs, numpy as np; e = envs.make('MountainCar', num_envs=2, seed=0); e.reset(); e.step(np.ones(2, int))"
    for _ in range(2):  # the second process finds the file and numba's cache for it
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    generated = [f for f in os.listdir(tmp_path) if f.startswith("numbarl_driver_envs_mountain_car")]
    assert len(generated) == 1
    text = (tmp_path / generated[0]).read_text()
    assert "from envs.mountain_car import observe as _observe, reset as _reset, step as _step" in text
    assert "def step_serial" in text and "def step_parallel" in text
    assert os.listdir(tmp_path / "numba")  # numba cached the compiled driver


def test_load_driver_is_memoised():
    a, b = envs.make("CartPole", num_envs=2), envs.make("CartPole", num_envs=3)
    assert driver.load_driver(a) is driver.load_driver(b) is a._driver


PLUGIN = '''
from typing import NamedTuple
import numpy as np
from gymnasium import spaces
from envs import BatchedEnv, dynamics
from {helpers} import payout


class P(NamedTuple):
    scale: float = 1.0


@dynamics
def reset(state, i, rng, p):
    state[0, i] = 0.0


@dynamics
def step(state, i, action, rng, p):
    state[0, i] += 1.0
    return payout(p.scale), False


@dynamics
def observe(state, i, obs, p):
    obs[i, 0] = state[0, i]


class Counter(BatchedEnv):
    Params = P
    state_size = 1

    @staticmethod
    def spaces(p):
        return spaces.Box(-np.inf, np.inf, (1,), np.float32), spaces.Discrete(2)
'''


def test_a_changed_dynamics_function_is_compiled_afresh(tmp_path):
    """numba's cache does not see changes to functions a cached function calls; the driver's
    fingerprint does, here two imports away (the env module, then a helper module it uses)."""
    (tmp_path / "plugin_counter.py").write_text(PLUGIN.format(helpers="plugin_helpers"))
    helpers = tmp_path / "plugin_helpers.py"
    env = {**os.environ, "NUMBARL_CACHE_DIR": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    code = ("import numpy as np, plugin_counter as m; e = m.Counter(num_envs=2); e.reset(); "
            "print(e.step(np.zeros(2, np.int64))[1][0])")
    rewards = []
    for factor in (2.0, 3.0, 3.0):
        helpers.write_text(f"from envs import dynamics\n\n\n@dynamics\ndef payout(scale):\n    return {factor} * scale\n")
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        rewards.append(float(run.stdout.split()[-1]))
    assert rewards == [2.0, 3.0, 3.0]
    # One generated driver per version of the dynamics; the unchanged third run reused the second's.
    assert len([f for f in os.listdir(tmp_path / "cache") if f.startswith("numbarl_driver_plugin_counter")]) == 2


def test_parameters_that_are_not_numbers_are_refused_with_the_field_named():
    from typing import NamedTuple

    class Bad(NamedTuple):
        gravity: float = 9.8
        goals: tuple = (1, 2)

    with pytest.raises(TypeError, match=r"Bad.goals: parameters must default to a bool, int or float .* got \(1, 2\)"):
        driver.param_kinds(Bad)
    np.testing.assert_array_equal(driver.pack_params(envs.cartpole.CartPoleParams(gravity=3), "CartPole")[:2], [3.0, 1.0])

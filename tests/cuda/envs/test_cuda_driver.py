"""envs/cuda_driver.py under the CUDA simulator (or a GPU): each built-in env's CUDA kernels
against its CPU driver for the same seeds and actions, auto-reset, final_obs, truncation and
episode statistics included."""

import numpy as np
import pytest
from numba import cuda

import envs

N, STEPS = 24, 24
NAMES = ["CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot", "CartPoleNoVel",
         "PendulumNoVel", "MemoryCue"]


def random_actions(env, rng):
    space = env.single_action_space
    if hasattr(space, "n"):
        return rng.integers(0, space.n, env.num_envs)
    return rng.uniform(space.low, space.high, (env.num_envs, *space.shape)).astype(np.float32)


def step_both(gpu, cpu, actions):
    """One step of both envs, its flags, rewards and observations checked equal; both results."""
    on_gpu, on_cpu = gpu.step(actions), cpu.step(actions)
    (obs_g, rew_g, term_g, trunc_g, _), (obs_c, rew_c, term_c, trunc_c, _) = on_gpu, on_cpu
    np.testing.assert_array_equal(term_g.copy_to_host(), term_c)
    np.testing.assert_array_equal(trunc_g.copy_to_host(), trunc_c)
    np.testing.assert_allclose(rew_g.copy_to_host(), rew_c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(obs_g.copy_to_host(), obs_c, rtol=1e-4, atol=1e-5)
    return on_gpu, on_cpu


@pytest.mark.parametrize("name", NAMES)
def test_kernels_match_the_cpu_driver(name, rng):
    # A short time limit makes truncations; CartPole-like envs also terminate within it.
    extra = {"min_length": 2, "max_length": 6} if name == "MemoryCue" else {"max_episode_steps": 9}
    gpu = envs.make(name, num_envs=N, device="cuda", seed=5, episode_statistics=True, **extra)
    cpu = envs.make(name, num_envs=N, device="cpu", seed=5, episode_statistics=True, **extra)
    assert gpu.device == "cuda"
    obs_g, _ = gpu.reset(seed=3)
    obs_c, _ = cpu.reset(seed=3)
    np.testing.assert_allclose(obs_g.copy_to_host(), obs_c, rtol=1e-5, atol=1e-6)
    finished = 0
    for _ in range(STEPS):
        actions = random_actions(cpu, rng)
        (obs_g, rew_g, term_g, trunc_g, info_g), (obs_c, rew_c, term_c, trunc_c, info_c) = \
            step_both(gpu, cpu, actions)
        done = term_c | trunc_c
        np.testing.assert_array_equal(info_g["_final_obs"].copy_to_host(), done)
        if done.any():
            np.testing.assert_allclose(info_g["final_obs"].copy_to_host()[done], info_c["final_obs"][done],
                                       rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(info_g["episode"]["r"].copy_to_host()[done], info_c["episode"]["r"][done],
                                       rtol=1e-5)
            np.testing.assert_array_equal(info_g["episode"]["l"].copy_to_host()[done], info_c["episode"]["l"][done])
            finished += int(done.sum())
    assert finished > 0  # auto-resets were compared
    for key, value in cpu.get_state().items():
        np.testing.assert_allclose(gpu.get_state()[key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_set_state_and_device_actions():
    gpu = envs.make("CartPole", num_envs=8, device="cuda", seed=0)
    cpu = envs.make("CartPole", num_envs=8, seed=1)
    cpu.reset()
    gpu.reset()
    for _ in range(3):
        cpu.step(np.ones(8, np.int64))
    gpu.set_state(cpu.get_state())
    np.testing.assert_allclose(gpu.observations().copy_to_host(), cpu.observations(), rtol=1e-6)
    actions = cuda.to_device(np.zeros(8, np.int64))  # already on the device: no host round trip
    obs_g = gpu.step(actions)[0].copy_to_host()
    obs_c = cpu.step(np.zeros(8, np.int64))[0]
    np.testing.assert_allclose(obs_g, obs_c, rtol=1e-5)
    with pytest.raises(ValueError, match=r"device actions must have shape \(8,\) and an integer dtype"):
        gpu.step(cuda.to_device(np.zeros(8, np.float32)))
    with pytest.raises(ValueError, match=r"actions must be in \[0, 2\)"):
        gpu.step(np.full(8, 2))


def test_auto_picks_cuda_when_it_is_there():
    assert envs.make("Pendulum", num_envs=2, device="auto").device == "cuda"


@pytest.mark.parametrize("mode", ["next_step", "disabled"])
@pytest.mark.parametrize("name", ["CartPole", "Pendulum"])
def test_kernels_match_the_cpu_driver_in_the_other_autoreset_modes(name, mode, rng):
    """NEXT_STEP's reset steps and DISABLED's masked resets (a device mask, and a host one) as
    on the CPU; info has no final_obs (the observation is the step's own) but has the episodes."""
    gpu = envs.make(name, num_envs=8, device="cuda", seed=5, autoreset_mode=mode, max_episode_steps=6,
                    episode_statistics=True)
    cpu = envs.make(name, num_envs=8, device="cpu", seed=5, autoreset_mode=mode, max_episode_steps=6,
                    episode_statistics=True)
    assert gpu.metadata["autoreset_mode"] is cpu.metadata["autoreset_mode"]
    gpu.reset(seed=3)
    cpu.reset(seed=3)
    finished = 0
    for k in range(14):
        actions = random_actions(cpu, rng)
        (obs_g, rew_g, term_g, trunc_g, info_g), (obs_c, rew_c, term_c, trunc_c, info_c) = \
            step_both(gpu, cpu, actions)
        assert "final_obs" not in info_g and set(info_g) == {"episode", "_episode"}
        done = term_c | trunc_c
        np.testing.assert_array_equal(info_g["_episode"].copy_to_host(), done)
        np.testing.assert_array_equal(info_g["episode"]["l"].copy_to_host(), info_c.get("episode", {"l": 0})["l"])
        finished += int(done.sum())
        if mode == "disabled" and done.any():
            mask = cuda.to_device(done) if k % 2 else done
            np.testing.assert_allclose(gpu.reset(options={"reset_mask": mask})[0].copy_to_host(),
                                       cpu.reset(options={"reset_mask": done})[0], rtol=1e-5)
    assert finished > 8
    np.testing.assert_array_equal(gpu.get_state()["t"], cpu.get_state()["t"])


def test_disabled_on_the_gpu_leaves_an_ended_sub_env_as_it_ended():
    """The CPU driver refuses to step it; the GPU does not check (a copy to the host each step):
    the sub-env is not advanced, repeats its observation and flags, earns 0 and ends no episode."""
    gpu = envs.make("CartPole", num_envs=3, device="cuda", seed=0, autoreset_mode="disabled", max_episode_steps=2,
                    episode_statistics=True)
    gpu.reset(seed=0)
    gpu.step(np.ones(3, np.int64))
    obs, _, _, truncated, _ = gpu.step(np.ones(3, np.int64))
    ended_obs, state = obs.copy_to_host(), gpu.get_state()
    assert truncated.copy_to_host().all()
    obs, reward, terminated, truncated, info = gpu.step(np.zeros(3, np.int64))
    np.testing.assert_array_equal(obs.copy_to_host(), ended_obs)
    assert truncated.copy_to_host().all() and not terminated.copy_to_host().any()
    assert not reward.copy_to_host().any() and not info["_episode"].copy_to_host().any()
    np.testing.assert_array_equal(gpu.get_state()["state"], state["state"])


def test_the_kernels_stride_over_sub_envs_past_the_grid_cap(rng, monkeypatch):
    """numbarl/launch.py caps the grid; with 2 blocks of 4 threads each thread steps 3 of the 24
    sub-envs (the simulator's own cap strides too; on a GPU only this test does)."""
    from numbarl import launch

    monkeypatch.setattr(launch, "MAX_BLOCKS", 2)
    monkeypatch.setattr(launch, "THREADS", 4)
    gpu = envs.make("CartPole", num_envs=24, device="cuda", seed=2, max_episode_steps=5)
    cpu = envs.make("CartPole", num_envs=24, device="cpu", seed=2, max_episode_steps=5)
    np.testing.assert_allclose(gpu.reset(seed=1)[0].copy_to_host(), cpu.reset(seed=1)[0], rtol=1e-6)
    for _ in range(6):  # past the time limit: every sub-env resets once
        step_both(gpu, cpu, random_actions(cpu, rng))
    np.testing.assert_array_equal(gpu.get_state()["t"], cpu.get_state()["t"])


def test_episode_returns_are_float32_on_the_gpu_and_integer_ones_exact():
    """envs/cuda_driver.py's DEVICE_DTYPES: episodes set to have earned 0, 97, 497 and 2^24 - 3
    before their last three steps end at 3, 100, 500 and 2^24, as the CPU's float64 sums; state
    moves between the devices either way."""
    cpu = envs.make("CartPole", num_envs=4, seed=1, max_episode_steps=3, episode_statistics=True)
    gpu = envs.make("CartPole", num_envs=4, device="cuda", seed=1, max_episode_steps=3, episode_statistics=True)
    cpu.reset(seed=2)
    gpu.reset(seed=2)
    start = np.array([0.0, 97.0, 497.0, 2.0**24 - 3])
    cpu.ep_return = start
    gpu.ep_return = start
    for k in range(3):  # alternating pushes: no pole falls within the time limit
        (_, _, _, trunc_g, info_g), (_, _, _, trunc_c, info_c) = step_both(gpu, cpu, np.full(4, k % 2))
    assert trunc_c.all() and info_g["episode"]["r"].dtype == np.float32 and info_c["episode"]["r"].dtype == np.float64
    np.testing.assert_array_equal(info_g["episode"]["r"].copy_to_host(), start + 3)
    np.testing.assert_array_equal(info_c["episode"]["r"], start + 3)
    assert gpu.get_state()["ep_return"].dtype == np.float32
    cpu.set_state(gpu.get_state())
    gpu.set_state(cpu.get_state())
    assert cpu.get_state()["ep_return"].dtype == np.float64


def test_a_subclass_with_params_of_its_own_runs_its_bases_dynamics():
    """As on the CPU (tests/envs/test_driver.py): the CUDA driver gives the dynamics the
    parameters the subclass's Params leaves out, at its base's defaults."""
    from tests.envs.test_driver import check_subclass_with_params_of_its_own

    check_subclass_with_params_of_its_own("cuda")


def test_a_base_envs_cache_loads_in_a_process_that_never_made_the_subclass(tmp_path):
    """numba's cache of CartPole's reset lists its overload for NanCartPole's dynamics_params
    class: a later process that runs CartPole alone must unpickle that class by its name."""
    import os
    import subprocess
    import sys

    run = """import numpy as np, envs
if {plugin}:
    from tests.rl.nan_env import NanCartPole
    env = NanCartPole(num_envs=4, seed=0, device="cuda")
else:
    env = envs.make("CartPole", num_envs=4, seed=0, device="cuda")
env.reset()
env.step(np.zeros(4, np.int64))
"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    environ = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBARL_CACHE_DIR": str(tmp_path),
               "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": root}
    for plugin in (True, False):
        result = subprocess.run([sys.executable, "-c", run.format(plugin=plugin)], cwd=root, env=environ,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]

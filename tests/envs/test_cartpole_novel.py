"""envs/cartpole_novel.py and envs/pendulum_novel.py: the full env's transitions, with the
velocities left out of the observation."""

import numpy as np
import pytest

import envs


@pytest.mark.parametrize("name, full, shown", [("CartPoleNoVel", "CartPole", [0, 2]),
                                               ("PendulumNoVel", "Pendulum", [0, 1])])
def test_observation_is_the_full_envs_without_velocities(name, full, shown):
    rng = np.random.default_rng(7)
    partial, reference = envs.make(name, num_envs=16, seed=3), envs.make(full, num_envs=16, seed=3)
    o_p, _ = partial.reset()
    o_f, _ = reference.reset()
    assert partial.single_observation_space.shape == (len(shown),)
    np.testing.assert_array_equal(o_p, o_f[:, shown])
    finished = 0
    for _ in range(300):
        if full == "Pendulum":
            actions = rng.uniform(-2, 2, (16, 1)).astype(np.float32)
        else:
            actions = rng.integers(0, 2, 16)
        o_p, r_p, te_p, tr_p, info_p = partial.step(actions)
        o_f, r_f, te_f, tr_f, info_f = reference.step(actions)
        np.testing.assert_array_equal(o_p, o_f[:, shown])
        np.testing.assert_array_equal(r_p, r_f)
        np.testing.assert_array_equal(te_p, te_f)
        np.testing.assert_array_equal(tr_p, tr_f)
        if "final_obs" in info_f:
            np.testing.assert_array_equal(info_p["final_obs"][info_f["_final_obs"]],
                                          info_f["final_obs"][info_f["_final_obs"]][:, shown])
            finished += int(info_f["_final_obs"].sum())
    assert finished > 0  # auto-resets were compared too


@pytest.mark.parametrize("name", ["CartPoleNoVel", "PendulumNoVel"])
def test_passes_the_env_checker(name):
    envs.check_env(envs.make(name, num_envs=4, seed=0))

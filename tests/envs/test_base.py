"""envs/base.py: same-step auto-reset, final observations, truncation, episode statistics,
seeding, state save/restore and action validation, on sub-envs that finish at different steps."""

import numpy as np
import pytest

import envs


def cartpole(n=6, **kw):
    env = envs.make("CartPole", num_envs=n, seed=0, **{"episode_statistics": True, **kw})
    env.reset(seed=0)
    return env


def test_auto_reset_final_obs_truncation_and_episode_statistics():
    env = cartpole(3, max_episode_steps=6)
    saved = env.get_state()
    # Sub-env 0 falls over in its second step, 1 starts upright, 2 starts upright three steps
    # into its time limit: they finish at different steps.
    saved["state"][:, 0] = [0.0, 0.0, 0.17, 1.0]
    saved["state"][:, 1] = [0.0, 0.0, 0.0, 0.0]
    saved["state"][:, 2] = [0.0, 0.0, 0.0, 0.0]
    saved["t"][:] = [0, 0, 3]
    saved["ep_return"][:] = [0.0, 0.0, 3.0]
    env.set_state(saved)
    actions = np.array([1, 0, 1])
    seen = {0: None, 1: None, 2: None}
    for step in range(1, 7):
        obs, reward, terminated, truncated, info = env.step(actions)
        for i in range(3):
            if (terminated[i] or truncated[i]) and seen[i] is None:
                seen[i] = (step, "terminated" if terminated[i] else "truncated")
                assert info["_final_obs"][i] and info["_episode"][i]
                # The returned obs already starts a new episode; final_obs is where the old one ended.
                assert np.abs(obs[i]).max() <= 0.05
                assert not np.allclose(info["final_obs"][i], obs[i])
                expected_length = step + (3 if i == 2 else 0)  # 2 had 3 steps before the test
                assert info["episode"]["l"][i] == expected_length
                assert info["episode"]["r"][i] == expected_length  # CartPole pays 1 per step
                assert env.t[i] == 0 and env.ep_return[i] == 0
            elif "_final_obs" in info:
                assert not info["_final_obs"][i]
        np.testing.assert_array_equal(terminated & truncated, False)
    # 0 falls at step 3; 2 is truncated at step 3 (3 + 3 = its limit of 6); 1 at step 6.
    assert seen == {0: (3, "terminated"), 1: (6, "truncated"), 2: (3, "truncated")}


def test_truncation_is_not_termination():
    env = cartpole(2, max_episode_steps=3)
    for _ in range(2):
        _, _, terminated, truncated, info = env.step(np.array([0, 1]))
        assert not truncated.any()
    _, _, terminated, truncated, info = env.step(np.array([0, 1]))
    np.testing.assert_array_equal(truncated, [True, True])
    np.testing.assert_array_equal(terminated, [False, False])
    assert info["final_obs"].shape == (2, 4)
    # A new time limit applies from the next step, to the episodes under way too.
    env.max_steps = 2
    env.step(np.array([0, 1]))
    assert env.step(np.array([0, 1]))[3].all()
    for bad in (-1, 2.5, True, "10", 2 ** 63):
        with pytest.raises(ValueError, match=r"max_episode_steps must be an integer from 0 \(no time limit\) to 2\*\*53"):
            env.max_steps = bad
    with pytest.raises(ValueError, match="max_episode_steps must be an integer from 0"):
        cartpole(2, max_episode_steps=-3)


def test_same_seed_same_trajectories_and_different_seeds_differ():
    def rollout(seed):
        env = envs.make("Pendulum", num_envs=5, seed=seed)
        obs = [env.reset(seed=seed)[0]]
        rng = np.random.default_rng(7)
        for _ in range(250):  # past the time limit: the resets are seeded too
            obs.append(env.step(rng.uniform(-2, 2, (5, 1)).astype(np.float32))[0])
        return np.stack(obs)

    np.testing.assert_array_equal(rollout(11), rollout(11))
    assert not np.allclose(rollout(11), rollout(12))


def test_reset_takes_the_seeds_gymnasiums_vector_envs_take():
    """gym.make_vec's reset takes None, an int, or one seed per sub-env with None where that
    sub-env draws from the OS; numbarl's takes them too (and numpy integers, as make() does),
    and names the env when a seed is neither."""
    import gymnasium as gym

    gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync").reset(seed=[1, None, 3])
    env = envs.make("CartPole", num_envs=3)
    one = env.reset(seed=[1, None, 3])[0]
    two = env.reset(seed=[1, None, 3])[0]
    np.testing.assert_array_equal(one[[0, 2]], two[[0, 2]])
    assert not np.array_equal(one[1], two[1])  # drawn from the OS each time
    np.testing.assert_array_equal(env.reset(seed=[1, 2, 3])[0], env.reset(seed=np.array([1, 2, 3]))[0])
    np.testing.assert_array_equal(env.reset(seed=np.int64(5))[0], env.reset(seed=5)[0])
    assert env.np_random_seed == 5
    np.testing.assert_array_equal(envs.make("CartPole", num_envs=3, seed=np.uint8(5)).reset()[0], env.reset(seed=5)[0])
    for bad in (1.5, -1, True, "7", [1, 2.5, 3]):
        with pytest.raises(ValueError, match=r"CartPole.reset: a seed must be None, an integer >= 0, or a list"):
            env.reset(seed=bad)
    with pytest.raises(ValueError, match=r"^CartPole: a seed must be"):
        envs.make("CartPole", num_envs=3, seed=-2)


def test_sub_env_streams_do_not_depend_on_the_batch():
    small = envs.make("CartPole", num_envs=3, seed=5).reset()[0]
    large = envs.make("CartPole", num_envs=9000, seed=5).reset()[0]  # the parallel driver
    np.testing.assert_array_equal(small, large[:3])


def test_parallel_and_serial_drivers_agree():
    n = 9000
    a, b = envs.make("Acrobot", num_envs=n, seed=1), envs.make("Acrobot", num_envs=n, seed=1)
    a.reset(), b.reset()
    b._step_all = b._serial
    assert a._step_all is a._parallel
    a._adaptive = b._adaptive = False  # pinned: no probing of the other driver
    rng = np.random.default_rng(0)
    for _ in range(20):
        actions = rng.integers(0, 3, n)
        np.testing.assert_array_equal(a.step(actions)[0], b.step(actions)[0])


def test_the_faster_driver_is_kept():
    env = envs.make("CartPole", num_envs=envs.base.PARALLEL_FROM, seed=0)
    assert env._adaptive and not envs.make("CartPole", num_envs=envs.base.PARALLEL_FROM - 1)._adaptive
    for slow_parallel, kept, probes in ((True, env._serial, 4),
                                        (False, env._parallel, envs.base.PROBE_STEPS)):
        env._probe_left, k = envs.base.PROBE_STEPS, 0
        while env._probe_left:  # a loaded core: a parallel step waits for a time slice
            parallel = k % 2
            env._record_probe(parallel, (1e-3 if parallel == slow_parallel else 1e-5) * (1 + k))
            k += 1
        # A stalled parallel step (after the first, which may start the thread pool) ends the
        # probe at once; otherwise all PROBE_STEPS are timed.
        assert env._step_all is kept and env._probe == ([], []) and k == probes
    # A kept parallel driver is watched: fast steps keep it, and once the steps of a window have
    # cost more than as many serial steps would (here one stall), serial takes over at once.
    env._probe_left = envs.base.PROBE_STEPS
    for k in range(envs.base.PROBE_STEPS):
        env._record_probe(k % 2, 5e-4 if k % 2 else 1e-3)
    assert env._step_all is env._parallel
    for _ in range(3 * envs.base.WATCH):
        env._watch_parallel(6e-4)
    assert env._step_all is env._parallel
    env._watch_parallel(2 * envs.base.WATCH * 1e-3)  # one stall as long as 64 serial steps
    assert env._step_all is env._serial and env._next_probe == env._calls + envs.base.ADAPT_EVERY
    # A probe judged by the median would keep the parallel driver here; by the mean it does not.
    env._probe_left = envs.base.PROBE_STEPS
    for k in range(envs.base.PROBE_STEPS):  # two of the counted parallel steps took 2.9x a serial one
        env._record_probe(k % 2, (2.9e-3 if k in (5, 9) else 5e-4) if k % 2 else 1e-3)
    assert env._step_all is env._serial
    # Stepping probes both drivers in its first steps, then keeps one; trajectories do not change.
    pinned = envs.make("CartPole", num_envs=env.num_envs, seed=0)
    pinned._adaptive = False
    env.reset(seed=0), pinned.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(envs.base.PROBE_STEPS + 4):
        actions = rng.integers(0, 2, env.num_envs)
        np.testing.assert_array_equal(env.step(actions)[0], pinned.step(actions)[0])
    assert env._step_all in (env._serial, env._parallel)


def test_get_state_set_state_round_trip():
    env = cartpole(4)
    rng = np.random.default_rng(1)
    for _ in range(30):
        env.step(rng.integers(0, 2, 4))
    saved = env.get_state()
    actions = rng.integers(0, 2, (40, 4))
    first = [env.step(a)[0] for a in actions]
    env.set_state(saved)
    np.testing.assert_array_equal(env.observations(), saved["state"].T)  # recomputed from the state
    second = [env.step(a)[0] for a in actions]
    np.testing.assert_array_equal(np.stack(first), np.stack(second))
    with pytest.raises(ValueError, match=r"set_state: state has shape \(4, 3\), expected \(4, 4\)"):
        env.set_state({**saved, "state": saved["state"][:, :3]})


def test_assigning_a_state_array_writes_it_in_place():
    # The compiled driver holds the env's own arrays: env.state = x must reach it, not rebind.
    env, twin = cartpole(3), cartpole(3)
    state = env.state
    new = np.full((4, 3), 0.01, np.float32)
    env.state, env.t = new, np.array([5, 6, 7])
    assert env.state is state and env.t.tolist() == [5, 6, 7]
    twin.set_state({**twin.get_state(), "state": new, "t": np.array([5, 6, 7])})
    for a, b in zip(env.step(np.array([0, 1, 0]))[:4], twin.step(np.array([0, 1, 0]))[:4]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"CartPole: state has shape \(4, 2\), expected \(4, 3\) for 3 sub-envs"):
        env.state = np.zeros((4, 2))


def test_returned_arrays_are_copies_unless_asked():
    env = cartpole(2)
    obs = env.step(np.array([0, 1]))[0]
    obs[:] = 99
    assert env.observations().max() < 99
    fast = envs.make("CartPole", num_envs=2, seed=0, copy=False)
    fast.reset()
    assert fast.step(np.array([0, 1]))[0] is fast.step(np.array([0, 1]))[0]


@pytest.mark.parametrize("actions, message", [
    (np.array([0, 1, 1]), r"CartPole: actions must have shape \(2,\) for 2 sub-envs of action space Discrete\(2\), got shape \(3,\)"),
    (np.array([0, 2]), r"CartPole: actions must be in \[0, 2\) for Discrete\(2\), got values from 0 to 2"),
    (np.array([-1, 0]), r"must be in \[0, 2\)"),
    (np.array([0.5, 1.0]), r"actions must be integers in \[0, 2\)"),
    (np.array(["a", "b"]), r"actions must be integers"),
])
def test_bad_discrete_actions_are_named(actions, message):
    with pytest.raises(ValueError, match=message):
        cartpole(2).step(actions)


def test_bad_continuous_actions_are_named():
    env = envs.make("Pendulum", num_envs=2, seed=0)
    env.reset()
    with pytest.raises(ValueError, match=r"Pendulum: actions must have shape \(2, 1\)"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([[np.nan], [0.0]], np.float32))
    env.step(np.array([[5.0], [-5.0]]))  # beyond the bounds: clipped by the dynamics, as in Gymnasium


def test_bad_construction_is_named():
    with pytest.raises(ValueError, match="num_envs must be a positive integer, got 0"):
        envs.make("CartPole", num_envs=0)
    with pytest.raises(TypeError, match="CartPole has no parameter 'gravty'; valid: gravity"):
        envs.make("CartPole", gravty=1.0)
    # this machine has no GPU (the CUDA tests run in their own process, under the simulator)
    with pytest.raises(ValueError, match=r"CartPole: device 'cuda' (needs numba-cuda|cannot run here: numba-cuda "
                                         r"is installed, but).*valid here: cpu, auto"):
        envs.make("CartPole", device="cuda")
    assert envs.make("CartPole", device="auto").device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'gpu'; valid: cpu, cuda, auto"):
        envs.make("CartPole", device="gpu")
    with pytest.raises(RuntimeError, match="call reset"):
        envs.make("CartPole").step(np.zeros(1, np.int64))


def test_every_step_returns_new_arrays_and_info_rows_of_unfinished_episodes_are_defined():
    env = cartpole(64)
    rng = np.random.default_rng(3)
    previous = None
    for _ in range(40):
        out = env.step(rng.integers(0, 2, 64))
        obs, reward, terminated, truncated, info = out
        if previous is not None:
            for new, old in zip(out[:4], previous[:4]):
                assert not np.shares_memory(new, old)
        if info:
            done = terminated | truncated
            np.testing.assert_array_equal(info["_final_obs"], done)
            np.testing.assert_array_equal(info["_episode"], done)
            # An unfinished sub-env's final_obs is its current observation; its totals are 0.
            np.testing.assert_array_equal(info["final_obs"][~done], obs[~done])
            np.testing.assert_array_equal(info["episode"]["r"][~done], 0.0)
            np.testing.assert_array_equal(info["episode"]["l"][~done], 0)
            assert (info["episode"]["l"][done] > 0).all()
        previous = out
    assert previous is not None


def test_rejected_actions_step_no_sub_env():
    for name, bad in (("CartPole", np.array([0, 1, 5, 0])),
                      ("Pendulum", np.array([[0.0], [np.inf], [0.0], [1.0]], np.float32))):
        env = envs.make(name, num_envs=4, seed=2)
        env.reset(seed=2)
        before = env.get_state()
        with pytest.raises(ValueError, match="actions must be"):
            env.step(bad)
        for key, value in env.get_state().items():
            np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_strided_misaligned_and_read_only_actions_step_as_their_plain_copy():
    # The driver is called past numba's type checks for C-ordered, aligned actions only
    # (envs/base.py, _entry_point): any others are copied first, never read with the wrong layout.
    rng = np.random.default_rng(4)

    def misaligned(actions):  # a view one byte into a buffer
        view = np.frombuffer(b"x" + actions.tobytes(), actions.dtype, count=actions.size, offset=1)
        return view.reshape(actions.shape)

    def frozen(actions):
        actions = actions.copy()
        actions.flags.writeable = False
        return actions

    for name, draw in (("CartPole", lambda: rng.integers(0, 2, (6, 3))),
                       ("Pendulum", lambda: rng.uniform(-2, 2, (6, 3)).astype(np.float32))):
        a, b = envs.make(name, num_envs=6, seed=3), envs.make(name, num_envs=6, seed=3)
        a.reset(seed=3), b.reset(seed=3)
        for _ in range(4):
            block = draw()
            strided = block[:, 1] if name == "CartPole" else block[:, 1:2]
            plain = np.ascontiguousarray(strided)
            for given in (strided, misaligned(plain), frozen(plain)):
                assert not given.flags.carray
                for x, y in zip(a.step(given)[:4], b.step(plain)[:4]):
                    np.testing.assert_array_equal(x, y)


def test_parameters_must_be_numbers():
    with pytest.raises(ValueError, match="CartPole: parameter gravity must be a number, got 'high'"):
        envs.make("CartPole", gravity="high")
    with pytest.raises(ValueError, match="MemoryCue: parameter min_length must be an integer, got 2.5"):
        envs.make("MemoryCue", min_length=2.5)
    # An int where the default is a float is read as a float: the same compiled driver serves.
    a, b = envs.make("CartPole", num_envs=3, seed=0, gravity=10), envs.make("CartPole", num_envs=3, seed=0, gravity=10.0)
    a.reset(seed=1), b.reset(seed=1)
    np.testing.assert_array_equal(a.step(np.ones(3, int))[0], b.step(np.ones(3, int))[0])
    assert a._driver is b._driver


def test_arrays_the_caller_let_go_of_are_reused_and_held_ones_never_are():
    env = cartpole(8)
    rng = np.random.default_rng(4)
    held = []
    for k in range(60):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, 2, 8))
        new = [obs, reward, terminated, truncated] + ([info["final_obs"], info["_final_obs"], info["episode"]["r"]]
                                                      if info else [])
        for old in held:
            for array in new:
                assert not np.shares_memory(array, old)
        if k % 4 == 0:
            held.append(obs)
        if k % 7 == 0:
            held.append(reward[2:])  # a view keeps its base alive
        if info and k % 5 == 0:
            held.append(info["final_obs"])
    # Once nothing refers to a set of outputs, a later step writes into it instead of allocating.
    in_ring = {id(outputs[0]) for outputs, _ in env._handed_out}
    assert id(env.step(rng.integers(0, 2, 8))[0]) in in_ring


def test_a_population_env_steps_each_block_as_its_own_env():
    """K blocks of N sub-envs, seeded with K seeds, step exactly as K envs of N with those seeds
    (agent k of a population sees the single run's envs)."""
    import envs

    both = envs.make("CartPole", num_envs=12, seed=[5, 6, 7])
    alone = envs.make("CartPole", num_envs=4, seed=6)
    obs, _ = both.reset(seed=[5, 6, 7])
    np.testing.assert_array_equal(obs[4:8], alone.reset(seed=6)[0])
    rng = np.random.default_rng(0)
    for _ in range(300):
        actions = rng.integers(0, 2, 12)
        out, single = both.step(actions), alone.step(actions[4:8])
        for a, b in zip(out[:4], single[:4]):
            np.testing.assert_array_equal(a[4:8], b)


def test_importing_envs_loads_no_autodiff_module():
    """envs stands on numba, numpy and gymnasium alone; the allocator tuning both packages want
    lives in numbarl.malloc."""
    import subprocess
    import sys

    code = ("import sys, envs; envs.make('CartPole', num_envs=2).reset(seed=0); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('autodiff', 'algos', 'rl')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_episode_statistics_only_when_asked_so_gymnasiums_wrapper_runs_unchanged():
    """Client code written for gym.make_vec adds RecordEpisodeStatistics, which refuses an
    info["episode"] it did not write: by default the env writes none, and the wrapper's figures
    for each sub-env's first episode equal the ones the env writes when asked. (The wrapper
    assumes next-step auto-reset: from the second episode on it drops each episode's first step
    of a same-step env, so its lengths are one short.)"""
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    wrapped = RecordEpisodeStatistics(envs.make("CartPole", num_envs=4, seed=2))
    ours = envs.make("CartPole", num_envs=4, seed=2, episode_statistics=True)
    wrapped.reset(seed=2)
    ours.reset(seed=2)
    rng, compared, first = np.random.default_rng(5), 0, np.ones(4, bool)
    for _ in range(200):
        actions = rng.integers(0, 2, 4)
        *_, info_w = wrapped.step(actions)
        *_, info_o = ours.step(actions)
        assert ("episode" in info_w) == ("episode" in info_o)
        if "episode" in info_o:
            np.testing.assert_array_equal(info_w["_episode"], info_o["_episode"])
            done = info_o["_episode"] & first
            first &= ~info_o["_episode"]
            np.testing.assert_allclose(info_w["episode"]["r"][done], info_o["episode"]["r"][done])
            np.testing.assert_array_equal(info_w["episode"]["l"][done], info_o["episode"]["l"][done])
            compared += int(done.sum())
    assert compared == 4
    assert "episode" not in envs.make("CartPole", num_envs=2, max_episode_steps=1).reset(seed=0)[1]


@pytest.mark.parametrize("mode", ["same_step", "next_step", "disabled"])
@pytest.mark.parametrize("name", ["CartPole", "Pendulum", "MemoryCue"])
def test_pickle_and_deepcopy_continue_the_same_episodes(name, mode):
    """As gym.make_vec's envs do, a copy (copy.deepcopy, pickle) steps on from where the env was:
    same states, RNG streams, time limit, step counts and episode returns; and it has a driver of
    its own (a driver is a module and compiled code, which do not pickle)."""
    import copy
    import pickle

    import gymnasium as gym

    copy.deepcopy(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"))  # what users expect
    env = envs.make(name, num_envs=5, seed=1, autoreset_mode=mode, episode_statistics=True, max_episode_steps=7)
    env.reset(seed=2)
    env.action_space.seed(3)
    actions = [env.action_space.sample() for _ in range(40)]
    env.step(actions[0])
    copies = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    assert all(c.max_steps == 7 and c.metadata == env.metadata and c.episode_statistics for c in copies)
    ended = 0
    for a in actions[1:]:
        ours = env.step(a)
        for theirs in [c.step(a) for c in copies]:
            for x, y in zip(ours[:4], theirs[:4]):
                np.testing.assert_array_equal(x, y)
            assert set(ours[4]) == set(theirs[4])
            if "episode" in ours[4]:
                np.testing.assert_array_equal(ours[4]["episode"]["r"], theirs[4]["episode"]["r"])
        done = ours[2] | ours[3]
        ended += int(done.sum())
        if mode == "disabled" and done.any():
            for e in [env, *copies]:
                e.reset(options={"reset_mask": done.copy()})
    assert ended >= 5
    env.reset(seed=4)  # the copies are the copies' own
    np.testing.assert_array_equal(copies[0].get_state()["rng"], copies[1].get_state()["rng"])
    assert not np.array_equal(copies[0].get_state()["rng"], env.get_state()["rng"])


# Gymnasium's reset options for where episodes start, each env's (low, high) default and options.
START_OPTIONS = {
    "CartPole": ({"low": -0.3, "high": 0.2}, slice(None), -0.05, 0.05),
    "MountainCar": ({"low": -1.0, "high": 0.1}, 0, -0.6, -0.4),
    "MountainCarContinuous": ({"low": -0.5, "high": -0.45}, 0, -0.6, -0.4),
    "Acrobot": ({"low": -0.5, "high": 0.5}, slice(None), -0.1, 0.1),
    "Pendulum": ({"x_init": 0.5, "y_init": 3.0}, 1, -1.0, 1.0),  # the speed (the angle below)
}


@pytest.mark.parametrize("name", list(START_OPTIONS))
def test_reset_options_set_where_episodes_start_as_in_gymnasium(name):
    """reset(options=...) with Gymnasium's keys starts episodes where Gymnasium's env starts
    them, for that reset only (auto-resets start as before); before, numbarl ignored them."""
    import gymnasium as gym

    options, rows, default_low, default_high = START_OPTIONS[name]
    env = envs.make(name, num_envs=400, seed=0, max_episode_steps=1)
    twin = gym.make_vec(env.gymnasium_id, num_envs=50, vectorization_mode="sync")
    twin.reset(seed=0, options=options)
    theirs = np.array([sub.unwrapped.state for sub in twin.envs], np.float64).T[rows]
    env.reset(seed=0, options=dict(options))
    ours = env.state.astype(np.float64)[rows]
    if name == "Pendulum":
        low, high = -3.0, 3.0
        assert np.abs(env.state[0]).max() <= 0.5 and np.abs(np.array([s.unwrapped.state[0] for s in twin.envs])).max() <= 0.5
    else:
        low, high = options["low"], options["high"]
    for states in (ours, theirs):
        assert low <= states.min() and states.max() <= high
        assert states.min() < low + 0.2 * (high - low) and states.max() > high - 0.2 * (high - low)
    env.step(env.action_space.sample())  # every episode ends (max_episode_steps=1) and starts anew
    restarted = env.state.astype(np.float64)[rows]
    assert default_low <= restarted.min() and restarted.max() <= default_high
    before = env.state.copy()
    env.reset(options={"reset_mask": np.arange(400) < 200, **options})  # with a mask: those only
    np.testing.assert_array_equal(env.state[:, 200:], before[:, 200:])
    assert low <= env.state[rows, :200].min() and env.state[rows, :200].max() <= high
    with pytest.raises(ValueError, match=f"{name}.reset: options\\[.*\\] must be a number, got 'x'"):
        env.reset(options={next(iter(options)): "x"})
    env.reset(options={"unknown": 1})  # other keys are ignored, as Gymnasium ignores them
    if "low" in options:
        with pytest.raises(ValueError, match=r"options\['low'\] \(1.0\) must not be above options\['high'\]"):
            env.reset(options={"low": 1.0, "high": 0.5})

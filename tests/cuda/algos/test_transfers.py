"""What crosses between host and device while PPO and DQN train on a GPU env, counted under the
simulator (tests/cuda/transfers.py): nothing in an env step, and one device-to-host copy per
iteration (the logged figures and finished episodes, together). Plus the backend paths that keep
this so: indices of a population's minibatch rows and host constants written into device
arrays never leave or reach the device as copies."""

import numpy as np
import pytest

import autodiff as ad
import envs
from algos import dqn, ppo, rppo
from autodiff.backend import get_backend
from tests.cuda.transfers import Transfers

CPU, GPU = get_backend("cpu"), get_backend("cuda")
COPIES = ("h2d", "d2h")


class Marked:
    """The env, taking the transfer counts at each step: marks[i] is what happened between the
    calls of step i - 1 and step i."""

    def __init__(self, env, transfers):
        self.env, self.transfers, self.marks = env, transfers, []

    def __getattr__(self, name):
        return getattr(self.env, name)

    def step(self, actions):
        self.marks.append(self.transfers.mark())
        return self.env.step(actions)


def train(module, args, env_id="CartPole", **env_params):
    env = envs.make(env_id, num_envs=args.num_envs * args.num_seeds, device="cuda", seed=args.seed,
                    episode_statistics=True, **(env_params or {"max_episode_steps": 5}))  # episodes end: their logging is counted
    iterations = []
    with Transfers() as transfers:
        marked = Marked(env, transfers)
        module.train(args, env=marked, callback=lambda step, snapshot: iterations.append(
            (len(marked.marks), transfers.counts.copy())))
    return marked.marks, iterations


def copies(counts):
    return {kind: counts[kind] for kind in COPIES}


def test_ppo_copies_nothing_per_env_step_and_reads_the_host_once_per_iteration():
    args = ppo.Args(device="cuda", total_timesteps=12, num_envs=2, num_steps=3, num_minibatches=2,
                    update_epochs=2, hidden_sizes=(4,), num_seeds=2, norm_obs=True, norm_reward=True)
    marks, iterations = train(ppo, args)
    assert len(iterations) == 2
    # marks[i] for i not a multiple of num_steps spans one env step of the rollout, from the
    # action to the storage of its outcome; the others span an update too.
    for i, counts in enumerate(marks[1:], 1):
        if i % args.num_steps:
            assert copies(counts) == {"h2d": 0, "d2h": 0}, (i, counts)
    for (_, before), (_, after) in zip(iterations, iterations[1:]):
        # The minibatch orders are drawn on the host (the device has no sort): one small copy
        # per epoch; the figures and episodes come back in one.
        assert copies(after - before) == {"h2d": args.update_epochs, "d2h": 1}


def test_rppo_copies_nothing_per_env_step():
    args = rppo.Args(device="cuda", env_id="MemoryCue", total_timesteps=12, num_envs=2, num_steps=3,
                     num_minibatches=1, update_epochs=1, hidden_sizes=(4,), rnn_hidden_size=4, num_seeds=2)
    marks, iterations = train(rppo, args, "MemoryCue", min_length=2, max_length=3)
    for i, counts in enumerate(marks[1:], 1):
        if i % args.num_steps:
            assert copies(counts) == {"h2d": 0, "d2h": 0}, (i, counts)
    (_, before), (_, after) = iterations
    # The replay is planned on the host (autodiff/recurrent.py skips steps without a reset), so
    # the rollout's episode starts and the epochs' orders come over before the update, and the
    # logged figures after it. What goes the other way is per minibatch (its rows, the reset masks).
    assert (after - before)["d2h"] == 2


def test_dqn_copies_nothing_per_env_step_and_reads_the_host_once_per_round():
    args = dqn.Args(device="cuda", total_timesteps=20, num_envs=2, learning_starts=8, train_frequency=4,
                    gradient_steps=2, batch_size=2, buffer_size=32, hidden_sizes=(4,), max_grad_norm=1.0,
                    num_seeds=2, double_dqn=True)
    marks, iterations = train(dqn, args)
    rounds = {steps for steps, _ in iterations}  # env steps taken when each round's callback ran
    for i, counts in enumerate(marks[1:], 1):
        expected = {"h2d": 0, "d2h": 1 if i in rounds else 0}
        assert copies(counts) == expected, (i, counts)
    assert len(rounds) == 3  # rounds at steps 5, 7, 9 (learning_starts 8: 4 steps of 2 sub-envs; then every 2)


def test_minibatch_rows_of_a_population_are_gathered_on_the_device(rng):
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    agents, rows = np.arange(3)[:, None], rng.integers(0, 5, (3, 4))
    index = (GPU.asarray(agents), GPU.asarray(rows))
    x_dev = GPU.asarray(x)
    with Transfers() as transfers:
        got = GPU.getitem(x_dev, index)
    assert copies(transfers.counts) == {"h2d": 0, "d2h": 0}
    np.testing.assert_array_equal(GPU.to_numpy(got), CPU.getitem(x, (agents, rows)))
    times = np.arange(5)[None, :, None]  # three index arrays broadcast together (rppo's shape)
    np.testing.assert_array_equal(GPU.to_numpy(GPU.getitem(x_dev, (GPU.asarray(np.zeros((3, 1, 1), np.int64)),
                                                                     GPU.asarray(times)))),
                                  CPU.getitem(x, (np.zeros((3, 1, 1), np.int64), times)))


@pytest.mark.parametrize("index", [Ellipsis, (slice(1, 3),), (slice(None), 1), (slice(None, None, 2), slice(1, 2))])
def test_host_constants_are_written_without_a_copy(index, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    d, c = GPU.asarray(x), x.copy()
    with Transfers() as transfers:
        GPU.setitem(d, index, 0.25)
    CPU.setitem(c, index, 0.25)
    assert copies(transfers.counts) == {"h2d": 0, "d2h": 0}
    np.testing.assert_array_equal(GPU.to_numpy(d), c)


def test_a_device_array_becomes_a_tensor_without_crossing():
    flags = GPU.asarray(np.array([True, False, True]))
    with Transfers() as transfers:
        t = ad.tensor(flags, device="cuda")
    assert copies(transfers.counts) == {"h2d": 0, "d2h": 0} and t.dtype == np.bool_
    np.testing.assert_array_equal(t.numpy(), [True, False, True])

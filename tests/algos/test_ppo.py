"""algos/ppo.py: the agent with separate and shared networks, against its own heads computed one
by one; where the value loss's gradient goes; a short shared-network run and its checkpoint."""

import numpy as np
import pytest

import autodiff as ad
import envs
from algos import ppo


@pytest.mark.parametrize("space", [envs.make("CartPole").single_action_space, envs.make("Pendulum").single_action_space])
def test_dist_value_is_dist_and_value_for_both_network_shapes(space):
    rng = np.random.default_rng(0)
    x = ad.tensor(rng.standard_normal((9, 4)).astype(np.float32))
    for shared in (False, True):
        agent = ppo.Agent(4, space, hidden_sizes=(16, 8), shared=shared)
        dist, value = agent.dist_value(x)
        np.testing.assert_array_equal(value.numpy(), agent.value(x).numpy())
        assert value.shape == (9,)
        alone = agent.dist(x)
        for a, b in ((dist.mode(), alone.mode()), (dist.entropy(), alone.entropy())):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_shared_trunk_is_one_set_of_hidden_layers_that_the_value_loss_trains():
    space = envs.make("CartPole").single_action_space
    separate, shared = ppo.Agent(4, space, (16, 16)), ppo.Agent(4, space, (16, 16), shared=True)
    count = lambda agent: sum(p.numpy().size for p in agent.parameters())  # noqa: E731
    hidden = (4 * 16 + 16) + (16 * 16 + 16)
    assert count(separate) == 2 * hidden + (16 * 2 + 2) + (16 + 1)
    assert count(shared) == hidden + (16 * 2 + 2) + (16 + 1)
    assert sorted(name.split(".")[0] for name, _ in shared.named_parameters()) == ["actor"] * 2 + ["critic"] * 2 + [
        "trunk"] * 4
    x = ad.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    for agent, reaches_policy in ((separate, False), (shared, True)):
        agent.value(x).sum().backward()
        # The value's gradient reaches the policy's hidden layers only through a shared trunk.
        first = agent.trunk[0] if agent.trunk is not None else agent.actor[0]
        assert (first.weight.grad is not None and np.abs(first.weight.grad.numpy()).sum() > 0) == reaches_policy


def test_a_shared_network_run_trains_and_its_checkpoint_loads():
    args = ppo.Args(env_id="CartPole", total_timesteps=2048, num_envs=4, num_steps=64, shared_network=True,
                    hidden_sizes=(16, 16))
    agent, _ = ppo.train(args)
    env = envs.make("CartPole", num_envs=4)
    again, _ = ppo.build(args, env)
    again.load_state_dict(agent.state_dict())
    x = ad.tensor(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32))
    np.testing.assert_array_equal(again.value(x).numpy(), agent.value(x).numpy())
    assert again.trunk is not None and len(again.critic) == 1


def test_a_shared_network_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="shared_network needs at least one hidden layer"):
        ppo.Args(shared_network=True, hidden_sizes=()).validate()
    ppo.Args(shared_network=False, hidden_sizes=()).validate()  # separate linear actor and critic

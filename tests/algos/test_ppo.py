"""algos/ppo.py: the agent with separate and shared networks, against its own heads computed one
by one; where the value loss's gradient goes; a short shared-network run and its checkpoint;
populations, agent by agent against single runs, and a diverged agent among them."""

import numpy as np
import pytest

import autodiff as ad
import envs
from algos import TrainingDiverged, ppo


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
    again, _ = ppo.build(args, env, models=1)  # train() returns a stack of num_seeds agents
    again.load_state_dict(agent.state_dict())
    x = ad.tensor(np.random.default_rng(2).standard_normal((1, 3, 4)).astype(np.float32))
    np.testing.assert_array_equal(again.value(x).numpy(), agent.value(x).numpy())
    assert again.trunk is not None and len(again.critic) == 1


def test_a_shared_network_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="shared_network needs at least one hidden layer"):
        ppo.Args(shared_network=True, hidden_sizes=()).validate()
    ppo.Args(shared_network=False, hidden_sizes=()).validate()  # separate linear actor and critic


@pytest.mark.parametrize("field, value, message", [
    ("hidden_sizes", (0,), "every entry of hidden_sizes must be positive, got 0"),
    ("hidden_sizes", (64, -2), "every entry of hidden_sizes must be positive, got -2"),
    ("gamma", 1.5, r"gamma must be in \(0, 1\], got 1.5"),
    ("gae_lambda", -0.1, r"gae_lambda must be in \[0, 1\], got -0.1"),
    ("learning_rate", float("nan"), "learning_rate must be positive, got nan"),
    ("clip_coef", 0.0, "clip_coef must be positive, got 0.0"),
    ("ent_coef", -0.01, "ent_coef must be at least 0, got -0.01"),
    ("max_grad_norm", 0.0, "max_grad_norm must be positive"),
    ("target_kl", -1.0, "target_kl must be positive"),
    ("seed", -1, "seed must be at least 0, got -1"),
    ("seed", 2**32, r"seed must be at most 4294967295 \(2\*\*32 - 1\), got 4294967296"),
    ("num_seeds", 3, r"seed \+ num_seeds - 1 must be at most 4294967295 .*got 4294967294 \.\.\. 4294967296"),
    ("update_epochs", 0, "update_epochs must be positive, got 0"),
])
def test_settings_that_cannot_train_are_named(field, value, message):
    args = ppo.Args(seed=2**32 - 2 if field == "num_seeds" else 1)
    setattr(args, field, value)
    with pytest.raises(ValueError, match=message):
        args.validate()


def test_every_interval_bound_is_checked_on_both_sides():
    from algos.common import check_ranges

    class Settings:
        a, b, c = 0.5, (1, 2), None

    check_ranges(Settings, {"a": "[0, 1)", "b": "(0, 2]", "c": "(0, inf)"})
    for text, value in (("(0.5, 1]", 0.5), ("[0, 0.5)", 0.5), ("[0.6, 1]", 0.5), ("[0, 0.4]", 0.5)):
        Settings.a = value
        with pytest.raises(ValueError, match="a must be in"):
            check_ranges(Settings, {"a": text})


def _small(seed, num_seeds, **kw):
    settings = dict(total_timesteps=1536, num_envs=4, num_steps=64, num_minibatches=2, update_epochs=3,
                    hidden_sizes=(16, 16), seed=seed, num_seeds=num_seeds)
    return ppo.Args(**{**settings, **kw})


def _logged():
    logs = {}
    return logs, lambda tag, value, step, agent=0: logs.setdefault((agent, tag), []).append((step, value))


@pytest.mark.parametrize("settings", [
    dict(),
    # continuous actions, both normalisers, and a target_kl that stops agents at different epochs
    dict(env_id="Pendulum", norm_obs=True, norm_reward=True, target_kl=0.0005, clip_vloss=False, learning_rate=3e-3),
    dict(shared_network=True, ent_coef=0.0, anneal_lr=False, max_grad_norm=0.1, norm_adv=False),
], ids=["cartpole", "pendulum-normalised-target-kl", "shared"])
def test_agent_k_of_a_population_is_the_run_with_seed_plus_k(settings):
    """Bit for bit on the CPU: parameters, Adam state, normalisers and every logged figure of
    agent k are those of the run with seed 3 + k alone."""
    logs, log = _logged()
    steps = []  # each agent's Adam step count after each iteration
    population, obs_norm = ppo.train(_small(3, 3, **settings), log=log,
                                     callback=lambda _, snapshot: steps.append(snapshot()["optimizer"]["step_count"]))
    returns = set()
    for k in range(3):
        alone_logs, alone_log = _logged()
        alone, alone_norm = ppo.train(_small(3 + k, 1, **settings), log=alone_log)
        for (name, a), (_, b) in zip(population.state_dict().items(), alone.state_dict().items()):
            np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0], err_msg=f"agent {k}: {name}")
        if obs_norm is not None:
            for (name, a), (_, b) in zip(obs_norm.state_dict().items(), alone_norm.state_dict().items()):
                np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0], err_msg=f"agent {k}: {name}")
        mine = {tag: values for (agent, tag), values in logs.items() if agent == k and tag != "charts/SPS"}
        theirs = {tag: values for (_, tag), values in alone_logs.items() if tag != "charts/SPS"}
        assert mine == theirs and "charts/episodic_return" in mine, f"agent {k}"
        returns.add(tuple(v for _, v in mine["charts/episodic_return"]))
    assert len(returns) == 3  # the agents played their own episodes
    if "target_kl" in settings:  # and stopped their updates at their own epochs
        assert any(len(set(counts.tolist())) > 1 for counts in steps), steps


def test_a_diverged_agent_is_frozen_and_reported_and_the_others_go_on(monkeypatch):
    """Agent 1's loss made NaN from its first update: it keeps its initial parameters and never
    steps, while agents 0 and 2 end exactly as their single runs."""
    original = ppo.clipped_loss

    def poisoned(*args):
        loss, stats = original(*args)
        mask = np.zeros(loss.shape, np.float32)
        mask[1] = np.nan
        return loss + ad.tensor(mask), stats

    monkeypatch.setattr(ppo, "clipped_loss", poisoned)
    population, _ = ppo.train(_small(3, 3))
    monkeypatch.setattr(ppo, "clipped_loss", original)
    assert list(population.diverged) == [1] and "PPO loss became nan" in population.diverged[1][1]
    start, _ = ppo.build(_small(4, 1), envs.make("CartPole"), models=1)
    for (name, a), (_, b) in zip(population.state_dict().items(), start.state_dict().items()):
        np.testing.assert_array_equal(a.numpy()[1], b.numpy()[0], err_msg=name)
    for k in (0, 2):
        alone, _ = ppo.train(_small(3 + k, 1))
        for a, b in zip(population.parameters(), alone.parameters()):
            np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0])


def test_a_one_agent_run_stops_when_its_loss_diverges(monkeypatch):
    original = ppo.clipped_loss
    monkeypatch.setattr(ppo, "clipped_loss", lambda *a: (original(*a)[0] * float("nan"), original(*a)[1]))
    with pytest.raises(TrainingDiverged, match="the PPO loss became nan at step 256"):
        ppo.train(_small(3, 1))

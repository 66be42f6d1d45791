"""algos/rppo.py: recurrent rollouts keep hidden states aligned with their steps, the update
replays them exactly, truncations bootstrap with the memory the policy had, settings are checked;
populations, agent by agent against single runs. Agents are stacks (of one here but the last)."""

import numpy as np
import pytest

import autodiff as ad
import envs
from algos import rppo


class Recorder:
    """An env wrapper that keeps every step's info (for final observations)."""

    def __init__(self, env):
        self.env, self.infos = env, []

    def __getattr__(self, name):
        return getattr(self.env, name)

    def step(self, actions):
        out = self.env.step(actions)
        self.infos.append(out[4])
        return out


def rollout(env_id, rnn, seed=0, num_envs=6, num_steps=40, shared_rnn=False, **env_params):
    args = rppo.Args(env_id=env_id, num_envs=num_envs, num_steps=num_steps, num_minibatches=1, rnn=rnn,
                     rnn_hidden_size=8, hidden_sizes=(8,), seed=seed, shared_rnn=shared_rnn)
    env = Recorder(envs.make(env_id, num_envs=num_envs, seed=seed, **env_params))
    agent, _ = rppo.build(args, env, models=1)
    buf = rppo.RecurrentRollout(num_steps, num_envs, (2,), (), "int64", agent.state_size)
    raw, _ = env.reset(seed=seed)
    carry = (observe(raw), raw, agent.initial_state(num_envs), ad.ones(1, num_envs, dtype="bool"))
    carry = rppo.collect(agent, env, buf, carry, ad.Generator([seed]), args, observe)
    return args, env, agent, buf, carry


def observe(raw):
    return ad.tensor(raw).reshape(1, raw.shape[0], -1)


@pytest.mark.parametrize("rnn, shared_rnn", [("gru", False), ("lstm", False), ("gru", True)])
def test_replaying_a_rollout_gives_the_values_and_log_probs_it_acted_with(rnn, shared_rnn):
    # MemoryCue episodes last 3-6 steps here, so every sub-env resets several times, at its own steps.
    _, _, agent, buf, carry = rollout("MemoryCue", rnn, shared_rnn=shared_rnn, min_length=2, max_length=5)
    starts = buf.starts.numpy()[0]
    assert starts[0].all() and starts[1:].sum() > 30
    assert len({tuple(np.flatnonzero(starts[:, b])) for b in range(starts.shape[1])}) > 1
    with ad.no_grad():
        actor, critic = agent.sequence(buf.obs, buf.initial_state, buf.starts)
        values = agent.value(critic)
        logprobs = agent.dist(actor).log_prob(buf.actions)
    np.testing.assert_allclose(values.numpy(), buf.values.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logprobs.numpy(), buf.logprobs.numpy(), rtol=1e-5, atol=1e-6)
    # Without the resets, the same replay disagrees: the starts carry information.
    with ad.no_grad():
        unreset = agent.value(agent.sequence(buf.obs, buf.initial_state, None)[1])
    assert np.abs(unreset.numpy() - buf.values.numpy()).max() > 1e-4


def test_the_next_rollout_starts_from_the_state_the_last_one_ended_in():
    args, env, agent, buf, carry = rollout("MemoryCue", "gru", shared_rnn=True, min_length=2, max_length=5)
    with ad.no_grad():
        states, final = agent.core.rnn.scan(agent.core.encoder(buf.obs), buf.initial_state, buf.starts)
    np.testing.assert_allclose(carry[2].numpy(), final.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(carry[3], buf.dones.numpy()[:, -1].astype(bool))
    second = rppo.RecurrentRollout(args.num_steps, args.num_envs, (2,), (), "int64", agent.state_size)
    rppo.collect(agent, env, second, carry, ad.Generator([1]), args, observe)
    np.testing.assert_array_equal(second.initial_state.numpy(), carry[2].numpy())
    np.testing.assert_array_equal(second.starts[:, 0], carry[3])


def test_truncated_steps_bootstrap_with_the_memory_the_policy_had():
    args, env, agent, buf, _ = rollout("CartPoleNoVel", "gru", shared_rnn=True, max_episode_steps=7)
    with ad.no_grad():
        states, _ = agent.core.rnn.scan(agent.core.encoder(buf.obs), buf.initial_state, buf.starts)
    checked = 0
    for t, info in enumerate(env.infos):
        for b in np.flatnonzero(info.get("_final_obs", np.zeros(args.num_envs, bool))):
            with ad.no_grad():
                _, critic, _ = agent.step(observe(info["final_obs"][b:b + 1]), states[:, t, b:b + 1])
                expected = 1.0 + args.gamma * float(agent.value(critic)[0, 0])
            assert float(buf.rewards[0, t, b]) == pytest.approx(expected, rel=1e-5)
            checked += 1
    assert checked >= args.num_envs * 4  # every sub-env was cut at 7 steps, several times


@pytest.mark.parametrize("field, value, message", [
    ("num_minibatches", 4, "num_envs \\(6\\) must split into 4 equal groups"),
    ("rnn", "rnn", "rnn must be gru or lstm"),
    ("rnn_hidden_size", 0, "rnn_hidden_size must be positive"),
    ("shared_network", True, "shared_network is ppo's; .* share their recurrent core with shared_rnn"),
])
def test_bad_settings_are_named(field, value, message):
    args = rppo.Args(num_envs=6, num_steps=8, num_minibatches=2)
    setattr(args, field, value)
    with pytest.raises(ValueError, match=message):
        args.validate()


def test_evaluation_policy_carries_memory_between_calls():
    env = envs.make("MemoryCue", num_envs=4, seed=0)
    args = rppo.Args(env_id="MemoryCue", num_envs=4, num_minibatches=1, rnn_hidden_size=8, hidden_sizes=(8,))
    agent, _ = rppo.build(args, env, models=1)
    act = rppo.policy(agent)
    act.reset(4)
    obs, _ = env.reset()
    first = act.state.numpy().copy()
    act(observe(obs))
    assert not np.array_equal(act.state.numpy(), first)
    act.reset(2)
    assert act.state.shape == (1, 2, agent.state_size) and not act.state.numpy().any()


def _small(seed, num_seeds, **kw):
    settings = dict(env_id="CartPoleNoVel", total_timesteps=1536, num_envs=8, num_steps=32, num_minibatches=2,
                    update_epochs=3, hidden_sizes=(8,), rnn_hidden_size=8, seed=seed, num_seeds=num_seeds)
    return rppo.Args(**{**settings, **kw})


@pytest.mark.parametrize("settings", [
    dict(),
    dict(rnn="lstm", norm_obs=True, norm_reward=True, target_kl=0.0005, learning_rate=3e-3),
    dict(env_id="PendulumNoVel", shared_rnn=True, norm_obs=True),
], ids=["gru", "lstm-normalised-target-kl", "pendulum-shared"])
def test_agent_k_of_a_population_is_the_run_with_seed_plus_k(settings):
    """Bit for bit on the CPU, through the stacked recurrent scan and its backward: parameters
    and every logged figure of agent k are those of the run with seed 3 + k alone."""
    logs = {}
    population, _ = rppo.train(_small(3, 3, **settings),
                               log=lambda tag, v, step, agent=0: logs.setdefault((agent, tag), []).append(v))
    for k in range(3):
        alone_logs = {}
        alone, _ = rppo.train(_small(3 + k, 1, **settings),
                              log=lambda tag, v, step, agent=0: alone_logs.setdefault(tag, []).append(v))
        for (name, a), (_, b) in zip(population.state_dict().items(), alone.state_dict().items()):
            np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0], err_msg=f"agent {k}: {name}")
        mine = {tag: v for (agent, tag), v in logs.items() if agent == k and tag != "charts/SPS"}
        assert mine == {tag: v for tag, v in alone_logs.items() if tag != "charts/SPS"}, f"agent {k}"

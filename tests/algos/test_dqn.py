"""algos/dqn.py: schedule, target updates and double-DQN targets against numpy; bad input;
a short run that learns."""

import numpy as np
import pytest

import autodiff as ad
import envs
from algos import dqn


def test_epsilon_schedule():
    args = dqn.Args(total_timesteps=1000, start_e=1.0, end_e=0.1, exploration_fraction=0.5)
    np.testing.assert_allclose([dqn.epsilon(args, s) for s in (0, 250, 500, 900)], [1.0, 0.55, 0.1, 0.1])


@pytest.mark.parametrize("tau", [1.0, 0.05])
def test_target_update(tau):
    env = envs.make("CartPole", num_envs=1)
    q, _ = dqn.build(dqn.Args(), env)
    target, _ = dqn.build(dqn.Args(), env)
    before = [t.numpy().copy() for t in target.parameters()]
    dqn.update_target(target, q, tau)
    for t, p, b in zip(target.parameters(), q.parameters(), before):
        np.testing.assert_allclose(t.numpy(), tau * p.numpy() + (1 - tau) * b, rtol=1e-6)


def test_double_dqn_target_against_numpy():
    rng = np.random.default_rng(0)
    env = envs.make("CartPole", num_envs=1)
    ad.manual_seed(0)  # the networks' weights, whatever ran before in this process
    q, _ = dqn.build(dqn.Args(), env)
    target, _ = dqn.build(dqn.Args(), env)
    next_obs = rng.standard_normal((5, 4)).astype(np.float32)
    qn, tn = q(ad.tensor(next_obs)).numpy(), target(ad.tensor(next_obs)).numpy()
    double = tn[np.arange(5), qn.argmax(1)]
    best = q(ad.tensor(next_obs)).argmax(-1)
    ours = target(ad.tensor(next_obs)).gather(-1, best.unsqueeze(-1)).squeeze(-1).numpy()
    np.testing.assert_allclose(ours, double, rtol=1e-6)
    assert not np.allclose(double, tn.max(1))  # the two estimators differ on this batch


def test_continuous_env_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"DQN needs a discrete action space; Pendulum has Box\(.*\); use ppo for continuous actions"):
        dqn.build(dqn.Args(env_id="Pendulum"), envs.make("Pendulum"))


@pytest.mark.parametrize("field, value, message", [
    ("tau", 0.0, "tau must be in"), ("loss", "l1", "unknown loss 'l1'; valid: huber, mse"),
    ("batch_size", 0, "batch_size must be positive"), ("end_e", 2.0, "end_e must be in \\[0, 1\\], got 2.0"),
    ("start_e", 0.01, "end_e \\(0.05\\) must not exceed start_e \\(0.01\\)"),
    ("learning_starts", 50_000, "learning_starts \\(50000\\) must be less than total_timesteps"),
    ("buffer_size", 64, "batch_size \\(128\\) must not exceed buffer_size \\(64\\)"),
    ("hidden_sizes", (64, 0), "every entry of hidden_sizes must be positive, got 0"),
    ("max_grad_norm", -1.0, "max_grad_norm must be positive, got -1.0"),
])
def test_bad_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        dqn.Args(**{field: value}).validate()


def test_short_run_learns_cartpole():
    args = dqn.Args(total_timesteps=20_000, num_envs=4, learning_rate=1e-3, batch_size=64, learning_starts=1000,
                    target_network_frequency=250, train_frequency=16, gradient_steps=4, exploration_fraction=0.2,
                    end_e=0.02, hidden_sizes=(64, 64), seed=0)
    logged = {}
    q, _ = dqn.train(args, log=lambda tag, v, step, agent=0: logged.setdefault(tag, []).append(v))
    assert {"losses/td_loss", "losses/q_values", "charts/epsilon", "charts/episodic_return"} <= set(logged)
    from rl.evaluate import evaluate

    (returns, _), = evaluate(dqn.policy(q), "CartPole", 20, seed=[5])
    assert np.mean(returns) > 60  # a random policy averages about 22


def _small(seed, num_seeds, **kw):
    return dqn.Args(total_timesteps=3000, num_envs=4, learning_starts=500, train_frequency=100, gradient_steps=4,
                    batch_size=32, hidden_sizes=(32, 32), double_dqn=True, target_network_frequency=100,
                    max_grad_norm=1.0, anneal_lr=True, seed=seed, num_seeds=num_seeds, **kw)


def test_agent_k_of_a_population_is_the_run_with_seed_plus_k():
    """Bit for bit on the CPU: networks, Adam state, replay buffers, epsilon draws and envs are
    each agent's own, and every op on the stack gives each agent the single run's result."""
    population, _ = dqn.train(_small(3, 3))
    for k in range(3):
        alone, _ = dqn.train(_small(3 + k, 1))
        for (name, a), (_, b) in zip(population.named_parameters(), alone.named_parameters()):
            np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0], err_msg=f"agent {k}: {name}")


def test_a_diverged_agent_is_frozen_and_reported_and_the_others_go_on(monkeypatch):
    """Agent 1's loss made NaN at its first round: it keeps its parameters from before and never
    steps again; agents 0 and 2 end exactly as their single runs."""
    original = ad.smooth_l1_loss

    def poisoned(pred, target, reduction="mean", **kw):
        loss = original(pred, target, reduction=reduction, **kw)
        mask = np.zeros(loss.shape, np.float32)
        mask[1] = np.nan
        return loss + ad.tensor(mask)

    monkeypatch.setattr(ad, "smooth_l1_loss", poisoned)
    population, _ = dqn.train(_small(3, 3))
    monkeypatch.setattr(ad, "smooth_l1_loss", original)
    assert list(population.diverged) == [1] and "nan" in population.diverged[1][1]
    start = dqn.build(_small(4, 1), __import__("envs").make("CartPole"), models=1)[0]
    for (name, a), (_, b) in zip(population.named_parameters(), start.named_parameters()):
        np.testing.assert_array_equal(a.numpy()[1], b.numpy()[0], err_msg=name)
    for k in (0, 2):
        alone, _ = dqn.train(_small(3 + k, 1))
        for a, b in zip(population.parameters(), alone.parameters()):
            np.testing.assert_array_equal(a.numpy()[k], b.numpy()[0])

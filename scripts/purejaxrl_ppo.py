"""PureJaxRL's PPO recipe on gymnax's CartPole-v1, as a benchmark peer for numbarl.

PureJaxRL (github.com/luchris429/purejaxrl) is not a package, so this is our own script of its
recipe: the whole training run -- rollouts, GAE, every epoch and minibatch update -- is one pure
function `train(key)`, and `jax.jit(jax.vmap(train))` trains several seeds at once on the CPU.
It uses what PureJaxRL uses: flax (linen) for the networks, optax for the optimiser, gymnax for
the environment and distrax for the categorical policy. Episode returns are tracked the way
PureJaxRL's LogWrapper does (a return is reported on the step its episode ends). As in
PureJaxRL, which was written for gymnax < 1.0 and its single done flag, an episode that reaches
the 500-step limit counts as done and is not bootstrapped; gymnax >= 1.0 reports terminated and
truncated apart, and the script ORs them.

The settings are numbarl's tuned CartPole ones, shared by the comparison: 16 sub-envs x 128 steps
a rollout, 100,000 env steps (48 updates), 10 epochs of 2 minibatches, Adam (eps 1e-5) with the
learning rate 3e-3 annealed linearly to 0 per update as PureJaxRL's linear_schedule does, global
gradient norm clipped to 0.5, gamma 0.98, GAE lambda 0.95, clip 0.2, no value clipping, vf_coef
0.5, ent_coef 0.0, advantages normalised per minibatch, and separate tanh 64-64 actor and critic
with orthogonal init (sqrt 2; policy head 0.01, value head 1.0).

The packages come with numbarl's `bench` extra (pip install -e '.[bench]'); tested with
jax 0.10.2, flax 0.12.8, optax 0.2.8, gymnax 1.0.1, distrax 0.1.9 on Python 3.11. jax and the rest
are imported inside the functions, so importing this module does not need them.

    python scripts/purejaxrl_ppo.py --num-seeds K [--seed S] [--total-timesteps N]

prints one line of JSON: num_seeds; seconds, the whole training time from before make_train is
built to after the result is ready (jit compilation included); compile_seconds, the part spent
tracing and compiling; final_return_mean_per_seed, the mean return of the episodes that ended in
the last 10% of the updates, per seed; and the jax and gymnax versions. `run()` returns that dict.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from importlib import metadata

CONFIG = {
    "env_name": "CartPole-v1",
    "num_envs": 16,
    "num_steps": 128,
    "total_timesteps": 100_000,
    "update_epochs": 10,
    "num_minibatches": 2,
    "lr": 3e-3,
    "anneal_lr": True,
    "gamma": 0.98,
    "gae_lambda": 0.95,
    "clip_eps": 0.2,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "adam_eps": 1e-5,
}


def _actor_critic(num_actions):
    """A flax module: separate tanh 64-64 policy and value networks, orthogonally initialised."""
    import distrax
    import flax.linen as nn
    import jax.numpy as jnp
    import numpy as np
    from flax.linen.initializers import constant, orthogonal

    def dense(features, scale):
        return nn.Dense(features, kernel_init=orthogonal(scale), bias_init=constant(0.0))

    class ActorCritic(nn.Module):
        @nn.compact
        def __call__(self, obs):
            h = nn.tanh(dense(64, np.sqrt(2))(obs))
            h = nn.tanh(dense(64, np.sqrt(2))(h))
            logits = dense(num_actions, 0.01)(h)
            v = nn.tanh(dense(64, np.sqrt(2))(obs))
            v = nn.tanh(dense(64, np.sqrt(2))(v))
            value = dense(1, 1.0)(v)
            return distrax.Categorical(logits=logits), jnp.squeeze(value, axis=-1)

    return ActorCritic()


def make_train(config):
    """Return `train(key) -> {"train_state", "metrics"}`, a pure function of one PRNG key."""
    import gymnax
    import jax
    import jax.numpy as jnp
    import optax
    from flax.training.train_state import TrainState

    cfg = dict(config)
    n_envs, n_steps = cfg["num_envs"], cfg["num_steps"]
    batch = n_envs * n_steps
    n_updates = int(cfg["total_timesteps"] // batch)
    n_mb = cfg["num_minibatches"]
    mb_size = batch // n_mb
    assert mb_size * n_mb == batch, "the rollout must split into whole minibatches"
    gamma, lam, clip = cfg["gamma"], cfg["gae_lambda"], cfg["clip_eps"]

    env, env_params = gymnax.make(cfg["env_name"])
    net = _actor_critic(env.action_space(env_params).n)

    # Constant within an update, falling by lr / n_updates after each one: 0 would be reached
    # after the last update's optimiser steps.
    def lr_schedule(count):
        return cfg["lr"] * (1.0 - (count // (n_mb * cfg["update_epochs"])) / n_updates)

    tx = optax.chain(
        optax.clip_by_global_norm(cfg["max_grad_norm"]),
        optax.adam(lr_schedule if cfg["anneal_lr"] else cfg["lr"], eps=cfg["adam_eps"]),
    )

    def loss_fn(params, mb):
        pi, value = net.apply(params, mb["obs"])
        logp = pi.log_prob(mb["action"])
        value_loss = 0.5 * jnp.mean(jnp.square(value - mb["target"]))
        adv = mb["adv"]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = jnp.exp(logp - mb["logp"])
        surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip, 1.0 + clip) * adv)
        policy_loss = -surrogate.mean()
        entropy = pi.entropy().mean()
        total = policy_loss + cfg["vf_coef"] * value_loss - cfg["ent_coef"] * entropy
        return total, (value_loss, policy_loss, entropy)

    def train(key):
        key, k_init, k_reset = jax.random.split(key, 3)
        obs_shape = env.observation_space(env_params).shape
        params = net.init(k_init, jnp.zeros(obs_shape))
        state = TrainState.create(apply_fn=net.apply, params=params, tx=tx)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_reset, n_envs), env_params
        )
        # Running return and length of each sub-env's current episode.
        ep_ret = jnp.zeros(n_envs)
        ep_len = jnp.zeros(n_envs, dtype=jnp.int32)

        def rollout_step(carry, _):
            state, env_state, obs, ep_ret, ep_len, key = carry
            key, k_act, k_env = jax.random.split(key, 3)
            pi, value = net.apply(state.params, obs)
            action = pi.sample(seed=k_act)
            logp = pi.log_prob(action)
            stepped = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, n_envs), env_state, action, env_params
            )
            if len(stepped) == 6:  # gymnax >= 1.0: terminated and truncated apart
                next_obs, env_state, reward, terminated, truncated, _ = stepped
                done = jnp.logical_or(terminated, truncated)
            else:  # gymnax < 1.0, which PureJaxRL was written for: one done flag
                next_obs, env_state, reward, done, _ = stepped
            ep_ret = ep_ret + reward
            ep_len = ep_len + 1
            step = {
                "obs": obs, "action": action, "logp": logp, "value": value,
                "reward": reward, "done": done.astype(jnp.float32),
                "episode_done": done, "episode_return": ep_ret, "episode_length": ep_len,
            }
            # gymnax resets a finished sub-env inside step; restart its counters too.
            ep_ret = jnp.where(done, 0.0, ep_ret)
            ep_len = jnp.where(done, 0, ep_len)
            return (state, env_state, next_obs, ep_ret, ep_len, key), step

        def update(carry, _):
            carry, traj = jax.lax.scan(rollout_step, carry, None, n_steps)
            state, env_state, obs, ep_ret, ep_len, key = carry
            _, last_value = net.apply(state.params, obs)

            # GAE, backwards over the rollout; a done step does not bootstrap.
            def gae_step(carry, t):
                gae, next_value = carry
                not_done = 1.0 - t["done"]
                delta = t["reward"] + gamma * next_value * not_done - t["value"]
                gae = delta + gamma * lam * not_done * gae
                return (gae, t["value"]), gae

            _, adv = jax.lax.scan(
                gae_step, (jnp.zeros_like(last_value), last_value),
                {k: traj[k] for k in ("done", "reward", "value")}, reverse=True, unroll=16,
            )
            data = {
                "obs": traj["obs"], "action": traj["action"], "logp": traj["logp"],
                "adv": adv, "target": adv + traj["value"],
            }
            data = jax.tree_util.tree_map(lambda x: x.reshape((batch,) + x.shape[2:]), data)

            def epoch(carry, _):
                state, key = carry
                key, k_perm = jax.random.split(key)
                perm = jax.random.permutation(k_perm, batch)
                mbs = jax.tree_util.tree_map(
                    lambda x: jnp.take(x, perm, axis=0).reshape((n_mb, mb_size) + x.shape[1:]),
                    data,
                )

                def minibatch(state, mb):
                    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                        state.params, mb
                    )
                    return state.apply_gradients(grads=grads), (loss,) + aux

                state, losses = jax.lax.scan(minibatch, state, mbs)
                return (state, key), losses

            (state, key), losses = jax.lax.scan(
                epoch, (state, key), None, cfg["update_epochs"]
            )
            metrics = {
                "episode_done": traj["episode_done"],
                "episode_return": traj["episode_return"],
                "episode_length": traj["episode_length"],
                "loss": losses[0],
            }
            return (state, env_state, obs, ep_ret, ep_len, key), metrics

        carry = (state, env_state, obs, ep_ret, ep_len, key)
        carry, metrics = jax.lax.scan(update, carry, None, n_updates)
        return {"train_state": carry[0], "metrics": metrics}

    return train


def run(num_seeds, seed=0, total_timesteps=100_000):
    """Train `num_seeds` seeds at once; returns the dict the command line prints."""
    import jax
    import numpy as np

    config = dict(CONFIG, total_timesteps=total_timesteps)
    keys = jax.random.split(jax.random.PRNGKey(seed), num_seeds)

    start = time.perf_counter()
    train = jax.jit(jax.vmap(make_train(config)))
    compiled = train.lower(keys).compile()
    compile_seconds = time.perf_counter() - start
    out = compiled(keys)
    jax.block_until_ready(out)
    seconds = time.perf_counter() - start

    m = jax.device_get(out["metrics"])  # each (num_seeds, updates, num_steps, num_envs)
    n_updates = m["episode_done"].shape[1]
    tail = max(1, math.ceil(0.1 * n_updates))
    done = np.asarray(m["episode_done"][:, -tail:], dtype=bool)
    ret = np.asarray(m["episode_return"][:, -tail:])
    finals = [
        float(ret[i][done[i]].mean()) if done[i].any() else float("nan")
        for i in range(num_seeds)
    ]
    return {
        "num_seeds": num_seeds,
        "seconds": round(seconds, 3),
        "compile_seconds": round(compile_seconds, 3),
        "final_return_mean_per_seed": [round(r, 2) for r in finals],
        "jax": jax.__version__,
        "gymnax": metadata.version("gymnax"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num-seeds", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--total-timesteps", type=int, default=100_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.num_seeds, args.seed, args.total_timesteps)))


if __name__ == "__main__":
    main()

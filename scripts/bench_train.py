"""Whole-process wall time to a solved policy: numbarl's `python -m rl.train` against
Stable-Baselines3 (recurrent PPO: SB3-contrib) with its published RL-Zoo settings, each run as a
fresh process from this one.

    pip install -e '.[bench]'
    python scripts/bench_train.py [--seeds 1 2 3] [--only ppo-CartPole rppo-CartPoleNoVel ...]

A run counts from the command's start to its exit, imports, JIT compilation and the final
deterministic 100-episode evaluation included; CartPole is solved at a mean of 475 or more.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

# RL-Zoo's tuned hyperparameters (rl-baselines3-zoo, hyperparams/ppo.yml, ppo_lstm.yml and dqn.yml).
SB3_SCRIPT = r"""
import sys
import numpy as np
import torch
torch.set_num_threads(1)
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import get_linear_fn

algo, env_id, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
lin = lambda v: (lambda progress: progress * v)
eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 10_000) if env_id != "CartPoleNoVel" else None
if (algo, env_id) == ("ppo", "CartPole-v1"):
    env = make_vec_env(env_id, n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                ent_coef=0.0, learning_rate=lin(0.001), clip_range=lin(0.2), seed=seed, device="cpu")
    steps = 100_000
elif (algo, env_id) == ("dqn", "CartPole-v1"):
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
                gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu")
    steps = 50_000
elif (algo, env_id) == ("ppo", "Pendulum-v1"):
    env = make_vec_env(env_id, n_envs=4, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
                learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4, seed=seed, device="cpu")
    steps = 100_000
elif (algo, env_id) == ("rppo", "CartPoleNoVel"):
    # RL-Zoo's ppo_lstm.yml for CartPoleNoVel-v1 (its own wrapper: CartPole-v1 without velocities),
    # with VecNormalize as the Zoo's normalize: true.
    import gymnasium as gym
    import torch.nn as nn
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import VecNormalize

    class NoVel(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            high = env.observation_space.high[[0, 2]]
            self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)

        def observation(self, obs):
            return obs[[0, 2]]

    make = lambda n, s: make_vec_env("CartPole-v1", n_envs=n, seed=s, wrapper_class=NoVel)
    env = VecNormalize(make(8, seed))
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                         n_epochs=20, ent_coef=0.0, learning_rate=lin(0.001), clip_range=lin(0.2),
                         policy_kwargs=dict(ortho_init=False, activation_fn=nn.ReLU, lstm_hidden_size=64,
                                            enable_critic_lstm=True, net_arch=dict(pi=[64], vf=[64])),
                         seed=seed, device="cpu")
    steps = 100_000
model.learn(steps)
if eval_env is None:  # the training normalisation, frozen, and raw rewards
    eval_env = VecNormalize(make(1, seed + 10_000), training=False, norm_reward=False)
    eval_env.obs_rms = env.obs_rms
mean, std = evaluate_policy(model, eval_env, n_eval_episodes=100, deterministic=True)
print(f"eval: {mean:.2f} ± {std:.2f} over 100 episodes")
"""

CASES = {
    "ppo-CartPole": ("ppo", "CartPole", "CartPole-v1", 475.0),
    "dqn-CartPole": ("dqn", "CartPole", "CartPole-v1", 475.0),
    "ppo-Pendulum": ("ppo", "Pendulum", "Pendulum-v1", None),
    "rppo-CartPoleNoVel": ("rppo", "CartPoleNoVel", "CartPoleNoVel", 475.0),
}


def timed(cmd, env=None):
    t0 = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    match = re.search(r"eval: (-?[\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed: {' | '.join(tail)}")
    return seconds, float(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--no-sb3", action="store_true", help="time numbarl alone")
    args = parser.parse_args()
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    print(f"{'case':<14} {'seed':>4} {'numbarl s':>10} {'eval':>8} {'SB3 s':>8} {'eval':>8} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as logdir:
        for case in args.only:
            algo, ours_env, sb3_env, target = CASES[case]
            for seed in args.seeds:
                ours_s, ours_eval = timed([sys.executable, "-m", "rl.train", algo, ours_env, "--seed", str(seed),
                                           "--logdir", logdir], one_thread)
                if args.no_sb3:
                    sb3_s, sb3_eval = float("nan"), float("nan")
                else:
                    sb3_s, sb3_eval = timed([sys.executable, "-c", SB3_SCRIPT, algo, sb3_env, str(seed)], one_thread)
                solved = "" if target is None else ("" if ours_eval >= target else " (not solved)")
                print(f"{case:<14} {seed:>4} {ours_s:>10.1f} {ours_eval:>8.1f} {sb3_s:>8.1f} {sb3_eval:>8.1f} "
                      f"{ours_s / sb3_s:>6.2f}x{solved}", flush=True)


if __name__ == "__main__":
    main()

"""Tuned defaults per (algorithm, environment): what `python -m rl.train ALGO ENV` runs with
when no flag says otherwise. Measured on the 2-core development machine; see BENCHMARKS.md."""

from __future__ import annotations

# Keys are built-in env names; Gymnasium ids that alias them (CartPole-v1) find the same entry.
TUNED = {
    ("ppo", "CartPole"): dict(total_timesteps=100_000, num_envs=8, num_steps=128),
}

_ALIASES = {
    "CartPole-v1": "CartPole", "Pendulum-v1": "Pendulum", "MountainCar-v0": "MountainCar",
    "MountainCarContinuous-v0": "MountainCarContinuous", "Acrobot-v1": "Acrobot",
}


def tuned_defaults(algo: str, env: str) -> dict:
    return dict(TUNED.get((algo, _ALIASES.get(env, env)), {}))

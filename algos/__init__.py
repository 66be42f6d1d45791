"""Reinforcement-learning algorithms on autodiff: one file each (ppo.py, rppo.py, dqn.py), with the
pieces they share in their own modules: common.py (every algorithm), actor_critic.py (the PPO
family), rollout.py, gae.py, replay.py and normalize.py."""

from .common import Divergence, TrainingDiverged, env_actions, on_device, seeds_of, to_host  # noqa: F401

"""Reinforcement-learning algorithms on autodiff: one file each (ppo.py, dqn.py), with the pieces
they share in their own modules (rollout.py, replay.py, normalize.py)."""


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite: training stops, and the last good checkpoint is kept."""

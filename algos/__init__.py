"""Reinforcement-learning algorithms on autodiff: one file each (ppo.py, dqn.py), with the pieces
they share in their own modules (rollout.py, replay.py, normalize.py), and here."""


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite: training stops, and the last good checkpoint is kept."""


def on_device(env) -> bool:
    """Whether `env` keeps its arrays on the GPU (envs.make(..., device="cuda"))."""
    return getattr(env, "device", "cpu") == "cuda"


def env_actions(env, actions):
    """Actions as `env` takes them: the device array itself for a GPU env, numpy otherwise."""
    return actions.data if on_device(env) and actions.device == "cuda" else actions.numpy()


def to_host(array):
    """A GPU array copied to the host (checkpoints, logging); anything else as it is."""
    return array.copy_to_host() if hasattr(array, "copy_to_host") else array

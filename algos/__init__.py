"""Reinforcement-learning algorithms on autodiff: one file each (ppo.py, dqn.py), with the pieces
they share in their own modules (rollout.py, replay.py, normalize.py), and here."""

import math


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite: training stops, and the last good checkpoint is kept."""


def seeds_of(args) -> list:
    """The seeds of a run's agents: seed, seed + 1, ... (one agent without num_seeds)."""
    return [args.seed + k for k in range(getattr(args, "num_seeds", 1))]


def on_device(env) -> bool:
    """Whether `env` keeps its arrays on the GPU (envs.make(..., device="cuda"))."""
    return getattr(env, "device", "cpu") == "cuda"


def env_actions(env, actions):
    """Actions as `env` takes them: the device array itself for a GPU env, numpy otherwise."""
    return actions.data if on_device(env) and actions.device == "cuda" else actions.numpy()


def to_host(array):
    """A GPU array copied to the host (checkpoints, logging); anything else as it is."""
    return array.copy_to_host() if hasattr(array, "copy_to_host") else array


class Divergence:
    """Per-agent NaN handling for a population: an agent whose loss becomes NaN or infinite is
    put back to its parameters before the update and frozen (it acts on, but never steps again),
    and reported; the others go on. A run of one agent stops instead (TrainingDiverged), keeping
    its last good checkpoint."""

    def __init__(self, models):
        self.models = models
        self.active = [True] * models
        self.at = {}  # agent -> (step, what became non-finite)

    def keep(self, optimizer):
        """A copy of the parameters before an update (only worth it with agents to protect)."""
        bk = optimizer.params[0]._backend
        return bk.copy(optimizer.flat) if self.models > 1 else None

    def check(self, losses, step, optimizer, good, algo):
        bk = optimizer.params[0]._backend
        for a, value in enumerate(losses):
            if self.active[a] and not math.isfinite(float(value)):
                if self.models == 1:
                    raise TrainingDiverged(f"the {algo} loss became {float(value)} at step {step}")
                self.active[a] = False
                self.at[a] = (step, f"the {algo} loss became {float(value)}")
                bk.setitem(optimizer.flat, a, bk.getitem(good, a))
        if not any(self.active):
            raise TrainingDiverged(f"the {algo} loss became non-finite for every agent by step {step}")

    def state_dict(self):
        return {"active": list(self.active), "at": {str(a): list(v) for a, v in self.at.items()}}

    def load_state_dict(self, state):
        if state:
            self.active = [bool(a) for a in state["active"]]
            self.at = {int(a): (int(v[0]), str(v[1])) for a, v in state["at"].items()}

"""Batched environments: N sub-envs stepped by one compiled kernel, as Gymnasium vector envs.

    import envs
    env = envs.make("CartPole", num_envs=1024, seed=0)   # or "CartPole-v1", a plugin, any Gymnasium id
    obs, info = env.reset()
    obs, reward, terminated, truncated, info = env.step(actions)

Built-in envs reproduce Gymnasium's dynamics exactly: CartPole, Pendulum, MountainCar,
MountainCarContinuous, Acrobot; and, for recurrent policies, CartPoleNoVel and PendulumNoVel
(velocities hidden) and MemoryCue (recall a cue seen many steps before). Write your own as scalar functions (see examples/ and
envs/cartpole.py) and register it with `envs.register` or a `numbarl.envs` entry point.
"""

from .base import BatchedEnv, dynamics
from .checker import EnvCheckError, check_env
from .registry import ENTRY_POINT_GROUP, canonical, driver_source, gymnasium_id, list, make, register, spec
from .rng import uniform


for _name, _target, _aliases in [
    ("CartPole", "envs.cartpole:CartPole", ("CartPole-v1",)),
    ("Pendulum", "envs.pendulum:Pendulum", ("Pendulum-v1",)),
    ("MountainCar", "envs.mountain_car:MountainCar", ("MountainCar-v0",)),
    ("MountainCarContinuous", "envs.mountain_car_continuous:MountainCarContinuous", ("MountainCarContinuous-v0",)),
    ("Acrobot", "envs.acrobot:Acrobot", ("Acrobot-v1",)),
    # Partially observed, for recurrent policies (no Gymnasium counterpart).
    ("CartPoleNoVel", "envs.cartpole_novel:CartPoleNoVel", ()),
    ("PendulumNoVel", "envs.pendulum_novel:PendulumNoVel", ()),
    ("MemoryCue", "envs.memory_cue:MemoryCue", ()),
]:
    register(_name, _target, aliases=_aliases)

__all__ = ["BatchedEnv", "dynamics", "uniform", "make", "register", "list", "spec", "canonical",
           "gymnasium_id", "driver_source", "check_env", "EnvCheckError", "ENTRY_POINT_GROUP"]

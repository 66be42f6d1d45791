"""Any Gymnasium id as a batched env with numbarl's contract: same-step auto-reset (or the mode
asked for), in same-step mode a dense `final_obs` array with its `_final_obs` mask, and with
episode_statistics=True the statistics in `info["episode"]`."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from .autoreset import parse_mode
from .rng import check_seed


class GymnasiumEnv(VectorEnv):
    """Gymnasium's own vector env for `env_id` (its vectorised entry point when it has one, else
    SyncVectorEnv), stepped on the CPU."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, env_id: str, num_envs: int = 1, device: str = "cpu", seed: int | None = None,
                 episode_statistics: bool = False, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs):
        if device not in ("cpu", "auto"):
            raise ValueError(f"{env_id} runs through Gymnasium, on the CPU only; valid device: cpu")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"{env_id}: num_envs must be a positive integer, got {num_envs!r}")
        self.autoreset_mode = autoreset = parse_mode(autoreset_mode, env_id)
        self.metadata = {**self.metadata, "autoreset_mode": autoreset}
        spec = gym.spec(env_id)
        mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
        options = {"autoreset_mode": autoreset} if mode == "sync" else {}
        inner = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, vector_kwargs=options, **kwargs)
        if inner.metadata.get("autoreset_mode") != autoreset:
            inner.close()  # a vectorised entry point in another auto-reset mode: use the generic one
            inner = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                                 vector_kwargs={"autoreset_mode": autoreset}, **kwargs)
        # info["episode"] as numbarl's own envs write it: only when asked for
        self.env = gym.wrappers.vector.RecordEpisodeStatistics(inner) if episode_statistics else inner
        self.episode_statistics = bool(episode_statistics)
        self.env_id, self.num_envs, self.device, self.seed = env_id, int(num_envs), "cpu", seed
        self.single_observation_space = self.env.single_observation_space
        self.single_action_space = self.env.single_action_space
        self.observation_space, self.action_space = self.env.observation_space, self.env.action_space
        self.render_mode, self.closed = None, False
        self.gymnasium_id = env_id

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        # The seed given to make() seeds the first reset only, as numbarl's own envs take it:
        # later resets without one draw on, as Gymnasium's do (they all began alike before).
        seed, self.seed = (self.seed if seed is None else seed), None
        try:
            seed = check_seed(seed)
        except ValueError as e:
            raise ValueError(f"{self.env_id}.reset: {e}") from None
        if isinstance(seed, list) and len(seed) != self.num_envs:
            # K seeds for K blocks of sub-envs, each block seeded as Gymnasium seeds a vector env
            # of its size from one seed (s, s + 1, ...): a population's agent k gets its own envs.
            if not seed or self.num_envs % len(seed):
                raise ValueError(f"{len(seed)} seeds do not split {self.num_envs} sub-envs into equal blocks")
            block = self.num_envs // len(seed)
            seed = [None if s is None else s + i for s in seed for i in range(block)]
        # A copy: Gymnasium's vector envs pop "reset_mask" from the dict they are given.
        return self.env.reset(seed=seed, options=None if options is None else dict(options))

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        if "final_obs" in info:
            final = info["final_obs"]
            if final.dtype == object:  # Gymnasium keeps one array per sub-env, None where not done
                dense = obs.copy()  # as numbarl's own envs: an unfinished episode's current obs
                for i in np.flatnonzero(info["_final_obs"]):
                    dense[i] = final[i]
                info["final_obs"] = dense
        return obs, reward, terminated, truncated, info

    def get_state(self):
        """Gymnasium envs do not expose their state: a checkpoint stores None, and a resumed run
        starts fresh episodes (bit-exact resume needs one of numbarl's own envs)."""
        return None

    def set_state(self, state):
        if state is not None:
            raise ValueError(f"{self.env_id} runs through Gymnasium and cannot restore a saved state")
        self.reset()

    def close(self, **kwargs):
        self.env.close()
        self.closed = True

    def __repr__(self):
        return f"GymnasiumEnv({self.env_id!r}, num_envs={self.num_envs})"

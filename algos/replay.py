"""A replay buffer of preallocated tensors on one device, written in place, circularly.

Each transition stores the true next observation: with same-step auto-reset the observation an
env returns after a finished episode already belongs to the next one, so the buffer takes the
episode's last observation from `final_obs` instead. `done` is `terminated` only: a transition
cut by the time limit still bootstraps from its next state.
"""

from __future__ import annotations

import autodiff as ad


class ReplayBuffer:
    """`models=K`: one buffer of `capacity` per agent of a population, side by side (K, capacity,
    ...). Agents step together, so they fill at one position; `add` takes (K, N, ...) steps and
    `sample` draws each agent's minibatch from its own transitions with its own stream."""

    def __init__(self, capacity, obs_shape, action_shape=(), action_dtype="int64", device="cpu", models=None):
        if capacity <= 0:
            raise ValueError(f"the replay buffer needs a positive capacity, got {capacity}")
        self.capacity, self.device, self.models = int(capacity), device, models
        lead = (self.capacity,) if models is None else (models, self.capacity)
        self.obs = ad.zeros((*lead, *obs_shape), device=device)
        self.next_obs = ad.zeros((*lead, *obs_shape), device=device)
        self.actions = ad.zeros((*lead, *action_shape), dtype=action_dtype, device=device)
        self.rewards = ad.zeros(lead, device=device)
        self.dones = ad.zeros(lead, device=device)
        self.position, self.size = 0, 0
        # Row k of a population's draw reads agent k's transitions (made once: arange is a copy to the GPU).
        self.agents = None if models is None else ad.arange(models, device=device).unsqueeze(-1)

    @ad.no_grad()  # storage records no graph; the ops' fast path skips the bookkeeping
    def add(self, obs, next_obs, actions, rewards, terminated, truncated, final_obs=None):
        """Store one step of N sub-envs. Where an episode ended, `final_obs` (the env's
        info["final_obs"]) holds its real last observation."""
        axis = 0 if self.models is None else 1  # the sub-env axis
        n = obs.shape[axis]
        if n > self.capacity:
            raise ValueError(f"a step of {n} sub-envs does not fit a replay buffer of {self.capacity}")
        ended = terminated | truncated
        # On the GPU the mask does it all, with no host check of `ended` (a wait every step).
        if final_obs is not None and (ended.device == "cuda" or ended.any()):
            next_obs = ad.where(ended.reshape(ended.shape + (1,) * (next_obs.ndim - ended.ndim)), final_obs, next_obs)
        done = terminated.float()
        first = min(n, self.capacity - self.position)  # what fits before the end; the rest wraps
        for dst, src in ((slice(self.position, self.position + first), slice(0, first)),
                         (slice(0, n - first), slice(first, n))):
            if src.start == src.stop:
                continue
            whole = src.stop - src.start == n  # the usual case: no slicing op per field
            if axis:
                dst, src = (slice(None), dst), (slice(None), src)
            for stored, value in ((self.obs, obs), (self.next_obs, next_obs), (self.actions, actions),
                                  (self.rewards, rewards), (self.dones, done)):
                stored[dst] = value if whole else value[src]
        self.position = (self.position + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    @ad.no_grad()
    def sample(self, batch_size, rng):
        """A uniform minibatch (with replacement) of stored transitions."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self.models is None:
            index = (ad.rand(batch_size, generator=rng, dtype="float64", device=self.device) * self.size).long()
        else:  # row k of the draw comes from agent k's stream (a Generator of K seeds)
            index = (ad.rand(self.models, batch_size, generator=rng, dtype="float64", device=self.device)
                     * self.size).long()
            index = (self.agents, index)
        return (self.obs[index], self.actions[index], self.rewards[index], self.next_obs[index],
                self.dones[index])

    def state_dict(self) -> dict:
        return {"obs": self.obs.numpy(), "next_obs": self.next_obs.numpy(), "actions": self.actions.numpy(),
                "rewards": self.rewards.numpy(), "dones": self.dones.numpy(),
                "position": self.position, "size": self.size}

    def load_state_dict(self, state: dict):
        for name in ("obs", "next_obs", "actions", "rewards", "dones"):
            getattr(self, name).copy_(ad.tensor(state[name], device=self.device))
        self.position, self.size = int(state["position"]), int(state["size"])

"""`check_env`: tells a user, in plain sentences, what is wrong with their batched env."""

from __future__ import annotations

import warnings

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode


class EnvCheckError(ValueError):
    """The env breaks the batched-env contract; the message lists every problem found."""


class EnvCheckReport(str):
    """What check_env checked on an env that passed, as one line (it shows as itself in a REPL)."""

    def __repr__(self):
        return str(self)


def check_env(env, steps: int = 200, seed: int = 0) -> EnvCheckReport:
    """Run `env` through resets and `steps` random steps, checking spaces, shapes, dtypes, the
    contract of its auto-reset mode (metadata["autoreset_mode"], same-step if absent) and
    reproducibility. Raises EnvCheckError listing the problems; returns a one-line report of what
    it checked when there are none."""
    problems = []
    name = type(env).__name__

    def need(condition, sentence):
        if not condition:
            problems.append(sentence)
        return condition

    n = getattr(env, "num_envs", None)
    need(isinstance(n, (int, np.integer)) and n > 0, f"{name}.num_envs should be a positive integer, not {n!r}.")
    obs_space = getattr(env, "single_observation_space", None)
    act_space = getattr(env, "single_action_space", None)
    need(isinstance(obs_space, spaces.Space), f"{name}.single_observation_space should be a Gymnasium space, not {obs_space!r}.")
    need(isinstance(act_space, spaces.Space), f"{name}.single_action_space should be a Gymnasium space, not {act_space!r}.")
    if problems:
        raise EnvCheckError("\n".join(problems))

    def check_obs(obs, where):
        if not need(isinstance(obs, np.ndarray), f"{where} returned observations of type {type(obs).__name__}; "
                                                  "they should be a numpy array."):
            return
        need(obs.shape == (n, *obs_space.shape), f"{where} returned observations of shape {obs.shape}; "
                                                 f"with {n} sub-envs and {obs_space} they should be {(n, *obs_space.shape)}.")
        need(obs.dtype == obs_space.dtype, f"{where} returned observations of dtype {obs.dtype}; "
                                           f"the observation space says {obs_space.dtype}.")
        if obs.shape == (n, *obs_space.shape):
            outside = [i for i in range(n) if not obs_space.contains(obs[i].astype(obs_space.dtype))]
            need(not outside, f"{where} returned observations outside the observation space for "
                              f"sub-env(s) {outside[:5]}: e.g. {obs[outside[0]] if outside else ''}.")

    result = env.reset(seed=seed)
    if not need(isinstance(result, tuple) and len(result) == 2,
                "reset() should return (observations, info), a tuple of two."):
        raise EnvCheckError("\n".join(problems))
    obs, info = result
    check_obs(obs, "reset()")
    need(isinstance(info, dict), f"reset() returned info of type {type(info).__name__}; it should be a dict.")
    first = np.array(obs, copy=True)
    again, _ = env.reset(seed=seed)
    need(np.array_equal(first, again), "reset(seed=...) twice with the same seed gave different observations; "
                                       "seed every random draw from the seed.")

    rng = np.random.default_rng(seed)
    act_space.seed(int(rng.integers(2 ** 31)))
    saw_done, episodes = False, 0
    mode = getattr(env, "metadata", {}).get("autoreset_mode", AutoresetMode.SAME_STEP)
    ended = np.zeros(n, bool)  # NEXT_STEP: sub-envs whose next step starts a new episode
    for t in range(steps):
        actions = np.stack([act_space.sample() for _ in range(n)])
        result = env.step(actions)
        if not need(isinstance(result, tuple) and len(result) == 5,
                    "step() should return (observations, rewards, terminated, truncated, info), a tuple of five."):
            break
        obs, reward, terminated, truncated, info = result
        check_obs(obs, f"step() at step {t}")
        for label, array, kinds in (("rewards", reward, "fiu"), ("terminated", terminated, "b"), ("truncated", truncated, "b")):
            ok = isinstance(array, np.ndarray) and array.shape == (n,)
            need(ok, f"step() returned {label} as {type(array).__name__} of shape {getattr(array, 'shape', None)}; "
                     f"it should be a numpy array of shape ({n},).")
            if ok:
                need(array.dtype.kind in kinds, f"step() returned {label} of dtype {array.dtype}; "
                                                f"it should be {'boolean' if kinds == 'b' else 'numeric'}.")
        if problems:
            break
        need(np.isfinite(reward).all(), f"step() returned a non-finite reward at step {t}.")
        need(not (terminated & truncated).any(), f"step() marked a sub-env both terminated and truncated at step {t}; "
                                                 "an episode that ends by itself is terminated, not truncated.")
        done = terminated | truncated
        if mode is AutoresetMode.NEXT_STEP and ended.any():
            need(not reward[ended].any() and not done[ended].any(),
                 f"step() at step {t} started new episodes (next-step auto-reset) with a reward or a "
                 "terminated/truncated flag; a reset step has reward 0 and neither flag.")
        ended = done
        if done.any():
            saw_done = True
            episodes += int(done.sum())
            if mode is AutoresetMode.DISABLED:
                check_obs(env.reset(options={"reset_mask": done})[0], f"reset(reset_mask) after step {t}")
            # In the other modes the returned observation is the episode's last.
            if mode is AutoresetMode.SAME_STEP and need("final_obs" in info and "_final_obs" in info,
                    f"step() ended episodes at step {t} without info['final_obs'] and info['_final_obs']: "
                    "with same-step auto-reset the last observation of an episode must be reported."):
                final = np.asarray(info["final_obs"])
                need(final.shape == (n, *obs_space.shape), f"info['final_obs'] has shape {final.shape}; it should be "
                                                           f"{(n, *obs_space.shape)}, one row per sub-env.")
                need(np.array_equal(np.asarray(info["_final_obs"]), done),
                     "info['_final_obs'] should be True exactly for the sub-envs whose episode ended.")
            if getattr(env, "episode_statistics", True) and need(
                    "episode" in info, f"step() ended episodes at step {t} without info['episode'] "
                                       "(the finished episodes' return 'r' and length 'l')."):
                need({"r", "l"} <= set(info["episode"]), "info['episode'] should hold 'r' and 'l' arrays.")
        if problems:
            break
    if not problems and not saw_done:
        warnings.warn(f"check_env: no episode of {name} ended in {steps} random steps, so the end-of-episode "
                      "contract (final_obs, episode statistics) went unchecked; pass steps= to run longer.",
                      stacklevel=2)
    restored = False
    if not problems and hasattr(env, "get_state"):
        saved = env.get_state()
        if saved is not None:
            actions = np.stack([act_space.sample() for _ in range(n)])
            a = env.step(actions)[0]
            env.set_state(saved)
            b = env.step(actions)[0]
            need(np.array_equal(a, b), "set_state(get_state()) did not restore the env: the same actions "
                                       "then gave different observations.")
            restored = True
    if problems:
        raise EnvCheckError(f"{name} does not follow the batched-env contract:\n- " + "\n- ".join(problems))
    return EnvCheckReport(
        f"{name} follows the batched-env contract: {n} sub-envs, observations {_short(obs_space)}, actions "
        f"{_short(act_space)}, {getattr(mode, 'name', str(mode)).lower().replace('_', '-')} auto-reset; reset seeding reproduces, {steps} random steps ended "
        f"{episodes} episodes" + (", and set_state(get_state()) restores it" if restored else ""))


def _short(space) -> str:
    """A space as a reader wants it in one line: Box's shape and dtype, not its bounds."""
    return f"Box{space.shape} {space.dtype}" if isinstance(space, spaces.Box) else str(space)

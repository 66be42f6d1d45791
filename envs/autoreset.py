"""Gymnasium's three auto-reset modes (https://farama.org/Vector-Autoreset-Mode), as numbarl's
envs take them, and the `reset(options={"reset_mask": mask})` that resets some sub-envs only.

- SAME_STEP (numbarl's default, what its algorithms use): a finished sub-env's returned
  observation already starts its next episode; info["final_obs"] holds where the episode ended.
- NEXT_STEP (gym.make_vec's default): the step that ends an episode returns its last
  observation; the next step starts the new episode, ignoring its action, with reward 0 and
  neither flag set.
- DISABLED: a finished sub-env waits for `reset(options={"reset_mask": mask})`.
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode

# Accepted spellings: the enum, its values ("NextStep", Gymnasium's strings) and its names in
# either case ("next_step", as Python users write options).
_NAMES = {**{m.value: m for m in AutoresetMode}, **{m.name.lower(): m for m in AutoresetMode}}


def parse_mode(value, owner: str) -> AutoresetMode:
    """`value` as an AutoresetMode, or a ValueError naming the valid choices."""
    if isinstance(value, AutoresetMode):
        return value
    mode = (_NAMES.get(value) or _NAMES.get(value.lower())) if isinstance(value, str) else None
    if mode is None:
        raise ValueError(f"{owner}: unknown autoreset_mode {value!r}; valid: gymnasium.vector.AutoresetMode."
                         "SAME_STEP, NEXT_STEP or DISABLED, or 'same_step', 'next_step', 'disabled'")
    return mode


def reset_mask(options, num_envs: int, owner: str):
    """The boolean mask in options["reset_mask"] (None: reset every sub-env), checked as Gymnasium's
    vector envs check it, with a sentence instead of an assert. A device array passes unread."""
    mask = None if options is None else options.get("reset_mask")
    if mask is None:
        return None
    if hasattr(mask, "__cuda_array_interface__") or hasattr(mask, "copy_to_host"):
        if tuple(mask.shape) != (num_envs,) or np.dtype(mask.dtype) != np.bool_:
            raise ValueError(f"{owner}: a device reset_mask must be a bool array of shape ({num_envs},), "
                             f"got shape {tuple(mask.shape)} and dtype {mask.dtype}")
        return mask
    if not isinstance(mask, np.ndarray) or mask.shape != (num_envs,) or mask.dtype != np.bool_:
        got = f"shape {mask.shape} and dtype {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"{owner}: options['reset_mask'] must be a numpy bool array of shape ({num_envs},), "
                         f"one entry per sub-env, got {got}")
    if not mask.any():
        raise ValueError(f"{owner}: options['reset_mask'] selects no sub-env; leave it out to reset them all, "
                         "or set True where a sub-env should reset (Gymnasium refuses an empty mask too)")
    return np.ascontiguousarray(mask)

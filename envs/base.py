"""`BatchedEnv`: N sub-envs stepped together by one compiled driver, as a Gymnasium VectorEnv.

A subclass names its parameters (a NamedTuple, as frozen as gymnax's dataclasses and readable
inside compiled code), its state size, time limit and spaces; the scalar `reset`, `step` and
`observe` functions of its module are the dynamics. Everything else (batching, auto-reset,
truncation, final observations, episode statistics, seeding, validation) is written here once.
"""

from __future__ import annotations

import sys
import time
from collections import deque

import numba
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
import gymnasium as gym

from numbarl.malloc import keep_freed_memory_in_the_heap

from .autoreset import parse_mode, reset_mask
from .cuda_driver import CudaDriver, cuda_available
from .driver import LIMITS, load_driver, pack_params
from .rng import check_seed, seed_streams


def _on_device(array) -> bool:
    """A GPU array: numba's (or its simulator's, which has copy_to_host but not the interface), or
    any other library's that speaks the CUDA array interface (CuPy, PyTorch)."""
    return hasattr(array, "__cuda_array_interface__") or hasattr(array, "copy_to_host")


# What get_state / set_state carry. t: the episode's length so far, or -1 for an episode that
# ended and awaits its reset (NEXT_STEP and DISABLED modes).
_STATE = ("state", "t", "rng", "ep_return")
# What a step writes, in the driver's order: obs, reward, terminated, truncated, final_obs, the
# finished mask, and the finished episodes' return and length.
_OUTPUTS = ("_obs", "_reward", "_terminated", "_truncated", "_final_obs", "_done", "_done_return",
            "_done_length")
# What the compiled driver may be handed past numba's type checks (see _entry_point): numba's
# wrapper reads an array as the layout it was compiled for, C-ordered and aligned.
ALIGNED_C = ("C_CONTIGUOUS", "ALIGNED")
RECYCLE = 3  # sets of step outputs the env keeps, to reuse once the caller has let go of them


def _unheld() -> int:
    """What sys.getrefcount reports, through the same call as in step(), for an array that only
    the env's own tuples refer to (the count depends on the Python version)."""
    outputs = (np.empty(0),)
    args = (None,) + outputs  # noqa: F841 (held, as _handed_out holds a set's argument list)
    return max(map(sys.getrefcount, outputs))


_UNHELD = _unheld()

# From this many sub-envs the driver may step them on all cores. Measured on 2 cores (BENCHMARKS.md):
# idle, two threads win from ~512 sub-envs (1.6x at 1,024, 2x at 4,096); with another process
# busy on one core, two OpenMP threads lose at every size, at times 50x (a worker waiting for a
# time slice stalls a step for milliseconds, though most steps still run fast). So from this size
# the env times both drivers for up to PROBE_STEPS steps and keeps the one faster on average, and
# probes again later (after ADAPT_EVERY steps, doubling up to ADAPT_MAX while the choice holds):
# the load on a machine changes while it trains. A stalled parallel probe ends the probe at once,
# so probing costs little on a busy machine, and a kept parallel driver is timed on every step:
# once WATCH of its steps have cost more than WATCH serial ones would have, serial takes over.
# envs.base.PARALLEL_FROM = 10**9 keeps one thread.
PARALLEL_FROM = 1024
PROBE_STEPS = 16
ADAPT_EVERY = 2048
ADAPT_MAX = 2048 * 64
WATCH = 128


class _StateArray:
    """One of an env's state arrays (state, t, rng, ep_return). The compiled driver holds the
    arrays themselves, so assigning to the attribute writes the new values into the array in
    place (same shape required) rather than rebinding it: env.state = x is env.state[...] = x."""

    def __set_name__(self, owner, name):
        self.name, self.slot = name, "_" + name

    def __get__(self, env, owner=None):
        return self if env is None else getattr(env, self.slot)

    def __set__(self, env, value):
        env._set_array(self.name, value, "")


class BatchedEnv(VectorEnv):
    """Base class of numbarl's compiled envs (see envs/cartpole.py for a complete example)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
    state, t, rng, ep_return = _StateArray(), _StateArray(), _StateArray(), _StateArray()
    Params: type = None          # a NamedTuple subclass with a default for every field
    state_size: int = 0          # floats of state per sub-env
    max_episode_steps: int = 0   # the time limit (0: none)
    gymnasium_id: str | None = None
    # The reset(options={...}) keys of the Gymnasium counterpart that say where an episode starts,
    # each with the Params field it sets for that reset only (CartPole: {"low": "init_low", ...}).
    reset_options: dict = {}

    @staticmethod
    def spaces(params):
        """(single observation space, single action space) for these parameters."""
        raise NotImplementedError

    def __init__(self, num_envs: int = 1, device: str = "cpu", seed: int | None = None, copy: bool = True,
                 max_episode_steps: int | None = None, episode_statistics: bool = False,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP, **params):
        name = type(self).__name__
        self.autoreset_mode = parse_mode(autoreset_mode, name)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        # Read by every step that ends an episode: an enum member costs ~100 ns to look up.
        self._final_obs_in_info = self.autoreset_mode is AutoresetMode.SAME_STEP
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"{name}: num_envs must be a positive integer, got {num_envs!r}")
        if device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"{name}: unknown device {device!r}; valid: cpu, cuda, auto")
        if device != "cpu" and not cuda_available():
            if device == "cuda":
                from numbarl.cuda import unavailable

                raise ValueError(f"{name}: {unavailable()}")
            device = "cpu"
        device = "cuda" if device == "auto" else device
        unknown = sorted(set(params) - set(self.Params._fields))
        if unknown:
            raise TypeError(f"{name} has no parameter {', '.join(map(repr, unknown))}; "
                            f"valid: {', '.join(self.Params._fields)}")
        self.params = self.Params(**params)
        self.num_envs, self.device, self.copy = int(num_envs), device, copy
        # info["episode"], the finished episodes' return and length, only when asked for (numbarl's
        # algorithms ask): it is the key Gymnasium's RecordEpisodeStatistics writes, and refuses to
        # find taken. The driver sums the returns either way, so asking costs nothing.
        self.episode_statistics = bool(episode_statistics)
        self._max_steps = self._time_limit(self.max_episode_steps if max_episode_steps is None else max_episode_steps)
        self.single_observation_space, self.single_action_space = self.spaces(self.params)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self.closed = False
        n, obs_shape = self.num_envs, self.single_observation_space.shape
        self._state = np.zeros((self.state_size, n), np.float32)  # one row per field: struct of arrays
        self._t = np.zeros(n, np.int64)
        self._rng = self._seed_streams(seed, "")[1] if seed is not None else seed_streams(None, n)
        self._ep_return = np.zeros(n)
        obs_dtype = self.single_observation_space.dtype
        self._layout = (((n, *obs_shape), obs_dtype), (n, np.float64), (n, np.bool_), (n, np.bool_),
                        ((n, *obs_shape), obs_dtype), (n, np.bool_), (n, np.float64), (n, np.int64))
        for name, (shape, dtype) in zip(_OUTPUTS, self._layout):  # what copy=False hands out
            setattr(self, name, np.zeros(shape, dtype))
        self._discrete = isinstance(self.single_action_space, gym.spaces.Discrete)
        num_actions = int(self.single_action_space.n) if self._discrete else 0
        # What the compiled driver reads the parameters, the time limit and the action count from.
        self._packed = pack_params(self.params, type(self).__name__, self._max_steps, num_actions)
        self._action_shape = (n,) if self._discrete else (n, *self.single_action_space.shape)
        self._action_dtype = np.dtype(np.int64 if self._discrete else np.float32)
        self._needs_reset = True
        self._load_driver()

    def _load_driver(self):
        """The compiled driver over the env's arrays, and what a step hands it: the end of
        __init__, and of unpickling (a driver is a module and its entry points compiled code,
        which do not pickle; __setstate__ loads them again)."""
        n = self.num_envs
        self._handed_out = deque(maxlen=RECYCLE)
        if self.device == "cuda":
            self._to_device()
            return
        keep_freed_memory_in_the_heap()  # the arrays a step returns are fresh: reuse heap pages
        self._driver = load_driver(self)
        # Everything a step passes the CPU driver but the actions and the outputs, in the driver's
        # order (envs/driver.py, STEP_ARGS): the env's own arrays, only ever written in place.
        self._fixed = (self.state, self.t, self.rng, self.ep_return, self._packed)
        self._own_outputs = tuple(getattr(self, name) for name in _OUTPUTS)  # what copy=False hands out
        self._own = self._fixed + self._own_outputs
        self._serial = self._entry_point(self._driver.step_serial)
        self._parallel = self._entry_point(self._driver.step_parallel) if n >= PARALLEL_FROM else None
        self._step_all = self._parallel or self._serial
        self._adaptive = n >= PARALLEL_FROM  # False pins the driver in _step_all (tests, benchmarks)
        self._calls, self._next_probe, self._interval = 0, 0, ADAPT_EVERY
        self._probe, self._probe_left = ([], []), 0
        self._serial_mean, self._watched, self._watch_left = float("inf"), 0.0, WATCH

    # Unpicklable (modules, compiled code, tuples of the arrays) or rebuilt by _load_driver.
    _DRIVER_ATTRS = ("_driver", "_fixed", "_own_outputs", "_own", "_serial", "_parallel", "_step_all",
                     "_handed_out")

    def __getstate__(self):
        """pickle and copy.deepcopy (as Gymnasium's vector envs allow): everything but the
        compiled driver, with a GPU env's arrays copied to the host (its new copy puts them on a
        GPU again)."""
        state = {k: v for k, v in self.__dict__.items() if k not in self._DRIVER_ATTRS}
        if self.device == "cuda":
            state.update({k: self._host(v) for k, v in state.items() if _on_device(v)})
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._load_driver()

    def _to_device(self):
        """device='cuda': the same arrays, on the GPU, stepped by the same dynamics compiled into
        CUDA kernels (envs/cuda_driver.py). They live in one device buffer, so a step launches
        with two array arguments; each attribute is a view of it."""
        self._driver = CudaDriver(self)
        for name, view in self._driver.attributes.items():
            setattr(self, name, view)
        self._adaptive = False

    # -- the Gymnasium API ------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode in every sub-env (reproducibly, given `seed`: one seed, or a list of
        K seeds for K equal blocks of sub-envs, envs.rng.seed_streams), or, as Gymnasium's vector
        envs do, only where options["reset_mask"] is True (a seed then reseeds those sub-envs
        alone); the others keep their episode and their observation."""
        name = type(self).__name__
        mask = reset_mask(options, self.num_envs, name)
        if mask is not None and self._needs_reset:
            raise RuntimeError(f"{name}: the first reset() starts every sub-env; pass a reset_mask only after it")
        seed, streams = self._seed_streams(seed, ".reset")
        super().reset(seed=seed[0] if isinstance(seed, list) else seed)  # np_random, as Gymnasium seeds it
        if seed is not None:
            if mask is not None:
                streams = np.where(self._host(mask), streams, self._host(self.rng))
            self._write("rng", streams)
        start = self._start_params(options)
        if start is not None:  # this reset only: later ones (auto-resets too) start as before
            own = self._host(self._packed).copy()
            self._write("_packed", start)
        try:
            obs = self._reset(mask)
        finally:
            if start is not None:
                self._write("_packed", own)
        self._needs_reset = False
        return obs, {}

    def _reset(self, mask):
        if self.device == "cuda":
            self._driver.reset(mask)
            return self._obs
        obs = self._new_obs()
        self._driver.reset_all(self.state, self.t, self.rng, self.ep_return, self._packed, obs,
                               np.ones(self.num_envs, np.bool_) if mask is None else mask)
        return obs

    def _start_params(self, options):
        """The packed parameters for a reset given Gymnasium's options on where episodes start
        (reset_options: CartPole's "low" and "high", Pendulum's "x_init" and "y_init", ...),
        checked as Gymnasium checks them; None when options set none of them. Other keys are
        ignored, as Gymnasium's envs ignore them."""
        given = {key: options[key] for key in self.reset_options
                 if options and options.get(key) is not None}
        if not given:
            return None
        name, values = type(self).__name__, {}
        for key, value in given.items():
            if self.reset_options[key] not in self.Params._fields:  # a subclass with Params of its own
                raise ValueError(f"{name}.reset: options[{key!r}] is not supported: {self.Params.__name__} has no "
                                 f"{self.reset_options[key]} parameter (it starts episodes at its base's default)")
            try:
                values[self.reset_options[key]] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name}.reset: options[{key!r}] must be a number, got {value!r}") from None
            if not np.isfinite(values[self.reset_options[key]]):
                raise ValueError(f"{name}.reset: options[{key!r}] must be finite, got {value!r}")
        params = self.params._replace(**values)
        if {"low", "high"} <= set(self.reset_options):
            low, high = (getattr(params, self.reset_options[k]) for k in ("low", "high"))
            if low > high:
                raise ValueError(f"{name}.reset: options['low'] ({low}) must not be above options['high'] ({high})")
        packed = self._host(self._packed).copy()
        packed[:len(params)] = pack_params(params, name)
        return packed

    def _seed_streams(self, seed, where: str):
        """The seed checked (envs.rng.check_seed) and the sub-envs' RNG streams it starts (None
        for seed None: the streams run on), or a ValueError naming the env."""
        try:
            seed = check_seed(seed)
            return seed, None if seed is None else seed_streams(seed, self.num_envs)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}{where}: {e}") from None

    def step(self, actions):
        """Advance every sub-env by one action; finished ones start their next episode in the
        same step (or the next, or at reset(), as autoreset_mode says). With copy=True (the default) the returned arrays are the caller's alone (new,
        or a set reused once the caller holds none of them); with copy=False they are the env's
        own, overwritten by the next step. Where no episode ended, info is
        empty; otherwise it holds final_obs in SAME_STEP mode (rows where _final_obs is False hold
        the current observation) and, with episode_statistics, episode: r, l (0 where _episode is
        False)."""
        if self._needs_reset:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step()")
        if self.device == "cuda":
            return self._step_cuda(self._check_actions(actions))
        if (type(actions) is not np.ndarray or actions.dtype is not self._action_dtype
                or actions.shape != self._action_shape or not actions.flags.carray):
            actions = self._check_actions(actions)  # converts, or says what is wrong
        if self.copy:  # a set of outputs handed out before that nobody holds any more, or a new one
            for outputs, args in self._handed_out:
                if max(map(sys.getrefcount, outputs)) <= _UNHELD:
                    break
            else:
                outputs, args = self._new_outputs()
        else:
            outputs, args = self._own_outputs, self._own
        finished = self._step_adaptive(actions, args) if self._adaptive else self._step_all(actions, *args)
        if finished < 0:  # the driver checked first and stepped nothing
            self._refuse(finished, actions)
        obs, reward, terminated, truncated, final_obs, done, done_return, done_length = outputs
        info = {}
        if finished:
            if self._final_obs_in_info:
                info = {"final_obs": final_obs, "_final_obs": done}
            if self.episode_statistics:
                info["episode"], info["_episode"] = {"r": done_return, "l": done_length}, done
        return obs, reward, terminated, truncated, info

    @property
    def max_steps(self) -> int:
        """The time limit in steps (0: none); assigning it takes effect from the next step."""
        return self._max_steps

    @max_steps.setter
    def max_steps(self, value: int):
        self._max_steps = self._time_limit(value)
        packed = np.array(self._packed if self.device == "cpu" else self._packed.copy_to_host())
        packed[-len(LIMITS) + LIMITS.index("max_steps")] = self._max_steps
        self._write("_packed", packed)

    def _time_limit(self, value) -> int:
        # The driver reads it from float64 parameters: integers are exact up to 2 ** 53.
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 2 ** 53:
            raise ValueError(f"{type(self).__name__}: max_episode_steps must be an integer from 0 (no time "
                             f"limit) to 2**53, got {value!r}")
        return int(value)

    def _new_outputs(self):
        """New arrays for a step to write, and the driver's whole argument list but the actions.
        step() reuses a set once the caller holds none of its arrays (no one can see them change,
        and eight allocations cost 1.2 us, a quarter of a step at N = 64)."""
        empty = np.empty
        outputs = tuple(empty(shape, dtype) for shape, dtype in self._layout)
        args = self._fixed + outputs
        self._handed_out.append((outputs, args))  # the oldest set drops out: it is the caller's alone
        return outputs, args

    def _new_obs(self):
        """The array reset() and observations() write on the CPU: a new one, or the env's own
        (copy=False)."""
        if self.copy:
            return np.empty(*self._layout[0])
        return self._obs

    def _refuse(self, code: int, actions):
        """Say why the driver stepped nothing: bad actions (-1), or (-2) sub-envs that ended in
        DISABLED mode and were not reset."""
        name = type(self).__name__
        if code == -2:
            ended = np.flatnonzero(self.t < 0)
            raise RuntimeError(f"{name}: sub-env(s) {ended[:8].tolist()}{' ...' if len(ended) > 8 else ''} ended "
                               "and autoreset_mode is DISABLED; reset them first with "
                               "env.reset(options={'reset_mask': terminated | truncated})")
        self._check_actions(actions)  # says what is wrong
        raise ValueError(f"{name}: actions outside {self.single_action_space}")

    def _entry_point(self, dispatcher):
        """The driver compiled for exactly this env's argument types, called past numba's type
        dispatch (0.3 us of a 3 us step at N = 64). Safe only because step() passes it nothing
        but arrays the env made and actions it has checked for type, dtype, shape, C order and
        alignment (flags.carray; others are copied first): numba's compiled wrapper trusts an
        argument's dtype and layout without looking."""
        if not hasattr(dispatcher, "compile"):  # NUMBA_DISABLE_JIT=1: the driver runs as Python
            return dispatcher
        actions = np.empty(self._action_shape, self._action_dtype)
        return dispatcher.compile((numba.typeof(actions), *map(numba.typeof, self._own)))

    def _step_cuda(self, actions):
        """One kernel launch and nothing copied to the host: the returned arrays and the info's
        are the env's own device arrays, valid until the next step. info always holds
        final_obs and its mask (terminated | truncated), and with episode_statistics the episode
        totals, so that reading them needs no check on the host (final_obs in SAME_STEP mode only:
        in the others the observation is the step's own)."""
        self._driver.step(actions)
        info = {}
        if self._final_obs_in_info:
            info = {"final_obs": self._final_obs, "_final_obs": self._done}
        if self.episode_statistics:
            info["episode"], info["_episode"] = {"r": self._done_return, "l": self._done_length}, self._done
        return self._obs, self._reward, self._terminated, self._truncated, info

    def _step_adaptive(self, actions, args):
        """One step with the chosen driver, or while probing, with the two in turn (serial first;
        results are identical). Probe steps and every step of a kept parallel driver are timed."""
        if self._probe_left == 0 and self._calls >= self._next_probe:
            self._probe_left = PROBE_STEPS
        self._calls += 1
        probing = self._probe_left > 0
        if not probing and self._step_all is self._serial:
            return self._serial(actions, *args)
        parallel = (PROBE_STEPS - self._probe_left) % 2 if probing else 1
        start = time.perf_counter()
        finished = (self._parallel if parallel else self._serial)(actions, *args)
        seconds = time.perf_counter() - start
        if probing:
            self._record_probe(parallel, seconds)
        else:
            self._watch_parallel(seconds)
        return finished

    def _record_probe(self, parallel: int, seconds: float):
        """Keep the driver whose probe steps took less time on average (a median hides the rare
        long stalls that make two threads on a busy machine 50x slower than one); a parallel
        step 3x slower than a serial one ends the probe. The first parallel step is left out of
        both: it may have started or woken the thread pool (judged on it, an idle machine kept
        one thread at 8,192 sub-envs)."""
        self._probe[parallel].append(seconds)
        self._probe_left -= 1
        serial_times, parallel_times = self._probe
        stalled = bool(parallel and len(parallel_times) > 1 and seconds > 3 * min(serial_times))
        if self._probe_left > 0 and not stalled:
            return
        mean = lambda times: sum(times) / len(times)  # noqa: E731
        faster = not stalled and len(parallel_times) > 1 and mean(parallel_times[1:]) < mean(serial_times)
        self._keep(self._parallel if faster else self._serial, mean(serial_times))

    def _watch_parallel(self, seconds: float):
        """A kept parallel driver's step: once the steps of this window of WATCH have taken longer
        than WATCH steps of the serial driver took in the probe, switch to serial at once."""
        self._watched += seconds
        self._watch_left -= 1
        if self._watched > WATCH * self._serial_mean:
            self._keep(self._serial, self._serial_mean)
        elif self._watch_left == 0:
            self._watched, self._watch_left = 0.0, WATCH

    def _keep(self, chosen, serial_mean: float):
        """Step with `chosen` until the next probe: later while the choice holds, soon if it changed."""
        self._interval = min(2 * self._interval, ADAPT_MAX) if chosen is self._step_all else ADAPT_EVERY
        self._step_all, self._next_probe = chosen, self._calls + self._interval
        self._serial_mean, self._watched, self._watch_left = serial_mean, 0.0, WATCH
        self._probe, self._probe_left = ([], []), 0

    def close(self, **kwargs):
        self.closed = True

    def _host(self, array):
        return array.copy_to_host() if hasattr(array, "copy_to_host") else np.asarray(array)

    def _write(self, name: str, value):
        target = getattr(self, name)
        if self.device == "cuda":
            target.copy_to_device(np.ascontiguousarray(value, dtype=target.dtype))
        else:
            target[...] = value

    def _check_actions(self, actions):
        """Bad actions get a sentence naming the env and the space, never a crash in compiled code.
        Actions already on the GPU are checked for shape and dtype only: their values would need
        a copy to the host, so they are the caller's to keep in range (the built-in dynamics turn
        any value into a force or torque without indexing by it)."""
        name, space = type(self).__name__, self.single_action_space
        expected = (self.num_envs,) + (() if self._discrete else space.shape)
        if self.device == "cuda" and _on_device(actions):
            kinds = "iu" if self._discrete else "f"
            if tuple(actions.shape) != expected or np.dtype(actions.dtype).kind not in kinds:
                raise ValueError(f"{name}: device actions must have shape {expected} and "
                                 f"{'an integer' if self._discrete else 'a float'} dtype for {space}, "
                                 f"got shape {tuple(actions.shape)} and dtype {actions.dtype}")
            return actions
        return self._check_host_actions(actions, name, space, expected)  # the GPU driver copies them over

    def _check_host_actions(self, actions, name, space, expected):
        a = np.asarray(actions)
        if a.shape != expected:
            raise ValueError(f"{name}: actions must have shape {expected} for {self.num_envs} sub-envs "
                             f"of action space {space}, got shape {a.shape}")
        if self._discrete:
            if a.dtype.kind not in "iu":
                if a.dtype.kind != "f" or not np.array_equal(a, np.round(a)):
                    raise ValueError(f"{name}: actions must be integers in [0, {space.n}) for {space}, "
                                     f"got dtype {a.dtype}")
            a = np.require(a, np.int64, ALIGNED_C)
            if a.size and (a.min() < 0 or a.max() >= space.n):
                raise ValueError(f"{name}: actions must be in [0, {space.n}) for {space}, got values "
                                 f"from {a.min()} to {a.max()}")
            return a
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{name}: actions must be numbers for {space}, got dtype {a.dtype}")
        a = np.require(a, np.float32, ALIGNED_C)
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: actions must be finite for {space}, got NaN or inf")
        return a

    # -- state, for tests, checkpoints and users -------------------------------------------------------
    def get_state(self) -> dict:
        """Everything that determines the sub-envs' futures, as host arrays (a copy)."""
        host = (lambda a: a.copy_to_host()) if self.device == "cuda" else (lambda a: a.copy())
        return {key: host(getattr(self, key)) for key in _STATE}

    def set_state(self, saved: dict):
        """Restore what get_state() returned; observations are recomputed from the state."""
        for key in _STATE:
            self._set_array(key, saved[key], ".set_state")
        self._needs_reset = False

    def _set_array(self, key: str, value, where: str):
        target, value = getattr(self, key), np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{type(self).__name__}{where}: {key} has shape {value.shape}, "
                             f"expected {target.shape} for {self.num_envs} sub-envs")
        self._write(key, value)

    def observations(self):
        """The current observation of every sub-env, computed from the state (a new array, or
        on the GPU the env's own)."""
        if self.device == "cuda":
            self._driver.observe()
            return self._obs
        obs = self._new_obs()
        self._driver.reset_all(self.state, self.t, self.rng, self.ep_return, self._packed, obs,
                               np.zeros(self.num_envs, np.bool_))
        return obs

    def __repr__(self):
        return f"{type(self).__name__}(num_envs={self.num_envs}, device={self.device!r}, params={self.params})"


def dynamics(fn):
    """Decorator for an env's scalar functions: compiled by numba, cached on disk, and inlined
    where the batched driver calls them (envs/driver.py says why); the plain Python function
    stays available as `.py_func` for other targets. Division follows IEEE arithmetic (x / 0 is
    inf or nan), as on the GPU, rather than raising as Python does: checking every divisor for
    zero cost a branch per division in the driver's loop."""
    return numba.njit(cache=True, inline="always", error_model="numpy")(fn)

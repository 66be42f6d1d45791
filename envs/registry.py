"""Names to envs: `make`, `register`, `list`; plugins from the `numbarl.envs` entry-point group
and "package.module:ClassName" strings; any other Gymnasium id through the adapter."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from dataclasses import dataclass, field

ENTRY_POINT_GROUP = "numbarl.envs"


@dataclass
class EnvSpec:
    name: str
    entry_point: object  # a class or callable, or a "module:attr" string imported on first use
    defaults: dict = field(default_factory=dict)
    aliases: tuple = ()

    def load(self):
        if isinstance(self.entry_point, str):
            self.entry_point = _import(self.entry_point, self.name)
        return self.entry_point


_REGISTRY: dict[str, EnvSpec] = {}
_ALIASES: dict[str, str] = {}
_discovered = False


def _import(target: str, name: str):
    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ImportError(f"env {name!r}: cannot import {target!r} ({type(e).__name__}: {e})") from None
    if not callable(obj):
        raise TypeError(f"env {name!r}: {target!r} is a {type(obj).__name__}, not a class or callable")
    return obj


def register(name: str, entry_point, aliases=(), **defaults):
    """Make `envs.make(name)` build `entry_point(num_envs=..., device=..., seed=..., **defaults)`.

    `entry_point` is a BatchedEnv subclass, any callable with that signature, or a
    "package.module:ClassName" string (imported when first made)."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(f"env names must be non-empty strings without surrounding spaces, got {name!r}")
    if isinstance(entry_point, str):
        if ":" not in entry_point:
            raise ValueError(f"env {name!r}: entry point string {entry_point!r} must look like 'package.module:ClassName'")
    elif not callable(entry_point):
        raise TypeError(f"env {name!r}: the entry point must be a class, a callable or a "
                        f"'package.module:ClassName' string, got a {type(entry_point).__name__}")
    for n in (name, *aliases):
        if n in _REGISTRY or n in _ALIASES:
            raise ValueError(f"env {n!r} is already registered; choose another name")
    _REGISTRY[name] = EnvSpec(name, entry_point, dict(defaults), tuple(aliases))
    for alias in aliases:
        _ALIASES[alias] = name


def _discover_plugins():
    """Register what installed packages advertise in the `numbarl.envs` entry-point group."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY and ep.name not in _ALIASES:
            _REGISTRY[ep.name] = EnvSpec(ep.name, ep.value)


def list() -> list:  # noqa: A001 (envs.list(), as the issue names it)
    """Every registered name (built-ins, plugins), sorted; Gymnasium ids work too."""
    _discover_plugins()
    return sorted(_REGISTRY)


def canonical(name: str) -> str:
    """The registered name behind an alias (CartPole-v1 -> CartPole); other names unchanged."""
    return _ALIASES.get(name, name)


def spec(name: str) -> EnvSpec:
    _discover_plugins()
    name = canonical(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return EnvSpec(name, name)
    import gymnasium as gym

    if name in gym.registry:
        from .gym_adapter import GymnasiumEnv

        return EnvSpec(name, GymnasiumEnv, {"env_id": name})
    known = sorted(_REGISTRY) + sorted(_ALIASES)
    close = difflib.get_close_matches(name, known + [k for k in gym.registry if "/" not in k], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown env {name!r}; {hint}known envs: {', '.join(sorted(_REGISTRY))} "
                     "(or any Gymnasium id, a plugin, or 'package.module:ClassName')")


def make(name: str, num_envs: int = 1, device: str = "cpu", seed: int | None = None, autoreset_mode=None,
         **params):
    """N sub-envs of the named env as one batched env (a Gymnasium VectorEnv). `autoreset_mode`
    is a gymnasium.vector.AutoresetMode or its name ("same_step", numbarl's default; "next_step",
    gym.make_vec's; "disabled"); `params` override the env's parameters, e.g.
    make("CartPole", gravity=3.7)."""
    s = spec(name)
    if autoreset_mode is not None:
        params["autoreset_mode"] = autoreset_mode
    return s.load()(num_envs=num_envs, device=device, seed=seed, **{**s.defaults, **params})


def driver_source(env, device: str | None = None, autoreset_mode=None) -> str:
    """The text of the module numbarl generates and compiles to step `env` (a registered name, a
    BatchedEnv class or one of its instances): for a name or a class, the driver of its default
    parameters' spaces on `device` (default "cpu") in `autoreset_mode` (default same-step); for
    an instance, exactly the module it runs. Also written in the cache directory (envs.driver.cache_dir)."""
    from gymnasium.vector import AutoresetMode

    from . import cuda_driver, driver
    from .autoreset import parse_mode
    from .base import BatchedEnv

    cls = spec(env).load() if isinstance(env, str) else env
    if isinstance(cls, BatchedEnv):
        target, device = driver.DriverTarget.of(cls), device or cls.device
    elif isinstance(cls, type) and issubclass(cls, BatchedEnv):
        obs_space, act_space = cls.spaces(cls.Params())
        mode = parse_mode(AutoresetMode.SAME_STEP if autoreset_mode is None else autoreset_mode, cls.__name__)
        target = driver.DriverTarget(cls, obs_space.shape, hasattr(act_space, "n"), mode)
    else:
        raise TypeError(f"driver_source: {env!r} is not a numbarl env (a BatchedEnv, its class or its registered "
                        "name); envs run through Gymnasium have no generated driver")
    if device not in (None, "cpu", "cuda"):
        raise ValueError(f"driver_source: unknown device {device!r}; valid: cpu, cuda")
    if device == "cuda":
        instance = cls if isinstance(cls, BatchedEnv) else cls(num_envs=1, autoreset_mode=target.mode)
        return cuda_driver.source(target._replace(discrete=False), cuda_driver.arena_spec(instance))
    return driver.source(target)


def gymnasium_id(name: str) -> str:
    """The Gymnasium id of an env (for rendering with Gymnasium's own renderer)."""
    cls = spec(name).load()
    return getattr(cls, "gymnasium_id", None) or name

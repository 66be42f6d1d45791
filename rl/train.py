"""Train an agent: `python -m rl.train ALGO ENV [--flag value ...]`.

    python -m rl.train ppo CartPole
    python -m rl.train ppo Pendulum --total-timesteps 200000 --seed 3
    python -m rl.train dqn CartPole --config my.toml
    python -m rl.train ppo CartPole --resume runs/CartPole__ppo__1__20261122-120000

Every field of the algorithm's Args is a flag (see `python -m rl.train ppo CartPole --help`).
The run directory runs/<env>__<algo>__<seed>__<time>/ holds the TensorBoard events, config.json
and checkpoint.npz; watch it with `tensorboard --logdir runs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import re
import signal
import sys
import time

import autodiff as ad

from .config import ConfigError, build_parser, defaults_for, load_toml, resolve
from .evaluate import ALGOS, CHECKPOINT, eval_seeds, evaluate, report, seeds_of
from .monitor import Monitor


def _usage() -> str:
    return f"usage: python -m rl.train ALGO ENV [--flag value ...]; ALGO is one of {', '.join(sorted(ALGOS))}"


def _run_flags(parser: argparse.ArgumentParser):
    group = parser.add_argument_group("run")
    group.add_argument("--logdir", default="runs", help="where run directories are created (default: runs)")
    group.add_argument("--run-name", default=None, help="the run directory's name (default: <env>__<algo>__<seed>__<time>)")
    group.add_argument("--config", default=None, metavar="FILE.toml", help="settings from a TOML file; flags override them")
    group.add_argument("--eval-episodes", type=int, default=100, help="deterministic evaluation episodes at the end (0: none; default: 100)")
    group.add_argument("--save-every", type=int, default=0, metavar="STEPS", help="also checkpoint every STEPS env steps (default: 0, only at the end and on Ctrl-C)")
    group.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its checkpoint, in the same directory")


def parse(argv):
    """(algo module, Args, run options) from the command line; ConfigError on bad input."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    algo = argv[0]
    if algo not in ALGOS:
        raise ConfigError(f"unknown algorithm {algo!r}; valid: {', '.join(sorted(ALGOS))}")
    if len(argv) < 2 or argv[1].startswith("-"):
        if len(argv) >= 2 and argv[1] in ("-h", "--help"):
            argv = [argv[0], "CartPole", *argv[1:]]
        else:
            raise ConfigError(f"no environment given; {_usage()}")
    module = importlib.import_module(ALGOS[algo])
    env = argv[1]
    parser = build_parser("python -m rl.train", module.Args, defaults_for(module.Args, algo, env))
    _run_flags(parser)
    parser.error = lambda message: (_ for _ in ()).throw(ConfigError(message))
    ns = vars(parser.parse_args(argv))
    run = {k: ns.pop(k) for k in ("logdir", "run_name", "config", "eval_episodes", "save_every", "resume")}
    if run["eval_episodes"] < 0 or run["save_every"] < 0:
        raise ConfigError("--eval-episodes and --save-every must not be negative")
    config_file = load_toml(run["config"]) if run["config"] else None
    if run["resume"]:
        resumed = _read_config(run["resume"])
        if resumed["algo"] != algo or resumed["args"]["env_id"] != env:
            raise ConfigError(f"{run['resume']} is a {resumed['algo']} run on {resumed['args']['env_id']}, "
                              f"not {algo} on {env}")
        config_file = {**resumed["args"], **(config_file or {})}
        config_file.pop("env_id", None)
    args = resolve(module.Args, algo, env, ns, config_file)
    if run["resume"] and args.num_seeds != resumed["args"].get("num_seeds", 1):
        raise ConfigError(f"{run['resume']} trained {resumed['args'].get('num_seeds', 1)} seeds, not "
                          f"{args.num_seeds}; resume it with --num-seeds {resumed['args'].get('num_seeds', 1)}")
    return algo, module, args, run


def _read_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(run_dir, CHECKPOINT)):
        raise ConfigError(f"--resume {run_dir}: not a run directory with config.json and {CHECKPOINT}")
    with open(path) as f:
        return json.load(f)


class _StopOnInterrupt:
    """Ctrl-C asks training to stop at the end of the current iteration (so the checkpoint holds a
    consistent state); a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this iteration (Ctrl-C again to stop at once)...", file=sys.stderr)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def _save(path, snapshot, args, algo):
    state = snapshot()
    state["args"] = dataclasses.asdict(args)
    ad.save(state, path)  # written to a temporary file and renamed: never half a checkpoint


def new_run_dir(logdir: str, name: str, numbered: bool) -> str:
    """Create the directory of a new run, never one that holds another run's files: a generated
    name gets a suffix (-2, -3, ...) when runs start in the same second; a name given with
    --run-name that is taken is an error."""
    os.makedirs(logdir, exist_ok=True)
    for k in range(1, 10_000):
        run_dir = os.path.join(logdir, name if k == 1 else f"{name}-{k}")
        try:
            os.mkdir(run_dir)  # atomic: of two processes asking for one name, one gets it
            return run_dir
        except FileExistsError:
            if not os.listdir(run_dir):  # an empty directory holds nothing to lose
                return run_dir
            if not numbered:
                raise ConfigError(f"the run directory {run_dir} already holds a run; choose another --run-name, "
                                  f"or continue that run with --resume {run_dir}") from None
    raise ConfigError(f"too many runs named {name} in {logdir}")


def _free_memory(device) -> int | None:
    """Bytes free where the run's arrays will live (None where that cannot be read)."""
    if device == "cuda":
        try:
            from numba import cuda

            return int(cuda.current_context().get_memory_info()[0])
        except Exception:  # no driver to ask (the simulator): leave it to the allocation
            return None
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None


def check_memory(module, args, env):
    """Refuse, in one sentence, a run whose rollouts or replay buffers cannot fit, before any is
    allocated (the env, made first, tells the sizes)."""
    import math

    obs_dim = int(math.prod(env.single_observation_space.shape))
    action_dim = int(math.prod(env.single_action_space.shape or (1,)))
    need = module.memory(args, obs_dim, action_dim) + env.num_envs * (4 * obs_dim * 4 + 64)
    free = _free_memory(args.device)
    if free is not None and need > 0.8 * free:
        raise ConfigError(f"{args.num_seeds} agent{'s' if args.num_seeds > 1 else ''} of {args.num_envs} sub-envs "
                          f"need about {need / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB free on the "
                          f"{args.device}; train fewer seeds or sub-envs at once, or shrink the rollout "
                          "or replay buffer")


def run(algo, module, args, options) -> int:
    import envs

    seeds = seeds_of(args)
    try:
        env = envs.make(args.env_id, num_envs=args.num_envs * len(seeds), device=args.device, seed=seeds,
                        episode_statistics=True)
        check_memory(module, args, env)
        module.build(args, env)  # the algorithm's own check that it can act in this env
    except (ValueError, KeyError, TypeError, ImportError) as e:
        raise ConfigError(str(e).strip("'\"")) from None
    if options["resume"]:
        run_dir = options["resume"]
        resume = ad.load(os.path.join(run_dir, CHECKPOINT))
    else:
        env_name = re.sub(r"[^A-Za-z0-9._-]+", "_", args.env_id)  # plugin strings hold ':' and '/'
        name = options["run_name"] or f"{env_name}__{algo}__{args.seed}__{time.strftime('%Y%m%d-%H%M%S')}"
        run_dir = new_run_dir(options["logdir"], name, numbered=not options["run_name"])
        resume = None
    config = {"algo": algo, "args": dataclasses.asdict(args)}
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{algo} on {args.env_id}: " + ", ".join(f"{k}={v}" for k, v in config["args"].items()))

    checkpoint_path = os.path.join(run_dir, CHECKPOINT)
    monitor = Monitor(run_dir, args.total_timesteps, int(resume["global_step"]) if resume else 0, seeds=seeds)
    if resume is None:
        for seed, writer in zip(seeds, monitor.writers):
            settings = {**config["args"], "seed": seed}
            writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(
                f"|{k}|{v}|" for k, v in settings.items()))
            writer.add_hparams({k: v if isinstance(v, (int, float, bool, str)) else str(v)
                                for k, v in settings.items()})
    last_saved = [int(resume["global_step"]) if resume else 0]
    latest = {}
    with _StopOnInterrupt() as stop:
        def callback(step, snapshot):
            latest["snapshot"] = snapshot
            if options["save_every"] and step - last_saved[0] >= options["save_every"]:
                _save(checkpoint_path, snapshot, args, algo)
                last_saved[0] = step
            return not stop.requested

        try:
            model, obs_norm = module.train(args, env=env, log=monitor, callback=callback, resume=resume)
        except FloatingPointError as e:  # TrainingDiverged: keep the last good checkpoint as it is
            monitor.close()
            kept = "the last good checkpoint is" if os.path.exists(checkpoint_path) else "no checkpoint was saved"
            print(f"\ntraining stopped: {e}; {kept} in {run_dir}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # a second Ctrl-C: stop mid-iteration, still save what there is
            model = None
        if "snapshot" in latest:
            _save(checkpoint_path, latest["snapshot"], args, algo)
    monitor.show(final=True)
    if model is None or stop.requested:
        monitor.each("close")
        where = f"checkpoint in {run_dir} (continue with --resume {run_dir})" if "snapshot" in latest \
            else "no iteration finished, so no checkpoint was saved"
        print(f"stopped at step {monitor.step:,}; {where}")
        return 130
    for agent, (step, why) in sorted(getattr(model, "diverged", {}).items()):
        print(f"seed {seeds[agent]}: stopped at step {step:,}: {why}; it kept its parameters from before, "
              "and its evaluation is of those")
    if options["eval_episodes"]:
        act = module.policy(model, obs_norm)
        returns = [r for r, _ in evaluate(act, args.env_id, options["eval_episodes"], eval_seeds(args),
                                          device=args.device)]
        for writer, mean in zip(monitor.writers, report(returns, seeds, args.env_id)):
            writer.add_scalar("eval/mean_return", mean, monitor.step)
    monitor.each("close")
    print(f"run directory: {run_dir}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        algo, module, args, options = parse(argv)
        return run(algo, module, args, options)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (start-up, evaluation): nothing to save
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

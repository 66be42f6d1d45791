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
import json
import os
import re
import signal
import sys
import threading
import time

from gymnasium import error as gym_error

import autodiff as ad

from .config import (ConfigError, build_parser, checked_values, dataclass_defaults, defaults_for, load_toml,
                     misplaced_positionals, parse_flags, resolve)
from .defaults import tuned_defaults
from .evaluate import eval_seeds, evaluate, policy_of, render_episode, renderer, report, seeds_of
from .monitor import Monitor
from .rundir import ALGOS, CHECKPOINT, CONFIG, algorithm, check_checkpoint, new_run_dir, read_checkpoint, read_config
from .stats import summary


def _usage() -> str:
    return f"usage: python -m rl.train ALGO ENV [--flag value ...]; ALGO is one of {', '.join(sorted(ALGOS))}"


def _run_flags(parser: argparse.ArgumentParser):
    group = parser.add_argument_group("run")
    group.add_argument("--logdir", default=None, help="where run directories are created (default: runs)")
    group.add_argument("--run-name", default=None, help="the run directory's name (default: <env>__<algo>__<seed>__<time>)")
    group.add_argument("--config", default=None, metavar="FILE.toml", help="settings from a TOML file; flags override them")
    group.add_argument("--eval-episodes", type=int, default=100, help="deterministic evaluation episodes at the end (0: none; default: 100)")
    group.add_argument("--save-every", type=int, default=0, metavar="STEPS", help="also checkpoint every STEPS env steps (default: 0, only at the end and on Ctrl-C)")
    group.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its checkpoint, in the same directory")
    group.add_argument("--capture-video", action="store_true",
                       help="render an evaluation episode of the first agent at the end (and every --video-every "
                            "steps) as a GIF in the run directory's videos/ and in TensorBoard (pip install -e '.[render]')")
    group.add_argument("--video-every", type=int, default=0, metavar="STEPS",
                       help="with --capture-video, also render an episode every STEPS env steps (default: 0, only at the end)")
    group.add_argument("--log-histograms", type=int, default=0, metavar="N",
                       help="histograms of weights, gradients and actions in TensorBoard every N updates (default: 0, none)")


def parse(argv):
    """(algo module, Args, run options) from the command line; ConfigError on bad input."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    misplaced = misplaced_positionals("python -m rl.train", argv)
    if misplaced and not (len(argv) >= 2 and argv[1] in ("-h", "--help")):
        raise ConfigError(f"{misplaced}; ALGO is one of {', '.join(sorted(ALGOS))}")
    algo = argv[0]
    module = algorithm(algo)
    if len(argv) < 2 or argv[1].startswith("-"):
        if len(argv) >= 2 and argv[1] in ("-h", "--help"):
            argv = [argv[0], "CartPole", *argv[1:]]
        else:
            raise ConfigError(f"no environment given; {_usage()}")
    env = argv[1]
    parser = build_parser("python -m rl.train", module.Args, defaults_for(module.Args, algo, env))
    _run_flags(parser)
    ns = parse_flags(parser, argv)
    run = {k: ns.pop(k) for k in ("logdir", "run_name", "config", "eval_episodes", "save_every", "resume",
                                  "capture_video", "video_every", "log_histograms")}
    for flag in ("eval_episodes", "save_every", "video_every", "log_histograms"):
        if run[flag] < 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must not be negative, got {run[flag]}")
    if run["video_every"] and not run["capture_video"]:
        raise ConfigError("--video-every sets how often --capture-video renders; give --capture-video too")
    config_file = load_toml(run["config"]) if run["config"] else None
    source = f"the config file {run['config']}"
    if run["resume"]:
        given = [flag for flag in ("logdir", "run_name") if run[flag] is not None]
        if given:
            raise ConfigError(f"--resume continues {run['resume']} in its own directory, so "
                              + " and ".join(f"--{flag.replace('_', '-')}" for flag in given)
                              + " cannot be given with it; to start a new run, leave --resume out")
        resumed_algo, _, resumed = read_config(run["resume"])
        if resumed_algo != algo or resumed.env_id != env:
            raise ConfigError(f"{run['resume']} is a {resumed_algo} run on {resumed.env_id}, not {algo} on {env}")
        settings = {k: v for k, v in dataclasses.asdict(resumed).items() if k != "env_id"}
        config_file = {**settings, **checked_values(module.Args, algo, config_file or {}, source)}
    args = resolve(module.Args, algo, env, ns, config_file, source)
    tuned = defaults_for(module.Args, algo, env)
    run["origins"] = {k: f"tuned for {env}" for k in tuned_defaults(algo, env)}
    run["origins"].update({k: f"from {run['resume'] or run['config']}" for k, v in (config_file or {}).items()
                           if v != tuned.get(k) or not run["resume"]})
    run["origins"].update({k: "flag" for k in ns if k not in ("algo", "env")})
    if run["resume"] and args.num_seeds != resumed.num_seeds:
        raise ConfigError(f"{run['resume']} trained {resumed.num_seeds} seeds, not {args.num_seeds}; "
                          f"resume it with --num-seeds {resumed.num_seeds}")
    if run["resume"] and args.seed != resumed.seed:  # its random streams are in the checkpoint
        raise ConfigError(f"{run['resume']} trained with seed {resumed.seed}, not {args.seed}; a resumed run "
                          "goes on with its own seed (leave --seed out), and another seed is a new run")
    run["logdir"] = run["logdir"] or "runs"
    return algo, module, args, run


class _StopOnInterrupt:
    """Ctrl-C asks training to stop at the end of the current iteration (so the checkpoint holds a
    consistent state); a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        # Only the main thread may set a handler (a run in a Ray Tune worker runs in another one).
        self._installed = threading.current_thread() is threading.main_thread()
        if self._installed:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this iteration (Ctrl-C again to stop at once)...", file=sys.stderr)

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _save(path, snapshot, args, algo):
    state = snapshot()
    state["args"] = dataclasses.asdict(args)
    ad.save(state, path)  # written to a temporary file and renamed: never half a checkpoint


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


def check_memory(module, args, probe):
    """Refuse, in one sentence, a run whose envs, networks, rollouts or replay buffers cannot fit,
    before any is allocated: `probe`, the env with one sub-env, tells the sizes, and one agent's
    network its parameter count (each agent keeps its parameters, their gradients, Adam's two
    moments and a copy from before the update; DQN a target network too: 8 copies with room)."""
    import math

    obs_dim = int(math.prod(probe.single_observation_space.shape))
    action_dim = int(math.prod(probe.single_action_space.shape or (1,)))
    one, _ = module.build(dataclasses.replace(args, num_seeds=1), probe)
    params = sum(p.numel() for p in one.parameters())
    sub_envs = args.num_seeds * args.num_envs
    need = (module.memory(args, obs_dim, action_dim) + sub_envs * (4 * obs_dim * 4 + 64)
            + args.num_seeds * params * 4 * 8)
    free = _free_memory(args.device)
    if free is not None and need > 0.8 * free:
        raise ConfigError(f"{args.num_seeds} agent{'s' if args.num_seeds > 1 else ''} of {args.num_envs} sub-envs "
                          f"need about {need / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB free on the "
                          f"{args.device}; train fewer seeds or sub-envs at once, or shrink the rollout "
                          "or replay buffer")


def setup(module, args, capture_video=False):
    """The batched env and the model (with its observation normaliser) that a run trains, made
    before anything else: whatever cannot run (an unknown env, a model that cannot act in it, a
    population too large for memory, a missing renderer) is one ConfigError sentence."""
    import envs

    seeds = seeds_of(args)
    try:
        probe = envs.make(args.env_id, num_envs=1, device=args.device)
        try:
            check_memory(module, args, probe)  # before the K x N sub-envs are made: they may not fit either
        finally:
            probe.close()
        env = envs.make(args.env_id, num_envs=args.num_envs * len(seeds), device=args.device, seed=seeds,
                        episode_statistics=True)
        model, obs_norm = module.build(args, env, models=len(seeds))  # its own check that it can act here
        if capture_video:
            renderer(args.env_id)[0].close()  # before training, not after it
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, ImportError) as e:
        raise ConfigError(str(e).strip("'\"")) from None
    except gym_error.DependencyNotInstalled as e:
        raise ConfigError(f"{args.env_id} needs a package that is not installed: {e}") from None
    return env, model, obs_norm


def run(algo, module, args, options) -> int:
    """Train, checkpoint and evaluate, printing to options["out"] (stdout unless given). A caller
    that drives runs (rl.sweep) may pass options["on_iteration"](step, snapshot, monitor), called
    after every iteration (False stops the run), and options["on_end"](monitor, means)."""
    out = options.get("out") or sys.stdout
    seeds = seeds_of(args)
    env, model, obs_norm = setup(module, args, options["capture_video"])
    if options["resume"]:
        run_dir = options["resume"]
        resume = read_checkpoint(run_dir)
        check_checkpoint(resume, {module.MODEL: model.state_dict(), "env": env.get_state(),
                                  "obs_norm": obs_norm and obs_norm.state_dict()}, run_dir)
        if resume["global_step"] > args.trained_timesteps:  # before config.json is written over
            whole = f" ({args.trained_timesteps:,} in whole iterations)" \
                if args.trained_timesteps != args.total_timesteps else ""
            raise ConfigError(f"{run_dir} has trained {resume['global_step']:,} steps, more than total_timesteps "
                              f"{args.total_timesteps:,}{whole} asks for; "
                              f"give a larger --total-timesteps to train on, or evaluate it with "
                              f"python -m rl.evaluate {run_dir}")
    else:
        env_name = re.sub(r"[^A-Za-z0-9._-]+", "_", args.env_id)  # plugin strings hold ':' and '/'
        name = options["run_name"] or f"{env_name}__{algo}__{args.seed}__{time.strftime('%Y%m%d-%H%M%S')}"
        run_dir = new_run_dir(options["logdir"], name, numbered=not options["run_name"])
        resume = None
    config = {"algo": algo, "args": dataclasses.asdict(args)}
    with open(os.path.join(run_dir, CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    print(describe(algo, module, args, run_dir, options.get("origins", {})), file=out)
    if resume is not None:
        print(f"resuming {run_dir} from step {resume['global_step']:,} of {args.trained_timesteps:,}", file=out)

    checkpoint_path = os.path.join(run_dir, CHECKPOINT)
    monitor = Monitor(run_dir, args.trained_timesteps, int(resume["global_step"]) if resume else 0, stream=out,
                      seeds=seeds)
    monitor.histogram_every = options["log_histograms"]
    videos = Videos(module, args, env, run_dir, monitor, options["video_every"]) if options["capture_video"] else None
    if resume is None:
        settings = {"algo": algo, "run": os.path.basename(run_dir), **config["args"]}
        for seed, writer in zip(seeds, monitor.writers):
            writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(
                f"|{k}|{v}|" for k, v in {**settings, "seed": seed}.items()))
        monitor.hparams(settings, seeds)
    last_saved = [int(resume["global_step"]) if resume else 0]
    latest = {}
    with _StopOnInterrupt() as stop:
        def callback(step, snapshot):
            latest["snapshot"] = snapshot
            monitor.step = max(monitor.step, step)  # the last steps of a run may log nothing
            if videos is not None:
                videos.during(step, snapshot)
            if options["save_every"] and step - last_saved[0] >= options["save_every"]:
                _save(checkpoint_path, snapshot, args, algo)
                last_saved[0] = step
            hook = options.get("on_iteration")
            return not stop.requested and (hook is None or hook(step, snapshot, monitor) is not False)

        try:
            model, obs_norm = module.train(args, env=env, log=monitor, callback=callback, resume=resume)
        except FloatingPointError as e:  # TrainingDiverged: keep the last good checkpoint as it is
            monitor.show(final=True)
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
        monitor.close()
        where = f"checkpoint in {run_dir} (continue with --resume {run_dir})" if "snapshot" in latest \
            else "no iteration finished, so no checkpoint was saved"
        print(f"stopped at step {monitor.step:,}; {where}", file=out)
        return 130
    for agent, (step, why) in sorted(getattr(model, "diverged", {}).items()):
        print(f"seed {seeds[agent]}: stopped at step {step:,}: {why}; it kept its parameters from before, "
              "and its evaluation is of those", file=out)
    if options["eval_episodes"]:
        act = module.policy(model, obs_norm)
        returns = [r for r, _ in evaluate(act, args.env_id, options["eval_episodes"], eval_seeds(args),
                                          device=args.device, progress=monitor.eval_progress)]
        means = report(returns, seeds, args.env_id, out)
        monitor.evaluated(means, summary(means)["iqm"] if len(seeds) > 1 else None)
    if videos is not None:
        state = {module.MODEL: model.state_dict(), "obs_norm": obs_norm and obs_norm.state_dict()}
        print(f"episode written to {videos.record(state, monitor.step)}", file=out)
    if options.get("on_end"):
        options["on_end"](monitor, means if options["eval_episodes"] else None)
    monitor.close()
    print(f"run directory: {run_dir}", file=out)
    return 0


class Videos:
    """--capture-video: episodes of the first agent, rendered by Gymnasium's own env, as GIFs in
    videos/ and in TensorBoard; at the end, and every `every` env steps if given."""

    def __init__(self, module, args, env, run_dir, monitor, every):
        self.module, self.args, self.env, self.monitor, self.every = module, args, env, monitor, every
        self.dir = os.path.join(run_dir, "videos")
        os.makedirs(self.dir, exist_ok=True)
        self.last, self.paths = monitor.step, {}

    def during(self, step, snapshot):
        if self.every and step - self.last >= self.every:
            self.last = step
            self.record(snapshot(), step)

    def record(self, state, step):
        """The first agent's episode from a checkpoint-like `state` (its networks' entries)."""
        if step in self.paths:  # the run ended where a video was just taken
            return self.paths[step]
        single = dataclasses.replace(self.args, num_seeds=1)
        act = policy_of(self.module, single, self.env, state, slice(0, 1))
        path = os.path.join(self.dir, f"step_{step}.gif")
        self.paths[step] = render_episode(act, self.args.env_id, path, eval_seeds(self.args)[0], self.monitor.writer,
                                          step)
        return path


def describe(algo, module, args, run_dir, origins: dict) -> str:
    """What the run will do, in a few lines: the algorithm, env, seeds and steps, then each setting
    that differs from the algorithm's defaults and where it came from (every setting is in
    config.json)."""
    seeds = seeds_of(args)
    who = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    steps = f"{args.trained_timesteps:,} steps{' per agent' if len(seeds) > 1 else ''}"
    if args.trained_timesteps != args.total_timesteps:
        steps += (f" (total_timesteps {args.total_timesteps:,} in whole iterations of "
                  f"{args.trained_timesteps // args.num_iterations:,})" if hasattr(args, "num_iterations") else
                  f" (total_timesteps {args.total_timesteps:,} in whole steps of {args.num_envs} sub-envs)")
    lines = [f"{algo} on {args.env_id}, {who}, {args.device}: {steps}"]
    plain = dataclass_defaults(module.Args)
    changed = {k: v for k, v in dataclasses.asdict(args).items()
               if k not in ("env_id", "seed", "device") and (v != plain[k] or not origins.get(k, "tuned").startswith("tuned"))}
    if changed:
        width, value_width = max(map(len, changed)), max(10, *(len(str(v)) for v in changed.values()))
        lines.append(f"settings other than {algo}'s defaults (all of them: {os.path.join(run_dir, CONFIG)}):")
        lines += [f"  {k:<{width}}  {str(v):<{value_width}} {origins.get(k, '')}".rstrip() for k, v in changed.items()]
    else:
        lines.append(f"{algo}'s default settings (all of them: {os.path.join(run_dir, CONFIG)})")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        algo, module, args, options = parse(argv)
        return run(algo, module, args, options)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except gym_error.DependencyNotInstalled as e:  # a Gymnasium env or renderer needs an extra
        print(f"error: a package is not installed: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (start-up, evaluation): nothing to save
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

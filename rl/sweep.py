"""Hyperparameter sweeps on Ray Tune: `python -m rl.sweep ALGO ENV [ENV ...] --trials N --search ...`.

    python -m rl.sweep ppo CartPole --trials 16 \\
        --search "learning_rate=loguniform(1e-4,1e-2)" --search "num_minibatches=choice(2,4,8)"
    python -m rl.sweep dqn CartPole Acrobot --trials 32 --num-seeds 4 --scheduler asha
    python -m rl.sweep ppo CartPole --trials 64 --address auto      # on a running Ray cluster

A trial is an rl.train run (one seed, or a population with --num-seeds) with the searched
settings over the fixed ones: every rl.train flag of the algorithm, with its defaults and its
checks. After each iteration a trial reports `score`, the IQM over its seeds of their recent
episodic returns, and at the end the IQM of their final deterministic evaluations; ASHA
(--scheduler asha) stops trials that trail at the same number of env steps. Trials checkpoint
through Tune, so a trial whose worker dies goes on from its last checkpoint.

With several envs a trial trains them one after the other, and its score is the mean over envs
of each env's score normalised as CleanRL's tuner does: (score - low) / (high - low), where
[low, high] defaults to [a uniformly random policy's mean return, the env's reward threshold]
and --target-scores ENV=LOW,HIGH sets it.

Search spaces: uniform(a,b), loguniform(a,b) for real settings; int(a,b) or randint(a,b) for
integers from a to b inclusive; choice(v1,v2,...) for any setting. Optuna picks the points.
Results: <logdir>/<name>/, one directory per trial with its TensorBoard runs
(`tensorboard --logdir <logdir>/<name>`), and best.toml, which
`python -m rl.train ALGO ENV --config best.toml` takes as it is.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import time

from .config import (ConfigError, _kind, build_parser, checked_values, closest_flag, defaults_for, load_toml,
                     misplaced_positionals, parse_flags, resolve)
from .rundir import ALGOS, CHECKPOINT, CONFIG, algorithm
from .train import setup
from .stats import iqm

SPACES = ("uniform", "loguniform", "int", "randint", "choice")


@dataclasses.dataclass
class Space:
    name: str
    kind: str
    values: list  # (low, high) or the choices

    def tune(self):
        from ray import tune

        if self.kind == "uniform":
            return tune.uniform(*self.values)
        if self.kind == "loguniform":
            return tune.loguniform(*self.values)
        if self.kind in ("int", "randint"):
            return tune.randint(self.values[0], self.values[1] + 1)  # Tune's upper bound is exclusive
        # Optuna chooses among numbers, strings and booleans: tuples (layer sizes) travel as text.
        return tune.choice([repr(v) if isinstance(v, tuple) else v for v in self.values])

    def corners(self) -> list:
        return list(self.values)


def parse_space(text: str, args_cls, algo) -> Space:
    """`name=kind(args)` as a Space, refused in one sentence where the text, the name or the
    values cannot be a search over that setting."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\s*=\s*(\w+)\s*\((.*)\)\s*", text)
    if not match:
        raise ConfigError(f"--search {text!r} is not NAME=SPACE(ARGS); e.g. \"learning_rate=loguniform(1e-4,1e-2)\"; "
                          f"spaces: {', '.join(SPACES)}")
    name, kind, body = match.group(1).replace("-", "_"), match.group(2), match.group(3)
    fields = {f.name: f for f in dataclasses.fields(args_cls)}
    if name not in fields or name == "env_id":
        hint = closest_flag("--" + name.replace("_", "-"), ["--" + f.replace("_", "-") for f in fields if f != "env_id"])
        raise ConfigError(f"--search {text!r}: {algo} has no setting {name!r}"
                          + (f"; did you mean {hint[2:].replace('-', '_')}?" if hint else "")
                          + f" (python -m rl.train {algo} ENV --help lists them)")
    if kind not in SPACES:
        raise ConfigError(f"--search {text!r}: unknown space {kind!r}; valid: {', '.join(SPACES)}")
    try:
        values = ast.literal_eval(f"[{body}]")
    except (ValueError, SyntaxError):  # bare words: choice(gru,lstm)
        values = [_word(v.strip()) for v in body.split(",")]
    values = [tuple(v) if isinstance(v, list) else v for v in values]
    field = fields[name]
    kind_of_field, _ = _kind(field, field.default)
    if kind == "choice":
        if not values:
            raise ConfigError(f"--search {text!r}: choice needs at least one value")
        for v in values:
            checked_values(args_cls, algo, {name: v}, f"--search {text!r}")
        return Space(name, kind, values)
    if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"--search {text!r}: {kind} takes two numbers, low and high")
    low, high = values
    if not low < high:
        raise ConfigError(f"--search {text!r}: low ({low}) must be less than high ({high})")
    if kind in ("uniform", "loguniform") and kind_of_field is not float:
        raise ConfigError(f"--search {text!r}: {name} takes {kind_of_field.__name__} values; use int(a,b) or choice(...)")
    if kind in ("int", "randint") and kind_of_field is not int:
        raise ConfigError(f"--search {text!r}: int(a,b) draws integers, and {name} is "
                          f"{kind_of_field.__name__}; use uniform or loguniform")
    if kind in ("int", "randint") and not all(isinstance(v, int) for v in values):
        raise ConfigError(f"--search {text!r}: int(a,b) draws integers between integer bounds; "
                          f"write them without a decimal point, e.g. {kind}({math.floor(low)},{math.ceil(high)})")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"--search {text!r}: loguniform needs a positive low bound, got {low}")
    return Space(name, kind, [low, high])


def _word(text):
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def decode(config: dict) -> dict:
    """A trial's sampled settings as the Args fields hold them (tuples came as text)."""
    return {k: ast.literal_eval(v) if isinstance(v, str) and v.startswith("(") else v for k, v in config.items()}


# -- a trial: one rl.train run per env, reporting to Tune -----------------------------------------------
def trial(config, *, algo, envs, fixed, eval_episodes, targets, checkpoint_secs, report_secs=0.0, cpus=1):
    """The Tune function trainable. `fixed` are settings given on the command line (or the
    config file), `config` the sampled ones; a run directory per env in the trial's directory.
    A population trial's stacked operations use the `cpus` it reserved, no more."""
    from ray import tune

    from autodiff import save, set_num_threads

    set_num_threads(max(1, int(cpus)))

    from . import train

    module = algorithm(algo)
    trial_dir = tune.get_context().get_trial_dir()
    with open(os.path.join(trial_dir, "pid"), "w") as f:  # which process runs it (the tests kill it)
        f.write(str(os.getpid()))
    progress = {"env": 0, "scores": [], "steps": 0}  # envs finished, their scores, their steps
    restored = tune.get_checkpoint()
    if restored is not None:
        with restored.as_directory() as directory:
            with open(os.path.join(directory, "progress.json")) as f:
                progress = json.load(f)
            if progress["env"] < len(envs) and os.path.exists(os.path.join(directory, CHECKPOINT)):
                run_dir = os.path.join(trial_dir, _run_name(envs[progress["env"]]))
                os.makedirs(run_dir, exist_ok=True)
                for name in (CHECKPOINT, CONFIG):
                    shutil.copy(os.path.join(directory, name), os.path.join(run_dir, name))
    settings = {**fixed, **decode(config)}
    for index in range(progress["env"], len(envs)):
        env = envs[index]
        args = resolve(module.Args, algo, env, settings)
        run_dir = os.path.join(trial_dir, _run_name(env))
        resume = os.path.exists(os.path.join(run_dir, CHECKPOINT)) and os.path.exists(os.path.join(run_dir, CONFIG))
        if not resume and os.path.exists(run_dir):
            shutil.rmtree(run_dir)  # this trial's own output from before a crash, with no checkpoint to go on from
        last = [time.monotonic()]
        reported = [float("-inf")]

        def report(step, snapshot, final=None, final_step=None):
            now = time.monotonic()
            checkpoint = final is not None or now - last[0] >= checkpoint_secs
            # Tune's controller logs every result (progress.csv, result.json, events) on the
            # trials' cores: one per iteration of a 30 s trial was ~17 % on 2 cores.
            if not checkpoint and now - reported[0] < report_secs:
                return
            reported[0] = now
            score = final if final is not None else _recent_iqm(monitor_ref[0])
            metrics = {"score": _combined(progress["scores"], _normalise(score, env, targets), len(envs)),
                       "raw_score": score, "env_steps": progress["steps"] + (final_step or step), "env": env}
            if checkpoint:
                last[0] = now
                with tempfile.TemporaryDirectory() as directory:
                    if snapshot is not None:
                        state = snapshot()
                        state["args"] = dataclasses.asdict(args)
                        save(state, os.path.join(directory, CHECKPOINT))
                        shutil.copy(os.path.join(run_dir, CONFIG), os.path.join(directory, CONFIG))
                    done = dict(progress)
                    if final is not None:
                        done = {"env": index + 1, "scores": progress["scores"] + [_normalise(final, env, targets)],
                                "steps": progress["steps"] + final_step}
                    with open(os.path.join(directory, "progress.json"), "w") as f:
                        json.dump(done, f)
                    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
            else:
                tune.report(metrics)

        monitor_ref = [None]

        def on_iteration(step, snapshot, monitor):
            monitor_ref[0] = monitor
            report(step, snapshot)

        ended = {}

        def on_end(monitor, means):
            ended["score"] = iqm(means) if means is not None else _recent_iqm(monitor)
            ended["step"] = monitor.step

        with open(os.path.join(trial_dir, f"{_run_name(env)}.log"), "a") as out:
            options = {"logdir": trial_dir, "run_name": _run_name(env), "resume": run_dir if resume else None,
                       "eval_episodes": eval_episodes, "save_every": 0, "capture_video": False, "video_every": 0,
                       "log_histograms": 0, "out": out, "on_iteration": on_iteration, "on_end": on_end}
            code = train.run(algo, module, args, options)
        if code != 0:
            raise RuntimeError(f"the {env} run of this trial ended with status {code}; see "
                               f"{os.path.join(trial_dir, _run_name(env) + '.log')}")
        report(ended["step"], None, final=ended["score"], final_step=ended["step"])
        progress = {"env": index + 1, "scores": progress["scores"] + [_normalise(ended["score"], env, targets)],
                    "steps": progress["steps"] + ended["step"]}


def _run_name(env):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", env)


def _recent_iqm(monitor) -> float:
    """The IQM over agents of each agent's mean recent episodic return (NaN before any episode)."""
    if monitor is None:
        return float("nan")
    means = [sum(r) / len(r) for r in monitor.returns if r]
    return iqm(means) if len(means) == len(monitor.returns) else float("nan")


def _normalise(score, env, targets):
    if targets is None:
        return score
    low, high = targets[env]
    return (score - low) / (high - low)


def _combined(done, current, n_envs):
    """The mean over envs: finished envs' final scores, the current one's running score, and
    nothing yet (0) for the envs to come, so that trials compare at equal progress."""
    return float((sum(done) + current) / n_envs) if n_envs > 1 else float(current)


def target_scores(envs, given: dict, seed=0) -> dict:
    """[low, high] per env for normalising scores: the given ones, else a random policy's mean
    return over 100 episodes and the env's reward threshold."""
    import numpy as np

    from .evaluate import evaluate, reward_threshold

    targets = {}
    for env in envs:
        if env in given:
            targets[env] = given[env]
            continue
        high = reward_threshold(env)
        if high is None:
            raise ConfigError(f"{env} has no reward threshold to normalise its scores by; give "
                              f"--target-scores {env}=LOW,HIGH")
        import envs as numbarl_envs

        space = numbarl_envs.make(env, num_envs=1).single_action_space
        rng = np.random.default_rng(seed)

        def random_policy(obs):
            import autodiff as ad

            n = obs.shape[1]
            return ad.tensor(np.stack([space.sample() for _ in range(n)])[None]) if not hasattr(space, "n") \
                else ad.tensor(rng.integers(0, space.n, (1, n)))

        (returns, _), = evaluate(random_policy, env, 100, [seed])
        low = float(np.mean(returns))
        if not high > low:
            raise ConfigError(f"{env}'s reward threshold {high} is not above a random policy's {low:.1f}; give "
                              f"--target-scores {env}=LOW,HIGH")
        targets[env] = (low, float(high))
    return targets


# -- the command line ------------------------------------------------------------------------------------
def _sweep_flags(parser):
    group = parser.add_argument_group("sweep")
    group.add_argument("--trials", type=int, default=8, help="trials to run (default: 8)")
    group.add_argument("--search", action="append", default=[], metavar="NAME=SPACE(ARGS)",
                       help="a searched setting: uniform(a,b), loguniform(a,b), int(a,b), choice(v1,v2,...); repeat it")
    group.add_argument("--scheduler", choices=("asha", "none"), default="none",
                       help="asha: stop trials that trail at the same env steps (default: none)")
    group.add_argument("--address", default=None,
                       help="a running Ray cluster to use: auto or HOST:PORT (default: a local Ray on this machine)")
    group.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs each trial reserves (default: 1)")
    group.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                       help="stop starting and running trials after this long (default: none)")
    group.add_argument("--logdir", default="sweeps", help="where sweeps are written (default: sweeps)")
    group.add_argument("--name", default=None, help="the sweep's name (default: <algo>-<envs>-<time>)")
    group.add_argument("--config", default=None, metavar="FILE.toml",
                       help="fixed settings, and a [search] table of NAME = \"SPACE(ARGS)\"")
    group.add_argument("--eval-episodes", type=int, default=100,
                       help="each trial's final deterministic evaluation episodes (default: 100)")
    group.add_argument("--max-failures", type=int, default=2,
                       help="times a trial whose worker dies is retried from its checkpoint (default: 2)")
    group.add_argument("--checkpoint-secs", type=float, default=10.0, metavar="SECONDS",
                       help="a trial checkpoints through Tune at most this often, and at its end (default: 10)")
    group.add_argument("--report-secs", type=float, default=1.0, metavar="SECONDS",
                       help="a trial reports to Tune (and so to its scheduler) at most this often, and at "
                            "every checkpoint (default: 1; 0: after every iteration)")
    group.add_argument("--target-scores", action="append", default=[], metavar="ENV=LOW,HIGH",
                       help="with several envs, the returns that normalise ENV's score to 0 and 1")


def parse(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    misplaced = misplaced_positionals("python -m rl.sweep", argv)
    if misplaced and not (len(argv) >= 2 and argv[1] in ("-h", "--help")):
        raise ConfigError(f"{misplaced}; ALGO is one of {', '.join(sorted(ALGOS))}")
    algo = argv[0]
    module = algorithm(algo)
    envs = []
    for word in argv[1:]:
        if word.startswith("-"):
            break
        envs.append(word)
    if not envs and not any(a in ("-h", "--help") for a in argv):
        raise ConfigError("no environment given; usage: python -m rl.sweep ALGO ENV [ENV ...] --trials N "
                          "--search NAME=SPACE(ARGS) ...")
    parser = build_parser("python -m rl.sweep", module.Args, defaults_for(module.Args, algo, (envs or ["CartPole"])[0]),
                          env_nargs="*")
    _sweep_flags(parser)
    ns = parse_flags(parser, argv)
    sweep = {k: ns.pop(k) for k in ("trials", "search", "scheduler", "address", "cpus_per_trial", "time_budget",
                                   "logdir", "name", "config", "eval_episodes", "max_failures", "target_scores",
                                   "checkpoint_secs", "report_secs")}
    ns.pop("algo"), ns.pop("env")
    for flag in ("trials", "cpus_per_trial"):
        if sweep[flag] <= 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must be positive, got {sweep[flag]}")
    for flag in ("eval_episodes", "max_failures", "checkpoint_secs", "report_secs"):
        if sweep[flag] < 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must not be negative, got {sweep[flag]}")
    fixed, searches = {}, list(sweep["search"])
    if sweep["config"]:
        table = load_toml(sweep["config"])
        search_table = table.pop("search", {})
        if not isinstance(search_table, dict):
            raise ConfigError(f"the config file {sweep['config']}: search must be a table of NAME = \"SPACE(ARGS)\"")
        searches = [f"{k}={v}" for k, v in search_table.items()] + searches
        fixed.update(checked_values(module.Args, algo, table, f"the config file {sweep['config']}"))
        if "env_id" in fixed:
            raise ConfigError(f"the config file {sweep['config']} sets env_id; the envs are the ENV arguments "
                              "(python -m rl.sweep ALGO ENV [ENV ...]): remove env_id from the file")
    fixed.update(ns)
    spaces = [parse_space(text, module.Args, algo) for text in searches]
    if not spaces:
        raise ConfigError("nothing to search: give --search NAME=SPACE(ARGS) (or a [search] table in --config)")
    names = [s.name for s in spaces]
    if len(set(names)) < len(names):
        raise ConfigError(f"--search names {sorted(n for n in set(names) if names.count(n) > 1)[0]} twice")
    for env in envs:  # every corner of every space must make valid settings with the fixed ones
        for space in spaces:
            for value in space.corners():
                try:
                    resolve(module.Args, algo, env, {**fixed, space.name: value})
                except ConfigError as e:
                    raise ConfigError(f"with {space.name}={value!r} from --search, {e}") from None
        # One agent and its sub-envs, made here on the CPU as rl.train makes them: an unknown env,
        # or one the algorithm cannot act in, is one sentence now, not a failure in every trial.
        # (The device and the memory a population needs are the trials' own to check, on the
        # machines they run on.)
        one = dataclasses.replace(resolve(module.Args, algo, env, fixed), device="cpu", num_seeds=1)
        setup(module, one)[0].close()
    given = {}
    for text in sweep["target_scores"]:
        match = re.fullmatch(r"(.+)=([-+0-9.eE]+),([-+0-9.eE]+)", text)
        if not match or match.group(1) not in envs:
            raise ConfigError(f"--target-scores {text!r} is not ENV=LOW,HIGH for one of {', '.join(envs)}")
        given[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return algo, module, envs, fixed, spaces, sweep, given


# What an HTTP/2 client sends first: the preface and an empty SETTINGS frame. Ray's GCS is a gRPC
# (HTTP/2) server, which answers with a SETTINGS frame of its own (frame type 4, the 4th byte).
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _check_address(address):
    """An unreachable cluster, or a port where something else answers, in one sentence, before
    Ray retries it for a minute or more."""
    if address in (None, "auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    reply = b""
    try:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(_HTTP2_HELLO)
            while len(reply) < 4 and (chunk := s.recv(9)):
                reply += chunk
    except (OSError, ValueError) as e:
        raise ConfigError(f"--address {address}: no Ray cluster answers there ({e}); start one with "
                          "`ray start --head`, or leave --address out to run on this machine") from None
    if len(reply) < 4 or reply[3] != 4:
        raise ConfigError(f"--address {address}: something answers there, but not a Ray cluster (it does not "
                          "speak gRPC); give the head's GCS port, 6379 unless `ray start --head --port` set another")


def sweep(algo, module, envs, fixed, spaces, options, given, out=None):
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    _check_address(options["address"])
    targets = target_scores(envs, given) if len(envs) > 1 else None
    name = options["name"] or f"{algo}-{'-'.join(_run_name(e) for e in envs)}-{time.strftime('%Y%m%d-%H%M%S')}"
    storage = os.path.abspath(options["logdir"])
    try:
        ray.init(address=options["address"], include_dashboard=False, log_to_driver=False,
                 configure_logging=True, logging_level="ERROR")
    except (ConnectionError, RuntimeError) as e:
        raise ConfigError(f"--address {options['address']}: cannot join a Ray cluster ({str(e).splitlines()[0]})") from None
    total = sum(resolve(module.Args, algo, env, fixed).trained_timesteps for env in envs)
    scheduler = ASHAScheduler(time_attr="env_steps", max_t=total, grace_period=max(1, total // 8),
                              reduction_factor=2) if options["scheduler"] == "asha" else None
    trainable = tune.with_resources(
        tune.with_parameters(trial, algo=algo, envs=envs, fixed=fixed, eval_episodes=options["eval_episodes"],
                             targets=targets, checkpoint_secs=options["checkpoint_secs"],
                             report_secs=options["report_secs"],
                             cpus=options["cpus_per_trial"]),
        {"cpu": options["cpus_per_trial"]})
    tuner = tune.Tuner(
        trainable,
        param_space={s.name: s.tune() for s in spaces},
        tune_config=tune.TuneConfig(metric="score", mode="max", num_samples=options["trials"], scheduler=scheduler,
                                    search_alg=OptunaSearch(seed=fixed.get("seed", 1)),
                                    time_budget_s=options["time_budget"],
                                    # a worker runs trial after trial: a new one costs ~3.5 s a trial
                                    # (importing Ray and numbarl, loading the compiled kernels)
                                    reuse_actors=True),
        # Artifacts (each trial's run directory) synced to storage at each checkpoint and at the
        # end: a reused worker's later trials live in a directory Ray does not sync otherwise, as
        # do trials on another node of a cluster.
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=1,
                                  sync_config=tune.SyncConfig(sync_artifacts=True),
                                  failure_config=tune.FailureConfig(max_failures=options["max_failures"]),
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=2)))
    try:
        results = tuner.fit()
    finally:
        ray.shutdown()
    return write_results(results, algo, envs, fixed, spaces, total, os.path.join(storage, name), out or sys.stdout)


def write_results(results, algo, envs, fixed, spaces, total, directory, out):
    """The final table, best first, and best.toml: the fixed settings and the best trial's."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        config = decode({s.name: result.config.get(s.name) for s in spaces})
        steps = metrics.get("env_steps", 0)
        status = "error" if result.error else "done" if steps >= total else "stopped early"
        trial_id = "_".join(os.path.basename(result.path).split("_")[:2])  # trial_<id>, without its settings
        rows.append((metrics.get("score", float("nan")), config, steps, status, trial_id))
    rows.sort(key=lambda r: -r[0] if math.isfinite(r[0]) else math.inf)
    def shown(value):  # best.toml holds the exact values
        return f"{value:.3g}" if isinstance(value, float) else repr(value)

    width = {s.name: max(len(s.name), *(len(shown(r[1][s.name])) for r in rows)) for s in spaces}
    print(f"\n{'score':>10}  " + "  ".join(f"{s.name:<{width[s.name]}}" for s in spaces)
          + f"  {'env steps':>11}  status         trial", file=out)
    for score, config, steps, status, trial_name in rows:
        print(f"{score:>10.2f}  " + "  ".join(f"{shown(config[s.name]):<{width[s.name]}}" for s in spaces)
              + f"  {steps:>11,}  {status:<13}  {trial_name}", file=out)
    finished = [r for r in rows if r[3] == "done" and math.isfinite(r[0])]
    if not finished:
        print(f"no trial finished, so no best.toml; the trials are in {directory}", file=out)
        return 1
    best = {**fixed, **finished[0][1]}
    here = os.path.relpath(directory)
    directory = here if not here.startswith("..") else directory  # shown relative to the working directory
    path = os.path.join(directory, "best.toml")
    with open(path, "w") as f:
        f.write(f"# python -m rl.sweep {algo} {' '.join(envs)}: the best of {len(rows)} trials, score "
                f"{finished[0][0]:.2f} ({finished[0][4]})\n")
        for key, value in best.items():
            if value is not None:
                f.write(f"{key} = {_toml(value)}\n")
    print(f"best settings: {path} (python -m rl.train {algo} {envs[0]} --config {path}); "
          f"tensorboard --logdir {directory}", file=out)
    return 0


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        algo, module, envs, fixed, spaces, options, given = parse(argv)
        return sweep(algo, module, envs, fixed, spaces, options, given)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        if "ray" in str(e) or "optuna" in str(e):
            print(f"error: rl.sweep needs Ray Tune and Optuna: pip install -e '.[sweep]' ({e})", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

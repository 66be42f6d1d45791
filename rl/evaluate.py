"""Deterministic evaluation of a trained policy, batched: `python -m rl.evaluate RUN_DIR`.

    python -m rl.evaluate runs/CartPole__ppo__1__20261122-120000 --episodes 100 [--render]
"""

from __future__ import annotations

import argparse
import os
import sys

from gymnasium import error as gym_error

import autodiff as ad
from algos import env_actions, seeds_of, to_host
from algos.common import MAX_SEED

from .config import ConfigError, parse_flags
from .monitor import EpisodeProgress
from .rundir import check_checkpoint, read_checkpoint, read_config


def evaluate(act, env_id, episodes=100, seed=0, device="cpu", max_envs=256, progress=None):
    """Returns and lengths of `episodes` episodes of the policy `act(obs) -> actions`, run as
    batches of sub-envs that each count their first episode only (so every episode starts from
    a fresh reset and none is cut short by the batch). `progress(done, episodes)`, if given, hears
    how many episodes each agent has finished, after every step.

    With a list of K seeds, `act` is a population's policy, taking (K, n, ...) observations to
    (K, n) actions: agent k plays exactly the episodes a single evaluation with seeds[k] would, and
    the result is a list of K (returns, lengths) pairs."""
    if isinstance(seed, (list, tuple)):
        k = len(seed)

        def stacked(obs):
            actions = act(obs.reshape((k, obs.shape[0] // k) + tuple(obs.shape[1:])))
            return actions.reshape((obs.shape[0],) + tuple(actions.shape[2:]))

        if hasattr(act, "reset"):  # a recurrent policy: fresh memory for each batch of each agent's envs
            stacked.reset = lambda n: act.reset(n // k)

        returns, lengths = _episodes(stacked, env_id, episodes, seed, device, max_envs, k, progress)
        per = len(returns) // k
        return [(returns[i * per:(i + 1) * per], lengths[i * per:(i + 1) * per]) for i in range(k)]
    return _episodes(act, env_id, episodes, seed, device, max_envs, None, progress)


def _episodes(act, env_id, episodes, seed, device, max_envs, models, progress):
    import envs

    k = models or 1
    results = [([], []) for _ in range(k)]
    batch_seed = seed
    while len(results[0][0]) < episodes:
        n_each = min(max_envs, episodes - len(results[0][0]))
        n = n_each * k
        seeds = batch_seed if models is None else list(batch_seed)
        env = envs.make(env_id, num_envs=n, device=device, seed=seeds)
        obs, _ = env.reset(seed=seeds)
        if hasattr(act, "reset"):  # a recurrent policy: fresh memory for a fresh batch
            act.reset(n)
        total = ad.zeros(n, dtype="float64")
        steps = ad.zeros(n, dtype="int64")
        finished = ad.zeros(n, dtype="bool")
        result_r, result_l = [None] * n, [None] * n
        while not finished.all():
            action = act(ad.tensor(obs, device=device))
            obs, reward, terminated, truncated, _ = env.step(env_actions(env, action))
            reward, terminated, truncated = to_host(reward), to_host(terminated), to_host(truncated)
            alive = ~finished
            total = total + ad.tensor(reward).double() * alive.double()
            steps = steps + alive.long()
            ended = (ad.tensor(terminated) | ad.tensor(truncated)) & alive
            for i in ad.arange(n)[ended].tolist():
                result_r[i], result_l[i] = float(total[i].item()), int(steps[i].item())
            finished = finished | ended
            if progress is not None:  # the slowest agent's count: all finish their batches together
                progress(len(results[0][0]) + int(finished.numpy().reshape(k, n_each).sum(1).min()), episodes)
        env.close()
        for a in range(k):  # agent a's sub-envs are the a-th block
            results[a][0].extend(result_r[a * n_each:(a + 1) * n_each])
            results[a][1].extend(result_l[a * n_each:(a + 1) * n_each])
        batch_seed = batch_seed + n if models is None else [s + n_each for s in batch_seed]
    returns = [r for a in range(k) for r in results[a][0]]
    lengths = [n for a in range(k) for n in results[a][1]]
    return returns, lengths


def load_run(run_dir, seed=None, device=None):
    """The Args, the rebuilt networks' policy and the checkpoint of a run directory. Every
    algorithm trains populations, so the policy takes (K, n, ...) observations; `seed` picks one
    agent of the population (K = 1), None keeps all; `device` evaluates somewhere other than
    where the run trained (a checkpoint holds host arrays, so a GPU run evaluates on a CPU)."""
    import envs

    _, module, args = read_config(run_dir)
    state = read_checkpoint(run_dir)
    seeds = seeds_of(args)
    if seed is not None and seed not in seeds:
        raise ConfigError(f"seed {seed} is not in the population of {run_dir}; its seed"
                          + (f" is {seeds[0]}" if len(seeds) == 1 else f"s are {seeds[0]} to {seeds[-1]}"))
    if device is not None:
        args.device = device
    try:
        probe = envs.make(args.env_id, num_envs=1, device=args.device, seed=args.seed)
    except gym_error.DependencyNotInstalled as e:
        raise ConfigError(f"{args.env_id} needs a package that is not installed: {e}") from None
    except (ValueError, KeyError, TypeError, ImportError) as e:  # an env or device this machine lacks
        hint = "; evaluate it on this machine's CPU with --device cpu" if args.device != "cpu" and device is None else ""
        raise ConfigError(f"{run_dir}: its env {args.env_id} cannot be made on the {args.device} here ("
                          + str(e).strip("'\"") + ")" + hint) from None
    whole, obs_norm = module.build(args, probe, models=len(seeds))
    check_checkpoint(state, {module.MODEL: whole.state_dict(), "obs_norm": obs_norm and obs_norm.state_dict()},
                     run_dir)
    chosen = seeds if seed is None else [seed]
    rows = slice(None) if seed is None else slice(seeds.index(seed), seeds.index(seed) + 1)
    act = policy_of(module, args, probe, state, rows)
    args.seed, args.num_seeds = chosen[0], len(chosen)
    return args, act, state


def eval_seeds(args) -> list:
    """Agent k's evaluation episodes are those of the single run with its seed."""
    return [s + 10_000 for s in seeds_of(args)]


def _renderable(env_id) -> str:
    """The Gymnasium id that renders `env_id`, or a ConfigError saying it has none."""
    import gymnasium as gym

    import envs

    gym_id = envs.gymnasium_id(env_id)
    if gym_id not in gym.registry:
        raise ConfigError(f"--render draws episodes with Gymnasium's own renderer, and {env_id} has no "
                          "Gymnasium counterpart; envs that can render: CartPole, Pendulum, MountainCar, "
                          "MountainCarContinuous, Acrobot and other Gymnasium ids")
    return gym_id


def renderer(env_id, seed=0):
    """Gymnasium's own env for `env_id` (same dynamics), reset and drawn once, with its first
    frame: a ConfigError at once where it cannot render or Pillow is missing to encode the GIF."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen: no display, no warnings about one
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")  # and no sound card: no ALSA errors
    import gymnasium as gym

    try:
        import PIL.Image  # noqa: F401  (encodes the GIF)

        env = gym.make(_renderable(env_id), render_mode="rgb_array")
        obs, _ = env.reset(seed=seed)
        return env, obs, env.render()
    except (ImportError, gym.error.DependencyNotInstalled) as e:
        raise ConfigError(f"--render needs the render extra (pip install -e '.[render]'): {e}") from None


def episode_frames(act, env_id, seed=0):
    """One episode of one agent's policy as RGB frames, drawn by Gymnasium's own env for
    `env_id` (same dynamics), and the frame rate it renders at."""
    import gymnasium as gym

    env, obs, frame = renderer(env_id, seed)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    frames = [frame]
    if hasattr(act, "reset"):  # a recurrent policy: fresh memory for the episode
        act.reset(1)
    done = False
    while not done:
        action = act(ad.tensor(obs[None, None])).numpy().reshape(-1)  # one agent's one sub-env
        action = action[0] if discrete else action
        obs, _, terminated, truncated, _ = env.step(action)
        frames.append(env.render())
        done = terminated or truncated
    env.close()
    return frames, env.metadata.get("render_fps", 30)


def render_episode(act, env_id, path, seed=0, writer=None, step=0):
    """Write one episode of the policy as an animated GIF (Pillow: `pip install -e '.[render]'`),
    and, given a tensorboardX writer, show it in TensorBoard as videos/episode at `step`."""
    from .events import add_gif, gif

    frames, fps = episode_frames(act, env_id, seed)
    data = gif(frames, fps)
    with open(path, "wb") as f:
        f.write(data)
    if writer is not None:
        add_gif(writer, "videos/episode", data, frames[0].shape[0], frames[0].shape[1], step)
    return path


def policy_of(module, args, env, state, rows=slice(None)):
    """The policy of the agents `rows` of a checkpoint's population, on fresh networks."""
    model, obs_norm = module.build(args, env, models=len(range(args.num_seeds)[rows]))
    model.load_state_dict({name: value[rows] for name, value in state[module.MODEL].items()})
    if obs_norm is not None and state.get("obs_norm") is not None:
        obs_norm.load_state_dict({name: value[rows] for name, value in state["obs_norm"].items()})
    return module.policy(model, obs_norm)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl.evaluate", description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("run_dir", help="a run directory written by python -m rl.train")
    parser.add_argument("--episodes", type=int, default=100, help="episodes to evaluate (default: 100)")
    parser.add_argument("--seed", type=int, default=None,
                        help="of a population run, the one agent to evaluate, by its seed (default: every agent)")
    parser.add_argument("--episode-seed", type=int, default=None,
                        help="seed of the evaluation episodes (default: the agent's seed + 10000, as rl.train evaluates)")
    parser.add_argument("--device", default=None, choices=("cpu", "cuda", "auto"),
                        help="where to evaluate (default: where the run trained; a GPU run evaluates on the cpu too)")
    parser.add_argument("--render", action="store_true", help="also write one episode as a GIF in the run directory")
    try:
        ns = argparse.Namespace(**parse_flags(parser, argv if argv is not None else sys.argv[1:]))
        if ns.episodes <= 0:
            raise ConfigError(f"--episodes must be positive, got {ns.episodes}")
        if ns.episode_seed is not None and not 0 <= ns.episode_seed <= MAX_SEED:
            raise ConfigError(f"--episode-seed must be in [0, {MAX_SEED}], got {ns.episode_seed}")
        args, act, _ = load_run(ns.run_dir, ns.seed, ns.device)
        if ns.render:
            renderer(args.env_id)[0].close()  # before the evaluation, not after it
        seeds = eval_seeds(args) if ns.episode_seed is None else \
            [ns.episode_seed + k for k in range(args.num_seeds)]
        per_agent = evaluate(act, args.env_id, ns.episodes, seeds, args.device, progress=EpisodeProgress())
        report([r for r, _ in per_agent], seeds_of(args), args.env_id)
        if ns.render:
            if args.num_seeds > 1:
                args, act, _ = load_run(ns.run_dir, args.seed, ns.device)  # the first agent's episode
            path = render_episode(act, args.env_id, os.path.join(ns.run_dir, "episode.gif"),
                                  args.seed + 10_000 if ns.episode_seed is None else ns.episode_seed)
            print(f"episode written to {path}")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except gym_error.DependencyNotInstalled as e:
        print(f"error: a package is not installed: {e}", file=sys.stderr)
        return 2
    return 0


def report(per_agent_returns, seeds, env_id, out=None):
    """Print one line per seed and, for a population, the IQM line; returns the per-seed means."""
    from .stats import format_population, summary

    out = out or sys.stdout
    threshold = reward_threshold(env_id)
    means = []
    for seed, returns in zip(seeds, per_agent_returns):
        mean = sum(returns) / len(returns)
        std = (sum((r - mean) ** 2 for r in returns) / len(returns)) ** 0.5
        means.append(mean)
        line = f"eval: {mean:.2f} ± {std:.2f} over {len(returns)} episodes"
        if len(seeds) == 1 and threshold is not None:
            line += f": {'solved' if mean >= threshold else 'not solved'} ({env_id} is solved at {threshold:g})"
        print(line if len(seeds) == 1 else f"seed {seed}: eval {line[6:]}", file=out)
    if len(seeds) > 1:
        print(format_population(summary(means, threshold), threshold), file=out)
    return means


def reward_threshold(env_id):
    """The "solved" return for the env: its own `reward_threshold`, else Gymnasium's, where
    either defines one."""
    import gymnasium as gym

    import envs

    own = getattr(envs.spec(env_id).load(), "reward_threshold", None)
    if own is not None:
        return own
    try:
        spec = gym.spec(envs.gymnasium_id(env_id))
    except Exception:  # no Gymnasium counterpart (MemoryCue, plugins): no threshold
        return None
    return spec.reward_threshold


if __name__ == "__main__":
    sys.exit(main())

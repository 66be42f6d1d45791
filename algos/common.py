"""What every algorithm here uses: its agents' seeds, actions and arrays between the env and the
host, per-agent divergence handling, checkpoints and their restore, the truncation bootstrap and
episode logging. One small module, so that no algorithm imports another's internals."""

from __future__ import annotations

import math

import numpy as np

import autodiff as ad


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite: training stops, and the last good checkpoint is kept."""


MAX_SEED = 2**32 - 1


def check_ranges(args, ranges: dict):
    """Raise ValueError with one sentence naming the first setting outside its interval.
    `ranges` maps a field to interval text, "(0, 1]" or "[0, inf)"; each entry of a tuple field
    (layer sizes; empty is a linear network) is checked; None passes (optional settings such as
    target_kl). A "seed" entry also bounds the population's last seed by MAX_SEED."""
    for name, text in ranges.items():
        value = getattr(args, name)
        if value is None:
            continue
        low, high = (float(x) for x in text[1:-1].split(","))
        for v in value if isinstance(value, tuple) else (value,):
            if not (low < v if text[0] == "(" else low <= v) or not (v < high if text[-1] == ")" else v <= high):
                what = "every entry of " + name if isinstance(value, tuple) else name
                bound = ("positive" if text[0] == "(" and low == 0 else f"at least {low:g}") \
                    if high == math.inf else f"in {text}"
                raise ValueError(f"{what} must be {bound}, got {v}")
    if "seed" in ranges and getattr(args, "seed", None) is not None:
        # Seeds above 2**32 - 1 are refused as numpy's seed() and Stable-Baselines3 refuse them
        # (beyond 2**64 tensorboardX's hparams cannot even write them, after the run has started).
        count = getattr(args, "num_seeds", 1) or 1
        if args.seed + count - 1 > MAX_SEED:
            raise ValueError(f"seed must be at most {MAX_SEED} (2**32 - 1), got {args.seed}" if count == 1 else
                             f"the seeds seed ... seed + num_seeds - 1 must be at most {MAX_SEED} (2**32 - 1), "
                             f"got {args.seed} ... {args.seed + count - 1}")


def seeds_of(args) -> list:
    """The seeds of a run's agents: seed, seed + 1, ... (one agent without num_seeds)."""
    return [args.seed + k for k in range(getattr(args, "num_seeds", 1))]


def prepare(args, env=None):
    """What every algorithm's train() begins with: the settings checked, then (K agents, n
    sub-envs each, the agents' seeds, their random streams, the batched env of K x n sub-envs,
    block k seeded as the run with seed + k seeds its own; `env` when one is given)."""
    import envs

    args.validate()
    seeds = seeds_of(args)
    rng = ad.Generator(seeds, device=args.device)
    if env is None:
        env = envs.make(args.env_id, num_envs=args.num_seeds * args.num_envs, device=args.device, seed=seeds,
                        episode_statistics=True)
    return args.num_seeds, args.num_envs, seeds, rng, env


def on_device(env) -> bool:
    """Whether `env` keeps its arrays on the GPU (envs.make(..., device="cuda"))."""
    return getattr(env, "device", "cpu") == "cuda"


def env_actions(env, actions):
    """Actions as `env` takes them: the device array itself for a GPU env, numpy otherwise."""
    return actions.data if on_device(env) and actions.device == "cuda" else actions.numpy()


def to_host(array):
    """A GPU array copied to the host (checkpoints, logging); anything else as it is."""
    return array.copy_to_host() if hasattr(array, "copy_to_host") else array


def fetch(*values):
    """The values of tensors as numpy arrays, read together: from the GPU in one copy, so an
    iteration waits for the device once instead of once per figure. numpy arrays and None pass
    as they are; CPU tensors give their own values."""
    on_gpu = [v for v in values if isinstance(v, ad.Tensor) and v.device == "cuda"]
    if not on_gpu:
        return [v.numpy() if isinstance(v, ad.Tensor) else v for v in values]
    # float64 holds float32 values, int64 counts and bool flags exactly: each comes back as it was.
    host = ad.cat([v.reshape(-1).double() for v in on_gpu]).numpy() if len(on_gpu) > 1 \
        else on_gpu[0].reshape(-1).double().numpy()
    out, start = [], 0
    for v in values:
        if isinstance(v, ad.Tensor) and v.device == "cuda":
            out.append(host[start:start + v.numel()].reshape(v.shape).astype(v.dtype))
            start += v.numel()
        else:
            out.append(v.numpy() if isinstance(v, ad.Tensor) else v)
    return out


class Divergence:
    """Per-agent NaN handling for a population: an agent whose loss becomes NaN or infinite is
    put back to its parameters before the update and frozen (it acts on, but never steps again),
    and reported; the others go on. A run of one agent stops instead (TrainingDiverged), keeping
    its last good checkpoint."""

    def __init__(self, models):
        self.models = models
        self.active = [True] * models
        self.at = {}  # agent -> (step, what became non-finite)

    def keep(self, optimizer):
        """A copy of the parameters before an update (only worth it with agents to protect)."""
        bk = optimizer.params[0]._backend
        return bk.copy(optimizer.flat) if self.models > 1 else None

    def check(self, losses, step, optimizer, good, algo):
        bk = optimizer.params[0]._backend
        for a, value in enumerate(losses):
            if self.active[a] and not math.isfinite(float(value)):
                if self.models == 1:
                    raise TrainingDiverged(f"the {algo} loss became {float(value)} at step {step}")
                self.active[a] = False
                self.at[a] = (step, f"the {algo} loss became {float(value)}")
                bk.setitem(optimizer.flat, a, bk.getitem(good, a))
        if not any(self.active):
            raise TrainingDiverged(f"the {algo} loss became non-finite for every agent by step {step}")

    def state_dict(self):
        return {"active": list(self.active), "at": {str(a): list(v) for a, v in self.at.items()}}

    def load_state_dict(self, state):
        if state:
            self.active = [bool(a) for a in state["active"]]
            self.at = {int(a): (int(v[0]), str(v[1])) for a, v in state["at"].items()}


def observers(args, obs_dim, obs_norm, models=None):
    """(as_batch, observe): raw env observations as a float32 (num_envs, obs_dim) tensor on the
    device, or (models, num_envs, obs_dim) for a population, and the same normalised when
    observation normalisation is on."""
    shape = (args.num_envs, obs_dim) if models is None else (models, args.num_envs, obs_dim)

    def as_batch(raw):
        return ad.as_tensor(raw, dtype="float32", device=args.device).reshape(shape)  # used within the step

    def observe(raw):
        o = as_batch(raw)
        return obs_norm(o) if obs_norm is not None else o

    return as_batch, observe


def checkpoint(algo, global_step, iteration, raw_obs, env, rng, **parts):
    """Everything needed to resume bit for bit: the parts' state dicts (None for parts that are
    off), RNG and env state, counters and the observation the next step acts on."""
    return {"algo": algo, "global_step": global_step, "iteration": iteration, "rng": rng.get_state(),
            "env": env.get_state(), "next_obs": to_host(raw_obs),
            **{name: None if part is None else part.state_dict() for name, part in parts.items()}}


def restore(resume, env, rng, **parts):
    """Load a snapshot's state into the training objects (None parts are off in this run); returns
    (raw next observation, global step, first iteration to run)."""
    for name, part in parts.items():
        if part is not None:
            part.load_state_dict(resume.get(name))  # .get: checkpoints from before a part existed
    rng.set_state(resume["rng"])
    env.set_state(resume["env"])
    # .get: DQN counts no iterations, and its checkpoints from before it used these had none
    return resume["next_obs"], int(resume["global_step"]), int(resume.get("iteration", 0)) + 1


def bootstrap_truncated(reward, truncated, gamma, final_value, device_env):
    """The reward of a step whose episode was cut by the time limit, not ended, followed by the
    value of the state it was cut in: r + gamma V(final_obs) where `truncated`, r elsewhere (a
    terminated episode is not bootstrapped). `final_value()` computes V(final_obs) for every
    sub-env; on the CPU it runs only when some sub-env was cut, on the GPU always (no host check:
    the mask does it, and the flags never leave the device)."""
    if device_env or truncated.any():
        reward = ad.where(truncated, reward + gamma * final_value(), reward)
    return reward


class EpisodeLog:
    """Finished episodes' returns and lengths, for `log` (see `log_ended` for what is logged). From
    a CPU env they are logged as they finish; from a GPU env each step's totals and mask are
    written into rows of one device array (grown as needed, so not allocated per step) and cross
    to the host at `flush()`, once per iteration, so the rollout never waits for the host.
    `pending()` lets that copy be the one that brings the iteration's other figures (`fetch`)."""

    def __init__(self, env, log, per_agent=None):
        self.log, self.device, self.per_agent = log, on_device(env), per_agent
        self.rows, self.steps = None, []  # GPU: (capacity, 3, num_envs) returns, lengths, mask

    def add(self, info, step):
        """The episodes that ended at `step`, from info["episode"] (an env made with
        episode_statistics=True, or one wrapped in Gymnasium's RecordEpisodeStatistics)."""
        if "episode" not in info:
            return
        if not self.device:
            log_episodes(info, self.log, step, self.per_agent)
            return
        row = len(self.steps)
        if self.rows is None or row == self.rows.shape[0]:
            grown = ad.zeros(max(8, 2 * row), 3, len(info["_episode"]), dtype="float64", device="cuda")
            if row:
                grown[:row] = self.rows
            self.rows = grown
        for part, values in enumerate((info["episode"]["r"], info["episode"]["l"], info["_episode"])):
            self.rows[row, part] = ad.as_tensor(values, device="cuda")  # the env's array, cast as it is copied
        self.steps.append(step)

    def pending(self):
        """The rows written since the last flush (a device tensor), or None."""
        return self.rows[:len(self.steps)] if self.steps else None

    def flush(self, rows=None):
        """Log the pending episodes; `rows` is pending() already on the host (fetch), or None to
        copy it here."""
        if not self.steps:
            return
        if rows is None:
            rows = fetch(self.pending())[0]
        log_ended(self.log, self.steps, rows[:, 0], rows[:, 1], rows[:, 2] != 0, self.per_agent)
        self.steps.clear()


def log_episodes(info, log, step, per_agent=None):
    """Log the episodes that finished in this step (info from an env's step, see EpisodeLog.add)."""
    episode, mask = info["episode"], info.get("_episode")
    returns, lengths = np.asarray(to_host(episode["r"])), np.asarray(to_host(episode["l"]))
    mask = np.ones(len(returns), bool) if mask is None else np.asarray(to_host(mask), bool)
    if not mask.any():  # most steps of a few sub-envs
        return
    log_ended(log, [step], returns[None], lengths[None], mask[None], per_agent)


def log_ended(log, steps, returns, lengths, ended, per_agent=None):
    """Log the episodes that ended at each of `steps`: row s of the (len(steps), num_envs) arrays
    holds every sub-env's episode return and length at steps[s] and whether one ended there. With
    `per_agent` sub-envs per agent of a population, sub-env i belongs to agent i // per_agent.

    Per step and agent with episodes, one charts/episodic_return and one charts/episodic_length:
    their means (for one episode, its own figures). With thousands of sub-envs hundreds end in a
    step, and a scalar each cost a Python call and an event record apiece (~0.1 ms in
    tensorboardX) for points TensorBoard draws on top of one another anyway; the sums are numpy's,
    so the cost per step is that of the arrays plus a few calls per agent. A log that keeps a
    window of recent episodes (rl.monitor's console, rl.sweep's scores) gets their returns too,
    through `log.episodes(returns, step, agent)` before the scalars, so it still averages episodes,
    not steps."""
    step_of, env = np.nonzero(ended)  # by step, then sub-env: so by (step, agent) too
    per_agent = ended.shape[1] if per_agent is None else per_agent
    agents = -(-ended.shape[1] // per_agent)
    group = step_of * agents + env // per_agent
    bins = len(steps) * agents
    counts = np.bincount(group, minlength=bins)
    groups = np.flatnonzero(counts)  # the (step, agent)s with episodes
    counts = counts[groups]
    ended_returns = returns[step_of, env]
    # bincount adds in order, so an agent's sums are those of its episodes alone: a population's
    # agent k logs what the run with seed + k logs, bit for bit.
    mean_return = np.bincount(group, ended_returns, bins)[groups] / counts
    mean_length = np.bincount(group, lengths[step_of, env], bins)[groups] / counts
    window = getattr(log, "episodes", None)
    start = 0
    for g, count, r, length in zip(groups.tolist(), counts.tolist(), mean_return.tolist(), mean_length.tolist()):
        step, agent = steps[g // agents], g % agents
        if window is not None:
            window(ended_returns[start:start + count], step, agent)
        start += count
        log("charts/episodic_return", r, step, agent)
        log("charts/episodic_length", length, step, agent)


def log_histograms(log, update, step, model, actions):
    """Every `log.histogram_every` updates (rl.train --log-histograms N), each agent's weights,
    gradients (the update's last) and actions, as histograms through `log.histogram(tag, values,
    step, agent)`; nothing for a log that does not ask. `actions` is a (K, ...) tensor, or a
    function making one, called only when due."""
    every = getattr(log, "histogram_every", 0)
    if not every or update % every:
        return
    arrays = {"actions": actions() if callable(actions) else actions}
    for name, p in model.named_parameters():
        arrays[f"weights/{name}"] = p
        if p.grad is not None:
            arrays[f"gradients/{name}"] = p.grad
    for tag, tensor in arrays.items():
        values = tensor.numpy()
        for agent in range(values.shape[0]):
            log.histogram(tag, values[agent], step, agent)

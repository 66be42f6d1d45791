"""Learning curves aggregated over seeds: `python -m rl.plot RUN_DIR_OR_GLOB ... [--flag value ...]`.

    python -m rl.plot runs/CartPoleNoVel__*                   # one curve per run name, IQM over seeds
    python -m rl.plot runs/* --group-by algo --agg mean --out curves.svg
    python -m rl.plot sweeps/ppo-CartPole-20261202-101112     # one curve per sweep trial

A run is a directory holding TensorBoard event files: rl.train's single-seed runs, the seed_<s>
directories of a population (its own events are the population's summary), the trials of a sweep,
and runs of other tools that use the same tags (CleanRL's). Runs are grouped by algorithm, env or
name, from the run's config.json, or from its directory name, <env>__<algo>__<seed>__<time>.

As rliable draws curves (openrlbenchmark's figures are of the same kind): every run's curve is
resampled onto common steps, the ones all runs of the figure cover, and at each of them the line is
the IQM (or mean) over the group's runs and the band its 95% stratified-bootstrap confidence
interval (rl.stats). Drawn by matplotlib: pip install -e '.[plot]'.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys

import numpy as np

from . import stats
from .config import ConfigError, parse_flags
from .rundir import read_config

GROUP_BY = ("algo", "env", "name")
AGGREGATES = {"iqm": stats.iqm, "mean": np.mean}
FORMATS = (".png", ".svg", ".pdf")
# The tails that name one seed's run rather than the experiment: rl.train's `__<seed>__<time>`
# (and `-2` for a second run in the same second), CleanRL's `__<seed>__<unix time>`, a population's
# seed_<s>, and the sampled settings and date after a Ray Tune trial's id.
_SEED_AND_TIME = re.compile(r"__-?\d+__[\d-]+$")
_SEED_DIR = re.compile(r"^seed_-?\d+$")
# Ray 2.x names a trial trial_<id>_<index>_<settings>_<date>, where <id> is 8 hex digits (or,
# before, 5 hex digits and a 5-digit count); rl.sweep's final table calls it trial_<id> too.
_RAY_TRIAL = re.compile(r"^(\w+?_[0-9a-f]+(?:_\d{5})?)_\d+_.*$")


def _is_events(name: str) -> bool:
    return "tfevents" in name  # TensorBoard's own test for an event file


def _refuse(error):
    raise ConfigError(f"{error.filename} cannot be read ({error.strerror})")


def find_runs(pattern: str, left_out: list | None = None) -> list:
    """The run directories under `pattern` (a directory, or a glob of them: the files it matches
    are passed over): every directory holding event files that no directory below it also holds.
    A directory without event files is an error, or, given a `left_out` list, appended to it as
    (path, why, error) and passed over."""
    paths = [p for p in sorted(glob.glob(pattern)) if os.path.isdir(p)] if glob.has_magic(pattern) else [pattern]
    if not paths:
        raise ConfigError(f"no run matched {pattern}")
    holders = []
    for path in paths:
        if not os.path.isdir(path):
            raise ConfigError(f"{path} is not a directory" if os.path.exists(path) else f"no run matched {path}")
        found = []
        for directory, subdirs, files in os.walk(path, onerror=_refuse):
            subdirs.sort()  # the same order every time
            found += [directory] * any(map(_is_events, files))
        if not found:
            error = ConfigError(f"{path} is empty" if not os.listdir(path) else
                                f"{path} holds no TensorBoard event files (a run writes events.out.tfevents.*)")
            if left_out is None:
                raise error
            left_out.append((path, "no event files", error))
        holders += [os.path.normpath(d) for d in found]
    return [d for d in holders if not any(e.startswith(d + os.sep) for e in holders)]


def read_scalars(run_dir: str, tag: str):
    """(steps, values) of `tag` in a run's event files, read with TensorBoard's own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    if tag not in tags:
        raise ConfigError(f"{run_dir} has no scalar {tag!r}; it has "
                          + (", ".join(sorted(tags)) if tags else "none (its event files are empty or unreadable)"))
    events = acc.Scalars(tag)
    steps, values = np.array([e.step for e in events], float), np.array([e.value for e in events], float)
    finite = np.isfinite(values)  # a loss that diverged: its curve ends where it did
    if not finite.any():
        raise ConfigError(f"{run_dir} has no finite value of {tag!r}")
    return steps[finite], values[finite]


def _experiment_dir(run_dir: str) -> str:
    """The directory that names the run: a population's for one of its seeds."""
    return os.path.dirname(run_dir) if _SEED_DIR.match(os.path.basename(run_dir)) else run_dir


def _clean(part: str) -> str:
    ray = _RAY_TRIAL.match(part)
    return ray.group(1) if ray else _SEED_AND_TIME.sub("", part)


def group_keys(runs: list, by: str) -> list:
    """Each run's group: its algorithm or env (from config.json, else the directory name), or its
    name: its path below the directory the runs share, without seeds and times."""
    named = [_experiment_dir(r) for r in runs]
    if by == "name":
        root = os.path.commonpath([os.path.abspath(n) for n in named])
        if root in map(os.path.abspath, named):  # one experiment (or one inside another): name it too
            root = os.path.dirname(root)
        return ["/".join(_clean(p) for p in os.path.relpath(os.path.abspath(n), root).split(os.sep)) for n in named]
    keys = []
    for directory in named:
        try:
            algo, _, args = read_config(directory)
            keys.append(algo if by == "algo" else args.env_id)
        except ConfigError:  # no config.json (still running, or another tool's run): the name says
            parts = os.path.basename(directory).split("__")
            keys.append(parts[1 if by == "algo" else 0] if len(parts) > 1 else os.path.basename(directory))
    return keys


def cells(first, last, points):
    """The steps curves are drawn at: the centres of `points` equal cells tiling [first, last]."""
    width = (last - first) / points
    return first + width * (np.arange(points) + 0.5)


def resample(steps, values, grid):
    """A run's curve at the grid's steps (cell centres, as `cells` makes them): its points averaged
    within each cell (runs log many episodes per cell, often several at one step), the averages
    interpolated linearly."""
    width = grid[1] - grid[0]
    cell = np.floor((steps - grid[0]) / width + 0.5).astype(np.int64)
    _, which, counts = np.unique(cell, return_inverse=True, return_counts=True)
    return np.interp(grid, np.bincount(which, steps) / counts, np.bincount(which, values) / counts)


def aggregate(curves, grid, agg="iqm", reps=2000, seed=0):
    """(line, low, high) at the grid's steps: the `agg` over `curves` (a list of each run's
    (steps, values)) and its 95% bootstrap confidence interval."""
    table = np.stack([resample(s, v, grid) for s, v in curves])  # (runs, steps)
    statistic = AGGREGATES[agg]
    line = np.array([statistic(column) for column in table.T])
    band = np.array([stats.bootstrap_ci(column, statistic, reps=reps, seed=seed) for column in table.T])
    return line, band[:, 0], band[:, 1]


def common_steps(curves):
    """(first, last): the steps every curve covers."""
    first, last = max(s.min() for s, _ in curves), min(s.max() for s, _ in curves)
    if first >= last:
        raise ConfigError(f"the runs share no range of steps to compare (the latest start is step {first:,.0f}, "
                          f"the earliest end step {last:,.0f}); plot runs that overlap")
    return first, last


def draw(groups: dict, tag: str, agg: str, out: str):
    """Each group's (steps, line, low, high) as a line and a shaded band, written to `out`."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for label, (steps, line, low, high) in groups.items():
        (drawn,) = ax.plot(steps, line, label=label, linewidth=1.8)
        ax.fill_between(steps, low, high, color=drawn.get_color(), alpha=0.2, linewidth=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel("env steps")
    ax.set_ylabel(tag)
    ax.set_title(f"{agg.upper() if agg == 'iqm' else agg} over seeds, shaded: 95% bootstrap CI", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    # An SVG keeps its text as text and carries no date or random ids, so a redrawn figure
    # differs from the last one only where the curves do.
    svg = out.lower().endswith(".svg")
    try:
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "numbarl"} if svg else {}):
            fig.savefig(out, dpi=150, metadata={"Date": None} if svg else None)
    except OSError as e:
        raise ConfigError(f"cannot write {out} ({e.strerror or e})") from None


def _flags() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rl.plot", allow_abbrev=False, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR_OR_GLOB",
                        help="run directories, populations, sweeps, or globs of them")
    parser.add_argument("--tag", default="charts/episodic_return", help="the scalar to plot (default: %(default)s)")
    parser.add_argument("--group-by", default="name", choices=GROUP_BY, help="what a curve aggregates (default: name)")
    parser.add_argument("--agg", default="iqm", choices=tuple(AGGREGATES), help="the line (default: iqm)")
    parser.add_argument("--out", default="curves.png", help="the figure: .png, .svg or .pdf (default: curves.png)")
    parser.add_argument("--labels", nargs="+", help="one legend label per group, in the order the runs are given")
    parser.add_argument("--points", type=int, default=100, help="steps the curves are resampled onto (default: 100)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        flags = parse_flags(_flags(), argv)
        if os.path.splitext(flags["out"])[1].lower() not in FORMATS:
            raise ConfigError(f"--out {flags['out']}: rl.plot writes {', '.join(FORMATS)} files")
        if flags["points"] < 2:
            raise ConfigError(f"--points must be at least 2, got {flags['points']}")
        try:
            import matplotlib  # noqa: F401
            import tensorboard  # noqa: F401
        except ImportError as e:
            raise ConfigError(f"rl.plot needs {e.name}: pip install -e '.[plot]'") from None
        # A run with nothing to plot (started but stopped before its first episode, a crashed
        # start, a stray directory that `runs/*` matches) is left out with a note while others
        # have curves; it is the error only when no run has one.
        left_out = []
        runs = list(dict.fromkeys(r for pattern in flags["runs"] for r in find_runs(pattern, left_out)))
        scalars = {}
        for run in runs:
            try:
                scalars[run] = read_scalars(run, flags["tag"])
            except ConfigError as e:
                left_out.append((run, f"no {flags['tag']!r}", e))
        if not scalars:
            raise left_out[0][2]
        if left_out:
            print(f"note: left out {len(left_out)} run{'s' * (len(left_out) > 1)} with nothing to plot: "
                  + ", ".join(f"{path} ({why})" for path, why, _ in left_out), file=sys.stderr)
        runs = [r for r in runs if r in scalars]
        members = {}
        for run, key in zip(runs, group_keys(runs, flags["group_by"])):
            members.setdefault(key, []).append(run)
        labels = flags["labels"] or list(members)
        if len(labels) != len(members):
            raise ConfigError(f"{len(labels)} labels for {len(members)} groups ({', '.join(members)})")
        curves = {key: [scalars[r] for r in group] for key, group in members.items()}
        grid = cells(*common_steps([c for group in curves.values() for c in group]), flags["points"])
        groups = {f"{label}, {len(group)} seed{'s' * (len(group) > 1)}": (grid, *aggregate(group, grid, flags["agg"]))
                  for label, group in zip(labels, curves.values())}
        draw(groups, flags["tag"], flags["agg"], flags["out"])
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {flags['out']}: {flags['agg']} of {flags['tag']} for {'; '.join(groups)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""rl/plot.py on synthetic runs written with tensorboardX, whose curves are known: every seed's
return is f(step) plus that seed's offset plus per-episode noise, and the offsets' mean and IQM
are 0, so the IQM and mean over seeds are f itself."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl import plot
from rl.events import summary_writer

ROOT = Path(__file__).resolve().parents[2]
OFFSETS = (-6.0, -2.0, 2.0, 6.0)  # mean 0; IQM over 4 is the mean of the middle two, 0
TAG = "charts/episodic_return"


def f(step):
    return 200.0 * (1.0 - np.exp(-np.asarray(step, float) / 30_000.0))


def episodes(rng, offset, first, last, n=1500):
    """Episode ends at irregular steps, several at some steps (a batch of sub-envs)."""
    steps = np.repeat(np.sort(rng.integers(first, last, n // 3)), 3)
    steps[0], steps[-1] = first, last
    return steps, f(steps) + offset + rng.normal(0.0, 1.0, steps.size)


def write(run_dir, steps, values, tag=TAG):
    writer = summary_writer(run_dir)
    for s, v in zip(steps, values):
        writer.add_scalar(tag, v, int(s))
    writer.close()


def config(run_dir):
    """What rl.train writes beside the events (rundir.read_config reads a run that has both)."""
    (run_dir / "config.json").write_text(json.dumps({"algo": "ppo", "args": {"env_id": "CartPole"}}))
    (run_dir / "checkpoint.npz").write_bytes(b"")


def seeds_curves(seed=0):
    rng = np.random.default_rng(seed)
    return [episodes(rng, off, first=100 * k, last=100_000 - 300 * k) for k, off in enumerate(OFFSETS)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A population (config.json, its own summary events, seed_<s> runs), separate single-seed
    runs without config.json, and a sweep whose trial directories hold Ray's own events."""
    root = tmp_path_factory.mktemp("plot")
    population = root / "runs" / "CartPole__ppo__1__20261201-120000"
    for k, (steps, values) in enumerate(seeds_curves(0)):
        write(population / f"seed_{k + 1}", steps, values)
    write(population, [100_000], [1.0], tag="eval/iqm")
    config(population)
    for k, (steps, values) in enumerate(seeds_curves(1)):
        write(root / "runs" / f"CartPoleNoVel__rppo__{k + 1}__20261201-12000{k}", steps, values)
    sweep = root / "sweeps" / "ppo-CartPole-20261202-101112"
    for trial in ("trial_5f3a1_00000_0_learning_rate=0.001_2026-12-02_10-11-12",
                  "trial_5f3a1_00001_1_learning_rate=0.0003_2026-12-02_10-11-13"):
        write(sweep / trial, [1, 2], [0.0, 1.0], tag="ray/tune/score")
        steps, values = seeds_curves(2)[0]
        write(sweep / trial / "CartPole", steps, values)
        config(sweep / trial / "CartPole")
    return root


def test_resample_is_exact_on_a_straight_line_with_repeated_steps():
    rng = np.random.default_rng(4)
    steps = np.repeat(np.sort(rng.uniform(0, 1000, 300)), rng.integers(1, 4, 300))
    grid = plot.cells(100, 900, 37)
    np.testing.assert_allclose(grid[[0, -1]], [100 + 400 / 37, 900 - 400 / 37])
    np.testing.assert_allclose(plot.resample(steps, 3.0 * steps + 1.0, grid), 3.0 * grid + 1.0, rtol=1e-9)


@pytest.mark.parametrize("agg", ["iqm", "mean"])
def test_the_band_contains_the_known_curve_and_the_line_follows_it(agg):
    curves = seeds_curves(0)
    first, last = plot.common_steps(curves)
    assert (first, last) == (300, 100_000 - 900)  # the latest start and the earliest end
    grid = plot.cells(first, last, 100)
    line, low, high = plot.aggregate(curves, grid, agg)
    np.testing.assert_allclose(line, f(grid), atol=1.0)  # noise of std 1, averaged within each step's cell
    assert np.all(low <= f(grid)) and np.all(f(grid) <= high)
    # a band of the seeds' spread: wider than the noise, no wider than the offsets' range
    assert np.all(high - low > 1.0) and np.all(high - low < max(OFFSETS) - min(OFFSETS) + 1.0)


def test_runs_are_found_in_populations_separate_runs_and_sweeps_and_grouped(runs):
    found = plot.find_runs(str(runs / "runs" / "*")) + plot.find_runs(str(runs / "sweeps" / "*"))
    names = [os.path.relpath(r, runs) for r in found]
    assert names[:4] == [f"runs/CartPoleNoVel__rppo__{k}__20261201-12000{k - 1}" for k in range(1, 5)]
    assert names[4:8] == [f"runs/CartPole__ppo__1__20261201-120000/seed_{k}" for k in range(1, 5)]
    assert [os.path.basename(n) for n in names[8:]] == ["CartPole", "CartPole"]  # not Ray's trial dirs
    assert plot.group_keys(found, "algo") == ["rppo"] * 4 + ["ppo"] * 6  # from config.json, else the name
    assert plot.group_keys(found, "env") == ["CartPoleNoVel"] * 4 + ["CartPole"] * 6
    assert plot.group_keys(found, "name") == (
        ["runs/CartPoleNoVel__rppo"] * 4 + ["runs/CartPole__ppo"] * 4 +
        [f"sweeps/ppo-CartPole-20261202-101112/trial_5f3a1_{t}/CartPole" for t in ("00000", "00001")])
    assert plot.group_keys(found[4:8], "name") == ["CartPole__ppo"] * 4  # one population: its own name


def test_the_command_writes_png_and_svg(runs, tmp_path, capsys):
    svg = tmp_path / "curves.svg"
    assert plot.main([str(runs / "runs" / "*"), "--group-by", "algo", "--labels", "recurrent PPO", "PPO",
                      "--out", str(svg)]) == 0
    assert "recurrent PPO, 4 seeds; PPO, 4 seeds" in capsys.readouterr().out
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "recurrent PPO, 4 seeds" in text and "IQM over seeds" in text
    png = tmp_path / "curves.png"
    done = subprocess.run([sys.executable, "-m", "rl.plot", str(runs / "runs" / "CartPole__ppo__1__20261201-120000"),
                           "--agg", "mean", "--out", str(png)], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def _bad_inputs(runs, tmp):
    (tmp / "empty").mkdir()
    (tmp / "no_events").mkdir()
    (tmp / "no_events" / "config.json").write_text("{}")
    (tmp / "garbage").mkdir()
    (tmp / "garbage" / "events.out.tfevents.1.host").write_bytes(np.random.default_rng(0).bytes(300))
    write(tmp / "apart" / "early", [0, 10], [1.0, 2.0])
    write(tmp / "apart" / "late", [20, 30], [1.0, 2.0])
    population = str(runs / "runs" / "CartPole__ppo__1__20261201-120000")
    return [
        ("no run matched", [str(tmp / "nothing_*")]),
        ("no run matched", [str(tmp / "missing")]),
        ("is empty", [str(tmp / "empty")]),
        ("holds no TensorBoard event files", [str(tmp / "no_events")]),
        ("it has charts/episodic_return", [population, "--tag", "charts/episodic_retrun"]),
        ("it has none", [str(tmp / "garbage")]),
        ("invalid choice: 'seed'", [population, "--group-by", "seed"]),
        ("invalid choice: 'median'", [population, "--agg", "median"]),
        ("writes .png, .svg, .pdf files", [population, "--out", str(tmp / "curves.jpg")]),
        ("2 labels for 1 groups", [population, "--labels", "a", "b"]),
        ("share no range of steps", [str(tmp / "apart")]),
        ("unknown flag --smooth", [population, "--smooth", "3"]),
        ("cannot write", [population, "--out", str(tmp / "no_such_dir" / "curves.png")]),
    ]


def test_bad_input_gets_one_sentence_and_exit_2(runs, tmp_path, capsys):
    for expected, argv in _bad_inputs(runs, tmp_path):
        if "--out" not in argv:
            argv = [*argv, "--out", str(tmp_path / "x.png")]
        assert plot.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err and err.count("\n") == 1, (argv, err)
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.jpg"))


def test_runs_with_nothing_to_plot_are_left_out_with_a_note_while_others_have_curves(runs, tmp_path, capsys):
    """`rl.plot runs/*` (expanded by the shell, or a glob) over runs of which some hold no curve
    yet: one stopped before its first episode ended, a start that failed before any event file."""
    stopped = tmp_path / "CartPole__ppo__9__20261201-130000"
    write(stopped, [2048], [0.5], tag="charts/SPS")
    crashed = tmp_path / "CartPole__ppo__8__20261201-130000"
    crashed.mkdir()
    (crashed / "config.json").write_text("{}")
    population = runs / "runs" / "CartPole__ppo__1__20261201-120000"
    out = tmp_path / "curves.svg"
    for argv in ([str(population), str(stopped), str(crashed)], [str(runs / "runs" / "*"), str(tmp_path / "*")]):
        capsys.readouterr()
        assert plot.main([*argv, "--out", str(out)]) == 0
        printed = capsys.readouterr()
        assert "CartPole__ppo, 4 seeds" in printed.out
        assert printed.err.startswith("note: left out 2 runs with nothing to plot: ")
        assert f"{crashed} (no event files)" in printed.err and f"{stopped} (no 'charts/episodic_return')" in printed.err
    # Alone, each is still the error it was.
    for run, message in ((stopped, "has no scalar 'charts/episodic_return'"), (crashed, "holds no TensorBoard event")):
        assert plot.main([str(run), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err


def test_a_sweep_trial_is_named_by_its_id_as_rl_sweep_names_it():
    # Ray 2.60's trial directories (seen in a real rl.sweep run), and the older form with a count.
    trials = ["sweeps/tiny/trial_4045f5c7_2_learning_rate=0.0038_2026-12-07_19-51-41/CartPole",
              "sweeps/tiny/trial_fa3e9efe_1_learning_rate=0.0013_2026-12-07_19-51-39/CartPole",
              "sweeps/tiny/trial_5f3a1_00000_0_learning_rate=0.001_2026-12-02_10-11-12/CartPole"]
    assert plot.group_keys(trials, "name") == ["trial_4045f5c7/CartPole", "trial_fa3e9efe/CartPole",
                                               "trial_5f3a1_00000/CartPole"]

"""rl/sweep.py on a real Ray (no mocks): a sweep completes and its best.toml trains, ASHA stops a
trailing trial, a trial whose worker is killed goes on from its checkpoint, and bad input is one
sentence with exit status 2."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.tune")
pytest.importorskip("optuna")

from rl import sweep, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _trials(directory):
    return sorted(p for p in Path(directory).iterdir() if p.name.startswith("trial_"))


def _progress(trial_dir):
    with open(trial_dir / "progress.csv") as f:
        return list(csv.DictReader(f))


def test_a_sweep_completes_asha_stops_a_trailing_trial_and_best_toml_trains(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # One trial at a time (2 CPUs each), so the order Optuna's seeded sampler draws decides what
    # ASHA sees: with seed 4, two trials of learning rate 3e-3 (which learns in 8 iterations) and
    # then two of 1e-7 (which cannot), the first of which trails at ASHA's second rung.
    code = sweep.main(["ppo", "CartPole", "--trials", "4", "--search", "learning_rate=choice(0.003, 1e-7)",
                       "--search", "num_minibatches=choice(2,4)", "--total-timesteps", "16384", "--eval-episodes", "10",
                       "--scheduler", "asha", "--cpus-per-trial", "2", "--name", "s", "--seed", "4",
                       "--report-secs", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    trials = _trials(tmp_path / "sweeps" / "s")
    assert len(trials) == 4
    steps = [int(_progress(t)[-1]["env_steps"]) for t in trials]
    assert 16384 in steps and min(steps) < 16384, steps  # at least one trial was stopped early
    table = out[out.rindex("\n     score  "):].strip("\n").splitlines()
    assert "stopped early" in out and table[1].split()[-2] == "done"  # the best trial, first, finished
    best = (tmp_path / "sweeps" / "s" / "best.toml").read_text()
    assert "learning_rate = 0.003" in best and "total_timesteps = 16384" in best and "seed = 4" in best
    for trial_dir in trials:  # every trial's rl.train run is under the sweep's directory
        assert (trial_dir / "CartPole" / "config.json").exists()
        assert list((trial_dir / "CartPole").glob("events.out.tfevents.*"))
    capsys.readouterr()
    assert train.main(["ppo", "CartPole", "--config", "sweeps/s/best.toml", "--eval-episodes", "3"]) == 0
    assert "from sweeps/s/best.toml" in capsys.readouterr().out


def test_a_killed_trial_goes_on_from_its_checkpoint_and_counts_its_steps_once(tmp_path):
    command = [sys.executable, "-m", "rl.sweep", "ppo", "CartPole", "--trials", "1", "--search",
               "learning_rate=choice(0.003)", "--total-timesteps", "163840", "--eval-episodes", "5",
               "--checkpoint-secs", "0", "--name", "k"]
    process = subprocess.Popen(command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # wait for a checkpoint of this trial, then kill the worker that runs it
            trials = _trials(tmp_path / "sweeps" / "k") if (tmp_path / "sweeps" / "k").exists() else []
            if trials and (trials[0] / "pid").exists() and list(trials[0].glob("checkpoint_*")) \
                    and (trials[0] / "progress.csv").exists() and len(_progress(trials[0])) >= 3:
                break
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
            time.sleep(0.2)
        killed = int((trials[0] / "pid").read_text())
        os.kill(killed, signal.SIGKILL)
        out, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    trial = trials[0]
    assert int((trial / "pid").read_text()) != killed  # a new worker ran the rest
    log = (trial / "CartPole.log").read_text()
    assert "resuming" in log and "from step" in log
    rows = _progress(trial)
    assert int(rows[-1]["env_steps"]) == 163840
    import autodiff as ad

    assert ad.load(trial / "CartPole" / "checkpoint.npz")["global_step"] == 163840  # no step trained twice over
    steps = [int(r["env_steps"]) for r in rows]
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
    assert steps[restart:] == sorted(steps[restart:])  # the retry went on from the checkpoint's step, not 0
    assert steps[restart] > steps[0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv, message", [
    (["--search", "learning_rate=loguniform(1e-4)"], "loguniform takes two numbers, low and high"),
    (["--search", "learning_rate"], "is not NAME=SPACE(ARGS)"),
    (["--search", "learning_rate=normal(0,1)"], "unknown space 'normal'; valid: uniform, loguniform, int, randint, choice"),
    (["--search", "learning_rat=uniform(0.1,0.2)"], "ppo has no setting 'learning_rat'; did you mean learning_rate?"),
    (["--search", "learning_rate=loguniform(0,1)"], "loguniform needs a positive low bound"),
    (["--search", "num_envs=uniform(1,8)"], "num_envs takes int values"),
    (["--search", "num_minibatches=choice(3,4)", "--num-envs", "16", "--num-steps", "128"],
     "with num_minibatches=3 from --search, the batch of num_envs x num_steps = 2048 does not split"),
    (["--search", "gamma=uniform(0.9,1.5)"], "with gamma=1.5 from --search, gamma must be in (0, 1]"),
    ([], "nothing to search"),
    (["--search", "learning_rate=uniform(0.1,0.2)", "--trials", "0"], "--trials must be positive"),
    (["--search", "learning_rate=uniform(0.1,0.2)", "--address", "127.0.0.1:PORT"], "no Ray cluster answers there"),
])
def test_bad_input_is_one_sentence_and_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("PORT", str(_free_port())) for a in argv]
    assert sweep.main(["ppo", "CartPole", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "sweeps").exists()


def test_rl_train_does_not_import_ray():
    code = "import sys, rl.train; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV,
                          check=True).stdout.strip() == "False"


def test_search_spaces_become_tune_domains_and_best_values_read_back_as_settings():
    from algos.ppo import Args

    space = sweep.parse_space("hidden_sizes=choice((64, 64), (128,))", Args, "ppo")
    assert space.values == [(64, 64), (128,)]
    assert sweep.decode({"hidden_sizes": space.tune().categories[1]}) == {"hidden_sizes": (128,)}
    domain = sweep.parse_space("num_steps=int(32, 64)", Args, "ppo").tune()
    assert (domain.lower, domain.upper) == (32, 65)  # inclusive, as the help says
    assert sweep.parse_space("norm_obs=choice(true,false)", Args, "ppo").values == [True, False]
    assert sweep._toml((64, 64)) == "[64, 64]" and sweep._toml(True) == "true" and sweep._toml("gru") == '"gru"'
    assert json.loads(sweep._toml(0.1)) == 0.1

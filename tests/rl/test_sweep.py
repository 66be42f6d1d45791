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
    (["--search", "num_steps=int(1.5,3)"], "int(a,b) draws integers between integer bounds; write them without"),
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


@pytest.mark.parametrize("algo, envs, message", [
    ("ppo", ["NoSuchEnv"], "unknown env 'NoSuchEnv'"),
    ("ppo", ["CartPole", "Pendulumm"], "unknown env 'Pendulumm'; did you mean 'Pendulum'?"),
    ("dqn", ["CartPole", "Pendulum"], "DQN needs a discrete action space; Pendulum has Box"),
])
def test_an_env_that_cannot_run_is_one_sentence_before_ray_starts(algo, envs, message, capsys, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sweep.main([algo, *envs, "--search", "learning_rate=uniform(0.001,0.002)"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "ray" not in sys.modules or not __import__("ray").is_initialized()
    assert not (tmp_path / "sweeps").exists()


def test_a_config_file_holds_fixed_settings_and_a_search_table(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('num_envs = 4\nnum_steps = 64\n[search]\nlearning_rate = "loguniform(1e-4, 1e-2)"\n'
                      'num_minibatches = "choice(1, 2)"\n')
    algo, module, envs, fixed, spaces, options, given = sweep.parse(
        ["ppo", "CartPole", "--config", str(config), "--search", "gamma=uniform(0.9,0.99)", "--num-envs", "8"])
    assert (algo, envs, given) == ("ppo", ["CartPole"], {})
    assert fixed["num_steps"] == 64 and fixed["num_envs"] == 8  # a flag overrides the file, as in rl.train
    assert [(s.name, s.kind, s.values) for s in spaces] == [
        ("learning_rate", "loguniform", [1e-4, 1e-2]), ("num_minibatches", "choice", [1, 2]),
        ("gamma", "uniform", [0.9, 0.99])]
    config.write_text("search = 3\n")
    with pytest.raises(sweep.ConfigError, match="search must be a table"):
        sweep.parse(["ppo", "CartPole", "--config", str(config)])
    # The envs are the command line's: a file's env_id was silently replaced by them.
    config.write_text('env_id = "Pendulum"\n[search]\nlearning_rate = "loguniform(1e-4, 1e-2)"\n')
    with pytest.raises(sweep.ConfigError, match="sets env_id; the envs are the ENV arguments"):
        sweep.parse(["ppo", "CartPole", "--config", str(config)])


def test_algo_and_env_given_as_flags_are_one_sentence_with_the_command_meant():
    with pytest.raises(sweep.ConfigError, match=r"not flags: python -m rl.sweep ppo CartPole-v1 \[--flag value"):
        sweep.parse(["--algo", "ppo", "--env", "CartPole-v1", "--trials", "2"])


def test_scores_of_several_envs_are_normalised_between_a_random_policy_and_the_reward_threshold():
    import gymnasium as gym
    import numpy as np

    targets = sweep.target_scores(["CartPole", "Acrobot"], {"Acrobot": (-500.0, -100.0)})
    low, high = targets["CartPole"]
    assert high == gym.spec("CartPole-v1").reward_threshold and targets["Acrobot"] == (-500.0, -100.0)
    # Gymnasium's own CartPole under a uniform random policy, 200 episodes: the same mean, within noise
    env, rng, lengths = gym.make("CartPole-v1"), np.random.default_rng(0), []
    for episode in range(200):
        env.reset(seed=episode)
        length, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
            length, done = length + 1, terminated or truncated
        lengths.append(length)
    assert abs(low - np.mean(lengths)) < 4 * np.std(lengths) / np.sqrt(100)
    assert sweep._normalise(low, "CartPole", targets) == 0 and sweep._normalise(high, "CartPole", targets) == 1
    assert sweep._normalise(-300.0, "Acrobot", targets) == 0.5
    # at equal progress: finished envs' scores, the running one's, and 0 for the envs to come
    assert sweep._combined([1.0], 0.5, 3) == 0.5 and sweep._combined([], 0.7, 1) == 0.7


def test_an_address_where_something_else_answers_is_one_sentence(capsys, tmp_path, monkeypatch):
    import http.server
    import threading

    monkeypatch.chdir(tmp_path)

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # the server's own log would share the captured stderr
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:  # before the check, Ray itself took this address and retried it for minutes
        assert sweep.main(["ppo", "CartPole", "--search", "learning_rate=uniform(0.1,0.2)", "--address",
                           f"127.0.0.1:{server.server_port}"]) == 2
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert "something answers there, but not a Ray cluster" in err and len(err.strip().splitlines()) == 1


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

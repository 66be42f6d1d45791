"""rl/events.py and the runs rl.train writes through it: read back with TensorBoard's own reader
and served by a real TensorBoard; tensorboardX loads without torch."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from rl import train
from rl.events import HParams, add_gif, gif, summary_writer

ROOT = Path(__file__).resolve().parents[2]


def read(logdir):
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0, "images": 0, "histograms": 0})
    acc.Reload()
    return acc


def session(acc):
    start = acc.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    experiment = acc.SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content
    return (hparams_metadata.parse_session_start_info_plugin_data(start),
            [m.name.tag for m in hparams_metadata.parse_experiment_plugin_data(experiment).metric_infos])


def test_scalars_text_hparams_and_a_gif_read_back(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.standard_normal(20).astype(np.float32)
    frames = rng.integers(0, 256, (5, 12, 16, 3), dtype=np.uint8)
    writer = summary_writer(tmp_path)
    hparams = HParams(writer, {"learning_rate": 2.5e-4, "env_id": "CartPole", "anneal_lr": True,
                               "hidden_sizes": (64, 64)}, ["eval/mean_return"])
    for i, v in enumerate(values):
        writer.add_scalar("charts/episodic_return", v, i * 128)
    writer.add_scalar("eval/mean_return", 500.0, 2560)
    writer.add_text("hyperparameters", "|param|value|\n|-|-|\n|lr|0.00025|")
    add_gif(writer, "videos/eval", gif(frames), 12, 16, 2560)
    hparams.end()
    writer.close()
    acc = read(tmp_path)
    events = acc.Scalars("charts/episodic_return")
    assert [e.step for e in events] == [i * 128 for i in range(20)]
    np.testing.assert_array_equal([e.value for e in events], values)
    assert "|lr|0.00025|" in acc.Tensors("hyperparameters/text_summary")[0].tensor_proto.string_val[0].decode()
    info, metrics = session(acc)
    assert info.hparams["learning_rate"].number_value == pytest.approx(2.5e-4)
    assert info.hparams["env_id"].string_value == "CartPole" and info.hparams["anneal_lr"].bool_value is True
    assert info.hparams["hidden_sizes"].string_value == "(64, 64)"
    assert metrics == ["eval/mean_return"] and acc.Scalars("eval/mean_return")[0].value == 500.0
    image = acc.Images("videos/eval")[0]
    assert image.step == 2560 and (image.height, image.width) == (12, 16)
    assert image.encoded_image_string[:6] == b"GIF89a"
    from PIL import Image
    import io

    decoded = Image.open(io.BytesIO(image.encoded_image_string))
    assert decoded.n_frames == 5


def test_appending_to_a_run_keeps_earlier_events(tmp_path):
    for step in (1, 2):  # a resumed run writes a second file beside the first
        writer = summary_writer(tmp_path)
        writer.add_scalar("x", float(step), step)
        writer.close()
    assert [e.step for e in read(tmp_path).Scalars("x")] == [1, 2]


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert train.main(["ppo", "CartPole", "--num-seeds", "2", "--total-timesteps", "4096", "--eval-episodes", "3",
                       "--logdir", str(root), "--run-name", "pop"]) == 0
    return root


def test_every_run_is_an_hparams_session_with_its_metrics(population):
    run = population / "pop"
    for seed in (1, 2):
        acc = read(run / f"seed_{seed}")
        info, metrics = session(acc)
        assert info.hparams["algo"].string_value == "ppo" and info.hparams["run"].string_value == "pop"
        assert info.hparams["seed"].number_value == seed
        assert info.hparams["learning_rate"].number_value == pytest.approx(0.003)
        assert metrics == ["eval/mean_return", "charts/episodic_return"]
        assert {"eval/mean_return", "charts/episodic_return", "losses/value_loss"} <= set(acc.Tags()["scalars"])
    acc = read(run)  # the population's own run: its IQM over seeds
    info, metrics = session(acc)
    assert info.hparams["seeds"].string_value == "1-2" and metrics == ["eval/iqm", "eval/mean_return"]
    means = [read(run / f"seed_{s}").Scalars("eval/mean_return")[0].value for s in (1, 2)]
    assert acc.Scalars("eval/iqm")[0].value == pytest.approx(np.mean(means))  # the IQM of two is their mean
    assert json.loads((run / "config.json").read_text())["args"]["num_seeds"] == 2


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_tensorboard_serves_the_runs_and_their_tags(population):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(population), "--host",
                               "127.0.0.1", "--port", str(port), "--load_fast", "false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                runs = json.load(urllib.request.urlopen(f"{url}/data/runs", timeout=5))
                if {"pop/seed_1", "pop/seed_2", "pop"} <= set(runs):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "TensorBoard did not serve the runs within 60 s"
            time.sleep(0.5)
        tags = json.load(urllib.request.urlopen(f"{url}/data/plugin/scalars/tags", timeout=10))
        assert {"charts/episodic_return", "losses/policy_loss", "eval/mean_return"} <= set(tags["pop/seed_1"])
        assert "eval/iqm" in tags["pop"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_training_leaves_torch_unimported_even_where_it_is_importable(tmp_path):
    # A stand-in torch that any `import torch` would load (the real one may not be installed).
    (tmp_path / "site" / "torch").mkdir(parents=True)
    (tmp_path / "site" / "torch" / "__init__.py").write_text("Tensor = type('Tensor', (), {})\n")
    code = ("import sys, runpy\n"
            "sys.argv = ['rl.train', 'ppo', 'CartPole', '--total-timesteps', '2048', '--eval-episodes', '0']\n"
            "try:\n    runpy.run_module('rl.train', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "import importlib.util\n"
            "print(importlib.util.find_spec('torch') is not None, 'torch' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "True False"  # importable, and not imported


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_videos_and_histograms_read_back(algo, tmp_path):
    steps = {"ppo": ["--total-timesteps", "4096"],
             "dqn": ["--total-timesteps", "1600", "--learning-starts", "512", "--train-frequency", "256",
                     "--gradient-steps", "2"]}[algo]
    assert train.main([algo, "CartPole", *steps, "--eval-episodes", "0", "--capture-video", "--video-every", "1024",
                       "--log-histograms", "2", "--logdir", str(tmp_path), "--run-name", "v"]) == 0
    run = tmp_path / "v"
    acc = read(run)
    gifs = sorted((run / "videos").glob("step_*.gif"))
    images = acc.Images("videos/episode")
    assert len(gifs) == len(images) >= 2  # during training and at the end
    assert images[-1].encoded_image_string == gifs[-1].read_bytes()
    assert (images[-1].height, images[-1].width) == (400, 600)  # CartPole's renderer
    histograms = set(acc.Tags()["histograms"])
    weights = {"ppo": "weights/actor.0.weight", "dqn": "weights/0.weight"}[algo]
    assert {"actions", weights, weights.replace("weights/", "gradients/")} <= histograms
    actions = acc.Histograms("actions")
    assert actions[0].histogram_value.min >= 0 and actions[0].histogram_value.max <= 1  # CartPole's two actions
    updates = {"ppo": 2, "dqn": 2}[algo]  # every second update of the run's few
    assert len(actions) >= 1 and all(h.step > 0 for h in actions) and len(actions) <= 8 // updates + 1

"""rl/tensorboard.py: files it writes are read back by TensorBoard's own reader."""

import glob

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from rl.tensorboard import SummaryWriter, _masked_crc32c, _varint


def read(logdir):
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_text_and_hparams_read_back(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.standard_normal(20).astype(np.float32)
    with SummaryWriter(str(tmp_path)) as writer:
        for i, v in enumerate(values):
            writer.add_scalar("charts/episodic_return", v, i * 128)
            writer.add_scalar("losses/value_loss", -v, i * 128)
        writer.add_text("hyperparameters", "|param|value|\n|-|-|\n|lr|0.00025|")
        writer.add_hparams({"learning_rate": 2.5e-4, "env_id": "CartPole", "anneal_lr": True, "num_envs": 8})
    acc = read(str(tmp_path))
    assert set(acc.Tags()["scalars"]) == {"charts/episodic_return", "losses/value_loss"}
    events = acc.Scalars("charts/episodic_return")
    assert [e.step for e in events] == [i * 128 for i in range(20)]
    np.testing.assert_array_equal([e.value for e in events], values)
    text = acc.Tensors("hyperparameters")[0].tensor_proto.string_val[0].decode()
    assert "|lr|0.00025|" in text
    content = acc.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    assert info.hparams["learning_rate"].number_value == pytest.approx(2.5e-4)
    assert info.hparams["env_id"].string_value == "CartPole"
    assert info.hparams["anneal_lr"].bool_value is True
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 1


def test_appending_to_a_run_keeps_earlier_events(tmp_path):
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("x", 1.0, 1)
    with SummaryWriter(str(tmp_path)) as writer:  # a resumed run writes a second file beside it
        writer.add_scalar("x", 2.0, 2)
    assert [e.step for e in read(str(tmp_path)).Scalars("x")] == [1, 2]


def test_wire_format_primitives():
    assert _varint(0) == b"\x00" and _varint(300) == b"\xac\x02"
    assert len(_varint(-1)) == 10  # int64 -1 as protobuf writes it
    # CRC-32C's published check value for "123456789" is 0xE3069283; TFRecord stores it masked.
    crc = 0xE3069283
    assert _masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

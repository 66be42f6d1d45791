"""algos/rollout.py: the rollout buffer's shapes and its flattened view."""

import numpy as np

import autodiff as ad
from algos.rollout import RolloutBuffer


def test_rollout_buffer_shapes_and_flattening():
    buf = RolloutBuffer(5, 3, (4,), (), "int64")
    assert buf.obs.shape == (5, 3, 4) and buf.actions.dtype == np.int64
    buf.obs[2] = ad.ones(3, 4)
    flat = buf.flat("obs")
    assert flat.shape == (15, 4)
    np.testing.assert_array_equal(flat.numpy()[6:9], 1)  # step-major: step 2 holds rows 6..8

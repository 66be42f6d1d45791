import numpy as np
import pytest

import autodiff as ad


@pytest.fixture
def rng():
    """Fresh random inputs, fixed seed: every test draws its own."""
    return np.random.default_rng(1234)


def leaf(rng, *shape, positive=False, low=None):
    """A float64 leaf tensor that requires grad, with entries away from kinks and zero."""
    x = rng.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.5
    return ad.tensor(x, requires_grad=True)

"""The second-order degradation: determinism, shapes, kernels, odd sizes, bicubic LR."""

from __future__ import annotations

import numpy as np
import pytest

from pocketsr.model.degradation import (
    FIRST_BLUR,
    KERNEL_SIZE,
    SECOND_BLUR,
    bicubic_lr,
    degrade,
    degrade_fixed,
    mixed_kernel,
    sinc_kernel,
)


@pytest.fixture(scope="module")
def hr() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:164, 180:244])


def test_degrade_fixed_is_deterministic_per_seed(hr):
    a = degrade_fixed(hr, seed=1)
    assert a.shape == (16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, degrade_fixed(hr, seed=1))
    assert not np.array_equal(a, degrade_fixed(hr, seed=2))


@pytest.mark.parametrize("settings", [FIRST_BLUR, SECOND_BLUR])
def test_kernels_are_21x21_and_sum_to_one(settings):
    rng = np.random.default_rng(0)
    for _ in range(40):
        k = mixed_kernel(rng, settings)
        assert k.shape == (KERNEL_SIZE, KERNEL_SIZE) == (21, 21)
        assert abs(k.sum() - 1) < 1e-6
        assert np.isfinite(k).all()
    for size, cutoff in ((7, np.pi / 2), (21, np.pi / 4)):
        k = sinc_kernel(cutoff, size)
        assert k.shape == (21, 21) and abs(k.sum() - 1) < 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_degrade_works_on_odd_crop_sizes(hr, seed):
    odd = np.ascontiguousarray(hr[:61, :55])
    lr = degrade(odd, np.random.default_rng(seed))
    assert lr.shape == (61 // 4, 55 // 4, 3) and lr.dtype == np.uint8
    lr_f = degrade(odd.astype(np.float32) / 255, np.random.default_rng(seed))
    assert lr_f.shape == lr.shape


def test_bicubic_lr_shape_and_content(hr):
    lr = bicubic_lr(hr[:62, :57])
    assert lr.shape == (15, 14, 3) and lr.dtype == np.uint8
    # A plain downscale keeps the mean colour.
    assert np.abs(lr.mean((0, 1)) - hr[:60, :56].mean((0, 1))).max() < 6

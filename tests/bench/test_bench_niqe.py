"""Unit tests for NIQE in bench.niqe (need ../shared/data/niqe_pris_params.npz)."""

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from bench.niqe import fit_aggd, fit_ggd, imresize_half, niqe

PARAMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "niqe_pris_params.npz"


@pytest.fixture(scope="module")
def params() -> Path:
    if not PARAMS.is_file():
        pytest.skip(f"NIQE pristine parameters not found at {PARAMS}")
    return PARAMS


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    skdata = pytest.importorskip("skimage.data")
    return skdata.astronaut()


def test_ggd_fit_recovers_gaussian_shape():
    x = np.random.default_rng(0).normal(0, 2.0, 200_000)
    alpha, var = fit_ggd(x)
    assert alpha == pytest.approx(2.0, abs=0.05)
    assert var == pytest.approx(4.0, rel=0.02)
    a, left, right = fit_aggd(x)
    assert a == pytest.approx(2.0, abs=0.05)
    assert left == pytest.approx(right, rel=0.02)


def test_aggd_fit_recovers_laplacian_shape():
    x = np.random.default_rng(1).laplace(0, 1.0, 200_000)
    assert fit_aggd(x)[0] == pytest.approx(1.0, abs=0.05)


def test_half_resize_of_constant_is_constant():
    out = imresize_half(np.full((96, 50), 7.0))
    assert out.shape == (48, 25)
    np.testing.assert_allclose(out, 7.0)


def test_niqe_clean_natural_image_in_plausible_range(params, astronaut):
    # Measured 3.10 on astronaut (512x512).
    assert 2.0 < niqe(astronaut, params) < 7.0


def test_niqe_grows_with_noise(params, astronaut):
    rng = np.random.default_rng(0)
    clean = niqe(astronaut, params)
    noisy = np.clip(astronaut + rng.normal(0, 10, astronaut.shape), 0, 255).astype(np.uint8)
    # Measured 3.10 clean, 6.64 with sigma 10 noise.
    assert niqe(noisy, params) > clean + 1.0


def test_niqe_grows_with_blur(params, astronaut):
    blurred = np.stack(
        [gaussian_filter(astronaut[..., c].astype(np.float64), 2.0) for c in range(3)], axis=-1
    )
    blurred = np.clip(np.round(blurred), 0, 255).astype(np.uint8)
    # Measured 3.10 clean, 7.30 with a sigma 2 Gaussian blur.
    assert niqe(blurred, params) > niqe(astronaut, params) + 1.0


def test_niqe_rejects_tiny_images(params):
    with pytest.raises(ValueError):
        niqe(np.zeros((50, 50, 3), np.uint8), params)

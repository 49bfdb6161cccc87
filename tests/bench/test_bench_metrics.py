"""Unit tests for PSNR-Y and SSIM-Y in bench.metrics."""

import io
import math

import numpy as np
import pytest

from bench.metrics import crop_border, psnr, psnr_y, rgb_to_y, ssim, ssim_y


def _natural() -> np.ndarray:
    skdata = pytest.importorskip("skimage.data")
    return skdata.astronaut()[128:320, 128:320]


def test_y_of_black_and_white():
    img = np.zeros((2, 2, 3), np.uint8)
    img[1] = 255
    y = rgb_to_y(img)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[1, 0] == pytest.approx(235.0)


def test_gray_input_equals_rgb_replicated():
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_allclose(rgb_to_y(g), rgb_to_y(np.repeat(g[:, :, None], 3, 2)))


def test_psnr_identical_is_inf():
    img = _natural()
    assert psnr_y(img, img) == math.inf
    assert psnr_y(img, img, border=4) == math.inf


def test_psnr_constant_offset_closed_form():
    a = np.full((32, 32), 100.0)
    for d in (1.0, 2.5, 10.0):
        assert psnr(a + d, a) == pytest.approx(20 * math.log10(255.0 / d), abs=1e-9)


def test_psnr_y_gray_offset_closed_form():
    # A gray level offset of d changes Y by d * (65.481 + 128.553 + 24.966) / 255 = d * 219 / 255.
    a = np.full((16, 16, 3), 100, np.uint8)
    b = a + 5
    dy = 5 * 219.0 / 255.0
    assert psnr_y(b, a) == pytest.approx(20 * math.log10(255.0 / dy), abs=1e-9)


def test_border_crop_ignores_border_errors():
    a = np.full((20, 20, 3), 128, np.uint8)
    b = a.copy()
    b[:4] = 0
    assert psnr_y(a, b) < 20
    assert psnr_y(a, b, border=4) == math.inf
    assert crop_border(np.zeros((20, 30)), 4).shape == (12, 22)


def test_ssim_identical_is_one():
    img = _natural()
    assert ssim_y(img, img) == pytest.approx(1.0, abs=1e-12)


def test_ssim_symmetric_and_below_one_for_noise():
    img = _natural()
    rng = np.random.default_rng(0)
    noisy = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    s1, s2 = ssim_y(img, noisy), ssim_y(noisy, img)
    assert s1 == pytest.approx(s2, abs=1e-12)
    assert 0.0 < s1 < 0.99
    more = np.clip(img + rng.normal(0, 30, img.shape), 0, 255).astype(np.uint8)
    assert ssim_y(img, more) < s1


def test_ssim_matches_skimage_gaussian_definition():
    metrics = pytest.importorskip("skimage.metrics")
    img = _natural()
    rng = np.random.default_rng(1)
    noisy = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    a, b = rgb_to_y(img), rgb_to_y(noisy)
    ref = metrics.structural_similarity(
        a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-6)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        psnr_y(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))


@pytest.mark.parametrize("sigma", [3.0, 10.0])
def test_noise_sigma_recovers_added_gaussian_noise(sigma):
    from bench.metrics import noise_sigma

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    smooth = 90 + 60 * np.sin(xx / 40.0) * np.cos(yy / 55.0)
    grey = np.clip(smooth + rng.normal(0, sigma, smooth.shape), 0, 255).round().astype(np.uint8)
    img = np.repeat(grey[:, :, None], 3, axis=2)
    # Y of equal R, G and B is 16 + 219/255 of the grey value, so sigma shrinks by that factor.
    assert noise_sigma(img) == pytest.approx(sigma * 219 / 255, rel=0.12)


def test_noise_left_tells_a_denoiser_from_a_plain_resize():
    from PIL import Image

    from bench.metrics import noise_left

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:96, 0:96]
    clean = 100 + 50 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    noisy = np.clip(clean + rng.normal(0, 8, clean.shape), 0, 255).round().astype(np.uint8)
    lr = np.repeat(noisy[:, :, None], 3, axis=2)
    resized = np.asarray(Image.fromarray(lr).resize((384, 384), Image.Resampling.BICUBIC))
    clean_lr = np.repeat(clean.round().astype(np.uint8)[:, :, None], 3, axis=2)
    denoised = np.asarray(Image.fromarray(clean_lr).resize((384, 384), Image.Resampling.BICUBIC))
    assert noise_left(lr, resized) > 0.45  # measured 0.53 on white noise (0.73 on real photos)
    assert noise_left(lr, denoised) < 0.25


def test_blocks_left_tells_a_deblocker_from_a_plain_resize():
    from PIL import Image

    from bench.metrics import block_edge_excess, blocks_left

    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:96, 0:96]
    clean = 120 + 60 * np.sin(xx / 11.0) * np.cos(yy / 7.0) + rng.normal(0, 2, xx.shape)
    clean_rgb = np.repeat(np.clip(clean, 0, 255).round().astype(np.uint8)[:, :, None], 3, axis=2)
    encoded = io.BytesIO()
    Image.fromarray(clean_rgb).save(encoded, "JPEG", quality=15)
    blocky = np.asarray(Image.open(encoded).convert("RGB"))
    assert block_edge_excess(clean_rgb) < 0.25 <= block_edge_excess(blocky)

    def up(img: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(img).resize((384, 384), Image.Resampling.BICUBIC))

    assert np.isnan(blocks_left(clean_rgb, up(clean_rgb)))  # nothing to measure
    assert blocks_left(blocky, up(blocky)) > 0.45  # a plain resize keeps them
    assert blocks_left(blocky, up(clean_rgb)) < 0.2  # the blocks gone
    shifted = np.roll(blocky, (3, 5), axis=(0, 1))  # blocks off the (0, 0) grid are not seen
    assert block_edge_excess(shifted) < 0.25


def _smooth_photo_like(size: int, seed: int) -> np.ndarray:
    """A smooth random field in 0..255 (no structure locked to any pixel grid)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(size, size)), 6)
    field = (field - field.min()) / (field.max() - field.min())
    return np.repeat((40 + 170 * field)[..., None], 3, axis=2)


def test_grid_peak_tells_a_pixel_shuffle_grid_from_clean_content():
    from bench.metrics import grid_peak_db

    clean = _smooth_photo_like(256, seed=1)
    rng = np.random.default_rng(2)
    phase = rng.normal(size=(4, 4))  # one offset per output phase: a pixel-shuffle grid
    grid = np.tile(phase - phase.mean(), (64, 64))[..., None] * 1.0  # RMS about 1 level
    clean8 = np.clip(np.round(clean), 0, 255).astype(np.uint8)
    gridded8 = np.clip(np.round(clean + grid), 0, 255).astype(np.uint8)
    assert grid_peak_db(clean8) < 3
    assert grid_peak_db(gridded8) > grid_peak_db(clean8) + 10
    # A shifted copy of the same grid is as visible: the measure does not depend on alignment.
    shifted = np.clip(np.round(clean + np.roll(grid, (1, 2), (0, 1))), 0, 255).astype(np.uint8)
    assert abs(grid_peak_db(shifted) - grid_peak_db(gridded8)) < 3
    with pytest.raises(ValueError, match="smaller"):
        grid_peak_db(clean8[:32, :32])

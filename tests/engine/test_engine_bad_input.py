"""Bad input: a clear InvalidImageError/InvalidOptionError sentence, and the engine still works."""

from __future__ import annotations

import numpy as np
import pytest

from pocketsr.engine import InvalidImageError, InvalidOptionError, Rect, Size, Upscaler

GOOD = np.full((12, 10, 3), 0.5, np.float32)


@pytest.fixture(scope="module")
def up(sr_model_x4) -> Upscaler:
    return Upscaler(sr_model_x4, device="cpu", threads=1)


def nan_image() -> np.ndarray:
    image = GOOD.copy()
    image[3, 4, 1] = np.nan
    return image


def inf_image() -> np.ndarray:
    image = GOOD.astype(np.float16)
    image[0, 0, 0] = np.inf
    return image


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((10, 0), np.float32), "empty"),
        (np.zeros((4, 4, 5), np.uint8), "5 channels"),
        (np.zeros((4, 4, 3), np.int64), "int64 pixels are not supported"),
        (np.zeros((4, 4, 3), bool), "bool pixels are not supported"),
        (np.zeros((2, 4, 4, 3), np.uint8), "4 dimensions"),
        (np.zeros(7, np.uint8), "1 dimensions"),
        (nan_image(), "NaN or infinite"),
        (inf_image(), "NaN or infinite"),
    ],
)
def test_bad_images(up, image, message):
    with pytest.raises(InvalidImageError, match=message):
        up.upscale(image)
    assert up.upscale(GOOD).shape == (48, 40, 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 0}, "out of range"),
        ({"scale": 17}, "out of range"),
        ({"scale": 4.5}, "out of range"),
        ({"scale": 0.5}, "out of range"),
        ({"scale": float("nan")}, "out of range"),
        ({"scale": "4"}, "must be a number"),
        ({"scale": 2, "size": Size(20, 24)}, "not both"),
        ({"size": Size(41, 48)}, "larger than"),
        ({"size": (0, 0)}, "not a valid size"),
        ({"roi": Rect(8, 0, 5, 5)}, "ROI"),
        ({"roi": Rect(-1, 0, 5, 5)}, "ROI"),
        ({"roi": Rect(0, 0, 0, 5)}, "ROI"),
        ({"roi": (0, 0, 10, 13)}, "ROI"),
        ({"roi": "all"}, "ROI"),
        ({"tile": -5}, "tile"),
        ({"tile": "big"}, "tile"),
        ({"out": np.zeros((48, 40, 3), np.uint8)}, "needs"),
        ({"out": np.zeros((40, 48, 3), np.float32)}, "needs"),
    ],
)
def test_bad_options(up, options, message):
    with pytest.raises(InvalidOptionError, match=message):
        up.upscale(GOOD, **options)
    assert up.upscale(GOOD).shape == (48, 40, 3)


def test_bad_device(sr_model_x4):
    with pytest.raises(InvalidOptionError, match="Unknown device"):
        Upscaler(sr_model_x4, device="quantum")


def test_read_only_out(up):
    out = np.zeros((48, 40, 3), np.float32)
    out.flags.writeable = False
    with pytest.raises(InvalidOptionError, match="read-only"):
        up.upscale(GOOD, out=out)

"""The dialogs' preview (pocketsr_link.preview): the crop it picks, and that its after pixels
are the engine's region output and its before pixels the source, enlarged."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketsr.engine import Upscaler
from pocketsr.plugin.pocketsr_link import InProcessEngine
from pocketsr.plugin.pocketsr_link.preview import (
    enlarge,
    preview_region,
    render_preview,
    to_rgba8,
)
from pocketsr.plugin.pocketsr_link.wire import Rect, Size, UpscaleOptions


@given(
    st.integers(1, 3000),
    st.integers(1, 3000),
    st.floats(1.0, 8.0),
    st.one_of(st.none(), st.tuples(st.integers(0, 2999), st.integers(0, 2999))),
)
def test_the_region_is_inside_the_image_and_about_the_view(w, h, factor, corner):
    image = Size(w, h)
    box = None
    if corner is not None:
        box = Rect(corner[0] % w, corner[1] % h, 1, 1)
    region = preview_region(image, box, (factor, factor), 256)
    assert Rect.of_size(image).contains(region) and not region.is_empty
    assert region.width == min(w, max(1, round(256 / factor)))
    if box is not None and region.width < w:  # centred on the box where the image allows
        assert region.x <= box.x <= region.right


def _as_rgba8(pixels: np.ndarray) -> np.ndarray:
    h, w, c = pixels.shape
    return np.frombuffer(to_rgba8(pixels.tobytes(), w, h, c, str(pixels.dtype)), np.uint8).reshape(
        h, w, 4
    )


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float16"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_rgba8_conversion_of_every_layout(dtype: str, channels: int) -> None:
    rng = np.random.default_rng(channels)
    unit = rng.random((3, 5, channels))
    if dtype.startswith("float"):
        pixels = unit.astype(dtype)
    else:
        pixels = np.round(unit * np.iinfo(dtype).max).astype(dtype)
    got = _as_rgba8(pixels)
    want = np.round(unit * 255) if dtype != "uint16" else np.floor(pixels / 257.0)
    colour = [0, 0, 0] if channels <= 2 else [0, 1, 2]
    assert np.abs(got[..., :3].astype(int) - want[..., colour]).max() <= 1
    alpha = want[..., -1] if channels in (2, 4) else 255
    assert np.abs(got[..., 3].astype(int) - alpha).max() <= 1


def test_enlarge_repeats_pixels() -> None:
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    big = np.frombuffer(enlarge(rgba.tobytes(), Size(3, 2), Size(6, 4)), np.uint8)
    assert np.array_equal(big.reshape(4, 6, 4), rgba.repeat(2, 0).repeat(2, 1))


@pytest.mark.parametrize("options", [UpscaleOptions(), UpscaleOptions(scale=2, strength=0.5)])
def test_the_preview_is_the_engines_region_output(options: UpscaleOptions) -> None:
    rng = np.random.default_rng(2)
    image = (rng.random((300, 400, 3)) * 255).astype(np.uint8)
    box = Rect(250, 40, 30, 30)
    reads = []

    def read(rect):
        reads.append(rect)
        return image[rect.y : rect.bottom, rect.x : rect.right].tobytes()

    engine = InProcessEngine()
    started = time.perf_counter()
    preview = render_preview(engine, read, Size(400, 300), 3, "uint8", box, options)
    took = time.perf_counter() - started
    factor = options.scale or 4
    region = preview.region
    assert preview.size == Size(256, 256) and region.size == Size(256 // factor, 256 // factor)
    assert region.contains(box)
    assert len(reads) == 1 and reads[0].contains(region) and reads[0] != Rect(0, 0, 400, 300)
    strength = {"strength": options.strength} if options.strength is not None else {}
    expected = Upscaler().upscale(image, roi=region, scale=options.scale, **strength)
    after = np.frombuffer(preview.after, np.uint8).reshape(256, 256, 4)
    assert np.array_equal(after[..., :3], expected) and (after[..., 3] == 255).all()
    before = np.frombuffer(preview.before, np.uint8).reshape(256, 256, 4)
    crop = image[region.y : region.bottom, region.x : region.right]
    assert np.array_equal(before[..., :3], crop.repeat(factor, 0).repeat(factor, 1))
    assert 0 < preview.seconds <= took  # the speed is measured in bench/preview.py
    assert preview.model.name == "pocketsr-nano" and preview.model.has_strength


def test_the_preview_names_the_model_so_a_dialog_can_grey_out_strength(sr_model_x2) -> None:
    image = np.zeros((20, 24, 3), np.uint8)

    def read(rect):
        return image[rect.y : rect.bottom, rect.x : rect.right].tobytes()

    options = UpscaleOptions(model=str(sr_model_x2), strength=0.5)
    preview = render_preview(InProcessEngine(), read, Size(24, 20), 3, "uint8", None, options)
    assert preview.model.name == "test-sr" and not preview.model.has_strength
    assert preview.size == Size(48, 40)  # no partner: the strength was left out, not refused

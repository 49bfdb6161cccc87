"""The Upscaler: seamless tiles, ROI, dtypes, alpha, scale, progress, cancel, out=, fallbacks."""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings

import numpy as np
import onnxruntime as ort
import pytest
from onnx_models import make_sr_model
from PIL import Image

from pocketsr.engine import (
    Cancelled,
    CancelToken,
    ModelError,
    OutOfMemoryError,
    Rect,
    Size,
    Upscaler,
    embedded_models,
)
from pocketsr.engine import upscaler as upscaler_module
from pocketsr.engine.upscaler import bleed_colour


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural 128x112 RGB float32 photo (scikit-image's astronaut), or texture without it."""
    try:
        from skimage import data

        pixels = data.astronaut()[40:168, 180:292]
    except ImportError:  # pragma: no cover - scikit-image is a dev dependency
        rng = np.random.default_rng(0)
        pixels = Image.fromarray(rng.integers(0, 256, (32, 28, 3), np.uint8)).resize((112, 128))
    return np.asarray(pixels, np.float32) / 255


@pytest.fixture(scope="module")
def up4(sr_model_x4) -> Upscaler:
    return Upscaler(sr_model_x4, device="cpu", threads=1)


@pytest.fixture(scope="module")
def up2(sr_model_x2) -> Upscaler:
    return Upscaler(sr_model_x2, device="cpu", threads=1)


@pytest.fixture(scope="module")
def whole4(up4, photo) -> np.ndarray:
    return up4.upscale(photo, tile=None)


class CountingSession:
    """Wraps a ModelSession, counting runs and the input pixels they cost."""

    def __init__(self, inner, broken_calls=(), black_calls=()):
        self.inner, self.calls, self.pixels = inner, 0, 0
        self.broken_calls, self.black_calls = set(broken_calls), set(black_calls)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, batch, cancel=None):
        self.calls += 1
        self.pixels += batch.shape[2] * batch.shape[3]
        result = self.inner.run(batch, cancel)
        if self.calls in self.broken_calls:
            result[..., 3:9, 5:7] = np.nan
        if self.calls in self.black_calls:
            result[...] = 0
        return result


@pytest.fixture
def counted(up4):
    original = up4._session
    up4._session = CountingSession(original)
    yield up4
    up4._session = original


def test_whole_image_run_matches_raw_onnx_runtime(sr_model_x4, photo, whole4):
    raw = ort.InferenceSession(str(sr_model_x4)).run(
        None, {"input": photo.transpose(2, 0, 1)[None]}
    )
    raw = np.clip(raw[0][0].transpose(1, 2, 0), 0, 1)
    # The model zero-pads at the border, the engine reflect-pads: compare the interior.
    assert psnr(raw[16:-16, 16:-16], whole4[16:-16, 16:-16]) >= 60


@pytest.mark.parametrize("tile", [64, 100, "auto"])
def test_tiles_do_not_show(up4, photo, whole4, tile):
    assert psnr(up4.upscale(photo, tile=tile), whole4) >= 50


def test_tiles_do_not_show_with_a_size_multiple(sr_model_m8, photo):
    up = Upscaler(sr_model_m8, device="cpu", threads=1)
    odd = photo[:101, :75]
    assert psnr(up.upscale(odd, tile=48), up.upscale(odd, tile=None)) >= 50


def test_roi_equals_the_same_region_of_the_whole_image(up4, photo, whole4):
    for roi in (Rect(10, 20, 60, 50), Rect(0, 0, 33, 17), Rect(80, 100, 32, 28)):
        part = up4.upscale(photo, roi=roi, tile=64)
        assert part.shape == (roi.height * 4, roi.width * 4, 3)
        assert psnr(part, whole4[roi.scaled(4).slices]) >= 50


def test_roi_cost_grows_with_its_area_not_the_image(counted, photo):
    costs = []
    for roi in (Rect(40, 40, 16, 16), Rect(20, 20, 64, 64), None):
        counted._session.calls = counted._session.pixels = 0
        counted.upscale(photo, roi=roi, tile=48)
        costs.append((counted._session.calls, counted._session.pixels))
    (small_calls, small_px), (mid_calls, mid_px), (full_calls, full_px) = costs
    assert small_calls == 1 and small_calls < mid_calls < full_calls
    assert small_px < mid_px < full_px
    assert small_px < 0.2 * full_px


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_every_dtype_and_channel_layout_round_trips(up2, dtype, channels):
    rng = np.random.default_rng(1)
    shape = (19, 23) if channels is None else (19, 23, channels)
    values = rng.random(shape)
    if np.issubdtype(dtype, np.integer):
        image = (values * np.iinfo(dtype).max).astype(dtype)
    else:
        image = values.astype(dtype)
    result = up2.upscale(image, tile=16)
    assert result.dtype == np.dtype(dtype)
    assert result.shape == ((38, 46) if channels is None else (38, 46, channels))


def test_uint16_keeps_its_precision(up2):
    ramp = np.linspace(30000, 30300, 40 * 40).reshape(40, 40)
    image = np.repeat(ramp[..., None], 3, axis=2).astype(np.uint16)  # not multiples of 257
    result = up2.upscale(image)
    inside = result[(result > 0) & (result < 65535)]  # clipped values say nothing
    assert inside.size > 0.9 * result.size
    assert np.mean(inside % 257 == 0) < 0.05, "the output looks quantised to 8 bits"
    assert len(np.unique(result)) > 200
    as_float = up2.upscale(image.astype(np.float32) / 65535)
    assert np.abs(result / 65535 - as_float).max() <= 1 / 65535


def test_grayscale_runs_as_rgb_and_returns_one_channel(up2, photo):
    gray = photo.mean(axis=2)
    result = up2.upscale(gray)
    rgb = up2.upscale(np.repeat(gray[..., None], 3, axis=2))
    assert result.shape == (256, 224)
    unclipped = ((rgb > 0) & (rgb < 1)).all(axis=2)
    np.testing.assert_allclose(result[unclipped], rgb.mean(axis=2)[unclipped], atol=1e-6)


def test_alpha_bleeds_colour_into_transparent_pixels():
    colour = np.zeros((4, 4, 3), np.float32)
    colour[:, :2] = (1, 0, 0)
    alpha = np.zeros((4, 4), np.float32)
    alpha[:, :2] = 1
    filled = bleed_colour(colour, alpha)
    np.testing.assert_array_equal(filled[:, 2:], np.broadcast_to((1, 0, 0), (4, 2, 3)))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_no_dark_fringes_at_transparent_edges(up4, dtype):
    top = 255 if dtype == np.uint8 else 1.0
    image = np.zeros((24, 24, 4), dtype)
    image[:, :12] = (top, 0.6 * top, 0, top)  # opaque orange left, transparent black right
    result = up4.upscale(image).astype(np.float32) / top
    alpha = result[..., 3]
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert alpha[:, :32].min() > 0.99 and alpha[:, 64:].max() < 0.01  # Lanczos rings near 48
    visible = alpha > 0.02
    assert result[..., 0][visible].min() > 0.95, "colour darkened near the transparent edge"
    assert np.abs(result[..., 1][visible] - 0.6).max() < 0.05


def test_native_scale_and_smaller_factors(up4, photo, whole4):
    assert up4.upscale(photo, scale=4).shape == whole4.shape
    half = up4.upscale(photo, scale=2)
    assert half.shape == (256, 224, 3)
    reference = np.stack(
        [
            np.asarray(Image.fromarray(whole4[..., c]).resize((224, 256), Image.LANCZOS))
            for c in range(3)
        ],
        axis=-1,
    )
    assert psnr(half[8:-8, 8:-8], reference[8:-8, 8:-8]) >= 45
    assert up4.upscale(photo, scale=2.5).shape == (320, 280, 3)
    assert psnr(up4.upscale(photo, scale=3, tile=48), up4.upscale(photo, scale=3, tile=None)) >= 50


def test_target_size_keeps_the_aspect_when_one_side_is_zero(up4, photo):
    assert up4.upscale(photo, size=Size(224, 0)).shape == (256, 224, 3)
    assert up4.upscale(photo, size=(0, 300)).shape == (300, 262, 3)
    assert up4.upscale(photo, size=Size(300, 200)).shape == (200, 300, 3)


def test_one_pixel_image_works(up4):
    result = up4.upscale(np.full((1, 1, 3), 0.5, np.float32))
    assert result.shape == (4, 4, 3)
    np.testing.assert_allclose(result, 0.5, atol=0.05)


def test_progress_covers_the_output_once_in_order(up4, photo, whole4):
    reports = []
    up4.upscale(photo, tile=48, progress=lambda p: reports.append((p, np.array(p.pixels))))
    assert [p.done for p, _ in reports] == list(range(1, len(reports) + 1))
    assert len(reports) > 4 and all(p.total == len(reports) for p, _ in reports)
    covered = np.zeros(whole4.shape[:2], np.int32)
    for report, pixels in reports:
        covered[report.rect.slices] += 1
        assert report.elapsed >= 0 and report.eta is not None and report.eta >= 0
        # The pixels were final when reported: they equal the finished result.
        assert psnr(pixels, whole4[report.rect.slices]) >= 50
    assert (covered == 1).all()
    assert reports[-1][0].eta == 0


@pytest.mark.parametrize("ahead", [False, True])
def test_cancel_stops_within_one_tile_and_the_next_call_works(counted, photo, whole4, ahead):
    counted.run_ahead = ahead
    token = CancelToken()
    seen = []

    def on_progress(report):
        seen.append(report.done)
        if report.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        counted.upscale(photo, tile=48, progress=on_progress, cancel=token)
    # Run ahead, tile 3's network run had started before tile 2's report set the token.
    assert seen == [1, 2] and counted._session.calls in ((2, 3) if ahead else (2,))
    counted.run_ahead = True
    token.reset()
    assert psnr(counted.upscale(photo, tile=48, cancel=token), whole4) >= 50


def test_a_cancelled_token_stops_before_any_tile(counted, photo):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        counted.upscale(photo, cancel=token)
    assert counted._session.calls == 0


def test_out_memmap_is_written_in_place(up4, photo, whole4, tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "out.npy", "w+", np.float32, whole4.shape)
    result = up4.upscale(photo, tile=64, out=out)
    assert result is out
    out.flush()
    assert psnr(np.load(tmp_path / "out.npy"), whole4) >= 50


class AllocationFailure(Exception):
    """Stands in for onnxruntime's RuntimeException with its allocation message."""


class OutOfMemoryOrt:
    """Wraps the raw ORT session; only the allocation failure is mocked, the rest runs."""

    def __init__(self, inner, max_pixels):
        self.inner, self.max_pixels, self.sizes = inner, max_pixels, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, names, feed, options=None):
        batch = next(iter(feed.values()))
        self.sizes.append(batch.shape[2] * batch.shape[3])
        if self.sizes[-1] > self.max_pixels:
            raise AllocationFailure(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while "
                "running Conv node. Status Message: Failed to allocate memory for requested buffer"
            )
        return self.inner.run(names, feed, options)


def test_out_of_memory_retries_with_smaller_tiles(sr_model_x4, photo, whole4):
    up = Upscaler(sr_model_x4, device="cpu", threads=1)
    fake = OutOfMemoryOrt(up._session._ort, max_pixels=80 * 80)
    up._session._ort = fake
    result = up.upscale(photo, tile=256)
    assert psnr(result, whole4) >= 50
    assert max(fake.sizes) > 80 * 80 and fake.sizes[-1] <= 80 * 80


def test_out_of_memory_at_the_smallest_tile_is_an_error(sr_model_x4, photo):
    up = Upscaler(sr_model_x4, device="cpu", threads=1)
    up._session._ort = OutOfMemoryOrt(up._session._ort, max_pixels=10)
    with pytest.raises(OutOfMemoryError, match="Out of memory even with"):
        up.upscale(photo, tile=256)


@pytest.mark.parametrize("fault", ["broken_calls", "black_calls"])
def test_a_broken_tile_is_rerun_on_the_cpu_with_a_warning(sr_model_x4, photo, whole4, fault):
    up = Upscaler(sr_model_x4, device="cpu", threads=1)
    up._session = CountingSession(up._session, **{fault: {2}})
    with pytest.warns(RuntimeWarning, match="re-running it on the CPU"):
        result = up.upscale(photo, tile=64)
    assert np.isfinite(result).all()
    assert psnr(result, whole4) >= 50


def test_a_healthy_run_gives_no_warning(up4, photo):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        up4.upscale(np.zeros((16, 16, 3), np.float32))  # black in, black out is fine


def test_the_engine_logs_its_tile_decisions(sr_model_x4, photo, caplog, capsys):
    up = Upscaler(sr_model_x4, device="cpu", threads=1)
    with caplog.at_level(logging.INFO, logger="pocketsr.engine"):
        up.upscale(photo[:48, :40])
    (choice,) = [r for r in caplog.records if r.name == "pocketsr.engine.tile_policy"]
    assert choice.levelno == logging.INFO
    assert re.match(r"tile policy auto: \d+ px windows, set by .*1024 MB budget", choice.message)
    (run,) = [r for r in caplog.records if r.name == "pocketsr.engine.orchestrator"]
    assert "40x48 of a 40x48 image to 160x192: 1 tile(s)" in run.message

    caplog.clear()
    up._session._ort = OutOfMemoryOrt(up._session._ort, max_pixels=80 * 80)
    with caplog.at_level(logging.INFO, logger="pocketsr.engine"):
        up.upscale(photo, tile=256)
    retries = [re.search(r"out of memory with (\d+) px tiles; retrying with (\d+)", r.message)
               for r in caplog.records]  # fmt: skip
    sides = [(int(m[1]), int(m[2])) for m in retries if m]
    assert sides and all(new == old // 2 for old, new in sides)
    assert "tile policy fixed 256 px" in caplog.records[1].message

    caplog.clear()
    up = Upscaler(sr_model_x4, device="cpu", threads=1)
    up._session = CountingSession(up._session, broken_calls={2})
    with caplog.at_level(logging.INFO, logger="pocketsr.engine"), pytest.warns(RuntimeWarning):
        up.upscale(photo, tile=64)
    fallbacks = [r for r in caplog.records if "re-running it on the CPU" in r.message]
    assert len(fallbacks) == 1 and fallbacks[0].name == "pocketsr.engine.orchestrator"
    assert capsys.readouterr() == ("", "")  # logged, never printed


def test_embedded_models_by_name(tmp_path, monkeypatch, photo):
    monkeypatch.setattr(upscaler_module, "WEIGHTS_DIR", tmp_path)
    assert embedded_models() == {}
    with pytest.raises(ModelError, match="none are installed yet"):
        Upscaler()
    make_sr_model(tmp_path / "tiny-x2.onnx", scale=2, name="Tiny")
    models = embedded_models()
    assert list(models) == ["tiny-x2"] and models["tiny-x2"].scale == 2
    with pytest.raises(ModelError, match="embedded models: tiny-x2"):
        Upscaler("pocketsr-nano")
    up = Upscaler("tiny-x2", device="cpu")
    assert up.info.name == "Tiny" and up.upscale(photo[:8, :8]).shape == (16, 16, 3)


def test_cancel_interrupts_a_running_tile(tmp_path):
    # A heavier net and one big window, so a tile takes a while; cancel lands mid-tile.
    path = make_sr_model(tmp_path / "slow.onnx", 4, features=32, layers=5)
    up = Upscaler(path, device="cpu", threads=1)
    image = np.random.default_rng(0).random((320, 320, 3), np.float32)
    start = time.perf_counter()
    up.upscale(image, tile=None)
    full = time.perf_counter() - start
    token, outcome = CancelToken(), {}

    def job():
        try:
            up.upscale(image, tile=None, cancel=token)
        except Cancelled:
            outcome["raised"] = time.perf_counter()

    worker = threading.Thread(target=job)
    worker.start()
    time.sleep(full / 4)
    asked = time.perf_counter()
    token.cancel()
    worker.join()
    assert "raised" in outcome
    assert outcome["raised"] - asked < max(0.5 * full, 0.1)
    assert up.upscale(image[:32, :32]).shape == (128, 128, 3)


def test_out_of_memory_stops_when_tiles_cannot_shrink(tmp_path, photo):
    # A wide receptive field makes the smallest usable window large: halving stalls there.
    path = make_sr_model(tmp_path / "wide.onnx", 2, receptive_field=200)
    up = Upscaler(path, device="cpu", threads=1)
    fake = OutOfMemoryOrt(up._session._ort, max_pixels=10)
    up._session._ort = fake
    with pytest.raises(OutOfMemoryError):
        up.upscale(photo[:40, :40], tile=1024)
    assert len(fake.sizes) <= 3


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scale": 2.5},
        {"size": Size(100, 0)},
        {"roi": Rect(5, 7, 21, 13)},
        {"roi": Rect(5, 7, 21, 13), "scale": 3},
    ],
)
def test_output_size_predicts_the_result_shape(up4, photo, options):
    image = photo[:40, :50]
    predicted = up4.output_size(Size(50, 40), **options)
    result = up4.upscale(image, **options)
    assert result.shape[:2] == (predicted.height, predicted.width)


@pytest.mark.parametrize("peak", [4.0, 255.0])
def test_float_colour_above_one_is_scaled_through_not_clipped(up2, photo, peak):
    bright = photo * np.float32(peak)  # HDR highlights, or a float image in 0..255
    bright[0, 0] = peak  # the peak itself is in the image
    out = up2.upscale(bright)
    ref = up2.upscale(bright / np.float32(peak)) * np.float32(peak)
    assert out.dtype == np.float32 and out.max() > 0.9 * peak
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4 * peak)


def test_float_alpha_is_not_scaled_with_the_colour(up2, photo):
    rgba = np.concatenate([photo * 8.0, np.full((*photo.shape[:2], 1), 0.5)], -1)
    out = up2.upscale(rgba.astype(np.float32))
    assert out[..., :3].max() > 6.0
    np.testing.assert_allclose(out[..., 3], 0.5, atol=1e-3)


def test_a_failing_progress_callback_is_a_sentence(up2, photo):
    from pocketsr.engine.errors import InvalidOptionError

    def broken(_report):
        raise ZeroDivisionError("oops")

    with pytest.raises(InvalidOptionError, match=r"progress callback failed at tile 1 of \d+"):
        up2.upscale(photo, progress=broken, tile=32)
    assert up2.upscale(photo).shape[0] == 2 * photo.shape[0]  # still usable

"""The read plan: what a host reads for a region, what it gets, and that it equals the whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_models import make_sr_model, make_wide_context_model

from pocketsr.engine import InvalidOptionError, Upscaler
from pocketsr.engine.plan import plan_read, window_context
from pocketsr.engine.types import ModelInfo, Rect, Size
from pocketsr.plugin.pocketsr_link.wire import SIZE_OF_IMAGE, ReadPlan, UpscaleOptions

NANO = ModelInfo("nano", 4, size_multiple=2, receptive_field=24)


@st.composite
def regions(draw: st.DrawFn) -> tuple[Size, Rect]:
    width, height = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
    w, h = draw(st.integers(1, width - x)), draw(st.integers(1, height - y))
    return Size(width, height), Rect(x, y, w, h)


@settings(max_examples=300, deadline=None)
@given(regions(), st.sampled_from([1, 1.5, 2, 3, 4]), st.sampled_from([3, 4]))
def test_plan_reads_the_region_plus_context_inside_the_image(region, scale, channels):
    image, box = region
    plan = plan_read(NANO, image, box, UpscaleOptions(scale=scale), channels)
    assert plan.read == box.expanded(plan.context).intersect(Rect.of_size(image))
    assert plan.roi == box.relative_to(plan.read) and plan.read.contains(box)
    assert plan.context >= NANO.overlap
    assert plan.placement.size == plan.output
    assert Rect.of_size(plan.image_output).contains(plan.placement)
    assert plan.output.width <= box.width * NANO.scale
    assert ReadPlan.from_wire(plan.to_wire()) == plan


def test_plan_sizes_follow_scale_region_target_and_image_target():
    image, box = Size(200, 90), Rect(100, 10, 30, 20)
    p = plan_read(NANO, image, box, UpscaleOptions(scale=3), 4)
    assert p.image_output == (600, 270) and p.placement == (300, 30, 90, 60)
    assert p.context == 2 * (NANO.overlap + 4)  # not the native factor: Lanczos reach added
    p = plan_read(NANO, image, box, UpscaleOptions(size=Size(45, 0)), 3)
    assert p.output == (45, 30) and p.factors == (1.5, 1.5) and p.image_output == (300, 135)
    p = plan_read(NANO, image, None, UpscaleOptions(size=Size(300, 0), size_of=SIZE_OF_IMAGE), 3)
    assert p.output == p.image_output == (300, 135) and p.read == Rect.of_size(image)
    assert plan_read(NANO, image, None, UpscaleOptions(), 3).context == 2 * NANO.overlap


def test_plan_refuses_what_the_upscale_would_refuse():
    with pytest.raises(InvalidOptionError, match="ROI"):
        plan_read(NANO, Size(20, 20), Rect(15, 0, 10, 5), UpscaleOptions(), 3)
    with pytest.raises(InvalidOptionError, match="larger than this model"):
        plan_read(NANO, Size(20, 20), None, UpscaleOptions(size=Size(100, 0)), 3)


def test_window_context_grows_when_resampling():
    assert window_context(NANO, Size(10, 10), Size(40, 40), alpha=False) == 12
    assert window_context(NANO, Size(10, 10), Size(40, 40), alpha=True) == 16
    assert window_context(NANO, Size(10, 10), Size(20, 20), alpha=False) == 16


@pytest.mark.parametrize("options", [UpscaleOptions(scale=2), UpscaleOptions(size=Size(90, 0))])
def test_reading_the_plan_gives_the_whole_images_pixels(tmp_path, options):
    """A model reaching 100 px: the planned crop equals the whole image there; 32 px do not."""
    model = make_wide_context_model(tmp_path / "wide.onnx")
    up = Upscaler(model=str(model), threads=1)
    assert up.info.receptive_field == 201
    rng = np.random.default_rng(0)
    image = rng.random((260, 300, 3), dtype=np.float32)
    plan = plan_read(up.info, Size(300, 260), Rect(120, 100, 60, 50), options, 3)
    whole = up.upscale(image, size=plan.image_output)[plan.placement.slices]
    got = up.upscale(image[plan.read.slices], roi=plan.roi, size=plan.output)
    assert np.abs(got - whole).max() < 1e-5
    narrow = Rect(120, 100, 60, 50).expanded(32)
    short = up.upscale(image[narrow.slices], roi=Rect(32, 32, 60, 50), size=plan.output)
    assert np.abs(short - whole).max() > 0.05  # the defect the plan removes


def test_an_x2_model_sizes_from_its_own_factor(tmp_path):
    model = make_sr_model(tmp_path / "x2.onnx", scale=2)
    info = Upscaler(model=str(model)).info
    plan = plan_read(info, Size(50, 40), Rect(10, 10, 20, 10), UpscaleOptions(), 3)
    assert plan.output == (40, 20) and plan.image_output == (100, 80)

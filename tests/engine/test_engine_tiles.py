"""Property tests of the tile plan and blend weights (pure geometry, no ONNX)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pocketsr.engine.tiles import minimum_tile, plan_tiles, ramp_weights, reflect_indices, round_up
from pocketsr.engine.types import Rect, Size


@st.composite
def plans(draw):
    width, height = draw(st.integers(1, 160)), draw(st.integers(1, 160))
    x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
    roi = Rect(x, y, draw(st.integers(1, width - x)), draw(st.integers(1, height - y)))
    scale = draw(st.sampled_from([1, 2, 3, 4]))
    if draw(st.booleans()):
        out = roi.size.scaled(scale)
    else:
        out = Size(
            draw(st.integers(1, roi.width * scale)), draw(st.integers(1, roi.height * scale))
        )
    tile = draw(st.one_of(st.none(), st.integers(1, 200)))
    context = draw(st.integers(0, 20))
    blend = draw(st.integers(0, 12))
    multiple = draw(st.sampled_from([1, 2, 4, 8]))
    image = Size(width, height) if draw(st.booleans()) else None
    edge = draw(st.integers(0, context))
    plan = plan_tiles(
        roi,
        out,
        model_scale=scale,
        tile=tile,
        context=context,
        blend=blend,
        multiple=multiple,
        image=image,
        edge=edge,
    )
    return plan, (tile, blend, image, edge)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_final_rects_cover_the_output_exactly_once(args):
    plan, _ = args
    count = np.zeros((plan.out_size.height, plan.out_size.width), np.int32)
    for tile in plan:
        assert tile.support.contains(tile.final)
        count[tile.final.slices] += 1
    assert (count == 1).all()


@settings(max_examples=150, deadline=None)
@given(plans())
def test_blend_weights_sum_to_one(args):
    plan, _ = args
    total = np.zeros((plan.out_size.height, plan.out_size.width), np.float64)
    for tile in plan:
        assert Rect.of_size(plan.out_size).contains(tile.support)
        total[tile.support.slices] += tile.weights()
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_windows_honour_multiple_tile_and_context(args):
    plan, (tile_req, blend, image, edge) = args
    sizes = {t.window.size for t in plan}
    assert len(sizes) == 1, "all windows share one size"
    size = sizes.pop()
    assert size.width % plan.multiple == 0 and size.height % plan.multiple == 0
    roi, out = plan.roi, plan.out_size
    if tile_req is not None:
        for side, length, n in (
            (size.width, roi.width, out.width),
            (size.height, roi.height, out.height),
        ):
            ratio = length / n
            smallest = minimum_tile(plan.context, math.ceil(blend / ratio), ratio, plan.multiple)
            assert side <= max(round_up(tile_req, plan.multiple), smallest)
    for tile in plan:
        for span, start, length, n, bound in (
            (tile.xspan, roi.x, roi.width, out.width, image and image.width),
            (tile.yspan, roi.y, roi.height, out.height, image and image.height),
        ):
            need0 = start + span.out_start * length // n - plan.context
            need1 = start + math.ceil(span.out_end * length / n) + plan.context
            end = span.window_start + span.window_len
            if bound is not None:
                # At most `edge` past the image (and the phase): the same start (or end) in
                # every window that reaches the image's edge.
                lo, hi = -edge, bound + edge
                while (lo - start) % plan.multiple:
                    lo -= 1
                while (hi - start) % plan.multiple:
                    hi += 1
                assert lo <= span.window_start and end <= hi
                need0, need1 = max(need0, lo), min(need1, hi)
            assert span.window_start <= need0 and need1 <= end
            # The same sampling phase in every window, for networks that sample down inside.
            assert (span.window_start - start) % plan.multiple == 0
            assert 0 <= span.src_start < span.src_end <= span.window_len * plan.model_scale


@settings(max_examples=100, deadline=None)
@given(st.integers(-50, 50), st.integers(0, 60), st.integers(1, 9))
def test_reflect_indices_match_numpy_reflect(start, length, n):
    idx = reflect_indices(start, start + length, n)
    assert ((idx >= 0) & (idx < n)).all()
    if n > 1 and length:
        pad = 120
        padded = np.pad(np.arange(n), pad, mode="reflect")
        np.testing.assert_array_equal(idx, padded[start + pad : start + length + pad])


def test_ramps_are_smooth_hann_and_complementary():
    rise = ramp_weights(10, 10, 0)
    fall = ramp_weights(10, 0, 10)
    np.testing.assert_allclose(rise + fall, 1.0, atol=1e-7)
    assert (np.diff(rise) > 0).all()
    assert rise[0] < 0.05 and rise[-1] > 0.95


def test_single_window_when_tile_is_none():
    plan = plan_tiles(
        Rect(0, 0, 37, 21), Size(148, 84), model_scale=4, tile=None, context=5, blend=3, multiple=8
    )
    assert len(plan) == 1
    # 37 + 2*5 = 47 from x = -5, started on a multiple of 8 (x = -8): 50, rounded up to 56.
    assert plan.window_size == Size(56, 40)
    assert plan.cols[0].window_start % 8 == 0 and plan.rows[0].window_start % 8 == 0


def test_a_whole_image_window_reads_only_the_edge_context_past_its_borders():
    roi, out = Rect(0, 0, 37, 21), Size(148, 84)
    common = {"model_scale": 4, "tile": None, "context": 14, "blend": 3, "multiple": 2}
    assert plan_tiles(roi, out, **common).window_size == Size(66, 50)  # 37 + 28, 21 + 28
    plan = plan_tiles(roi, out, image=Size(37, 21), edge=4, **common)
    assert plan.window_size == Size(46, 30)  # 37 + 8 and one more for the multiple, 21 + 8
    assert (plan.cols[0].window_start, plan.rows[0].window_start) == (-4, -4)
    inner = plan_tiles(Rect(10, 5, 20, 10), Size(80, 40), image=Size(37, 21), edge=0, **common)
    # The context is read inside the image: 10 - 14 stops at the border, 30 + 14 at 37 (+1).
    assert (inner.cols[0].window_start, inner.window_size.width) == (0, 38)


def test_native_source_span_stays_inside_the_window_output():
    # Found by Hypothesis: 21 rows to 23 at x3 once gave src_end 63.00000000000001 > 63.
    plan = plan_tiles(Rect(0, 0, 1, 21), Size(1, 23), model_scale=3, tile=21, context=0, blend=0)
    for span in plan.rows:
        assert 0 <= span.src_start < span.src_end <= span.window_len * plan.model_scale

"""The wire vocabulary: values round-trip, options are checked once with one wording."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketsr.plugin.pocketsr_link.wire import (
    ModelInfo,
    Progress,
    Rect,
    Size,
    UpscaleOptions,
    WireError,
    tile_from_host,
)

coords = st.integers(-(1 << 20), 1 << 20)
sides = st.integers(0, 1 << 20)


@given(coords, coords, sides, sides)
def test_rect_round_trips_and_keeps_its_geometry(x, y, w, h):
    r = Rect(x, y, w, h)
    assert Rect.from_wire(r.to_wire()) == r
    if not r.is_empty:
        assert r.expanded(3).intersect(r) == r and r.expanded(3).contains(r)
    assert r.translated(5, -2).relative_to(Rect(5, -2, 1, 1)) == r


@pytest.mark.parametrize("bad", [[1, 2, 3], [0, 0, -1, 4], ["a", 0, 1, 1], None, [0, 0, 1.5, 1]])
def test_malformed_rects_are_sentences(bad):
    with pytest.raises(WireError, match="rectangle"):
        Rect.from_wire(bad)


def test_progress_ignores_pixels_in_equality_and_on_the_wire():
    p = Progress(2, 5, 1.25, 3.0, Rect(0, 0, 4, 4), pixels=object())
    assert p == Progress(2, 5, 1.25, 3.0, Rect(0, 0, 4, 4))
    assert "pixels" not in p.to_wire() and Progress.from_wire(p.to_wire()) == p
    assert p.with_pixels(None).pixels is None and p.fraction == 0.4


def test_model_info_crosses_whole():
    info = ModelInfo("m", 2, size_multiple=4, receptive_field=201, tile_safe=False,
                     extra=(("k", "v"),))  # fmt: skip
    assert ModelInfo.from_wire(info.to_wire()) == info and info.overlap == 101
    assert not info.has_strength
    paired = ModelInfo("d", 4, partner="f", strength=1)
    assert ModelInfo.from_wire(paired.to_wire()) == paired and paired.has_strength
    assert ModelInfo("f", 4, strength=0.0).strength is None  # no partner, no strength
    with pytest.raises(WireError, match="strength"):
        ModelInfo("d", 4, partner="f", strength=2)
    with pytest.raises(WireError, match="scale"):
        ModelInfo.from_wire({"name": "m"})


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"tile": 0}, "tile"),
        ({"tile": "big"}, "tile"),
        ({"scale": 0.5}, "scale"),
        ({"scale": True}, "scale"),
        ({"size": [0, 0]}, "target size"),
        ({"size": [10]}, "target size"),
        ({"size_of": "page"}, "size_of"),
        ({"threads": 0}, "thread"),
        ({"device": ""}, "device"),
        ({"colour": "red"}, "Unknown option colour"),
        ({"strength": 1.2}, "strength"),
        ({"strength": "max"}, "strength"),
        ({"alpha_mode": "sharp"}, "alpha_mode"),
        ({"seamless": "yes"}, "seamless"),
    ],
)
def test_bad_options_name_the_option(options, word):
    with pytest.raises(WireError, match=word):
        UpscaleOptions.from_wire(options)


def test_options_round_trip_and_defaults():
    opts = UpscaleOptions(model="x", size=Size(300, 0), size_of="image", tile=128, threads=2)
    assert UpscaleOptions.from_wire(opts.to_wire()) == opts
    controls = UpscaleOptions(strength=0.25, alpha_mode="model", seamless=True)
    assert controls.to_wire() == {"strength": 0.25, "alpha_mode": "model", "seamless": True}
    assert UpscaleOptions.from_wire(controls.to_wire()) == controls
    assert UpscaleOptions().to_wire() == {}
    assert UpscaleOptions.from_wire(None) == UpscaleOptions()
    assert [tile_from_host(v) for v in (0, "", None, "auto", "whole", "256", 64)] == [
        "auto", "auto", "auto", "auto", "whole", 256, 64
    ]  # fmt: skip


def test_time_left_reads_the_same_in_every_host():
    from pocketsr.plugin.pocketsr_link.wire import time_left_text

    assert [time_left_text(s) for s in (None, -1, 0.2, 12.4, 89, 150)] == [
        "", "", "about 1 s left", "about 12 s left", "about 89 s left", "about 2 min left"
    ]  # fmt: skip

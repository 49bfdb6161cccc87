"""TilePolicy: the tile option as a value, its first window and its out-of-memory retries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pocketsr.engine import InvalidOptionError, ModelInfo, Upscaler
from pocketsr.engine.tile_policy import CPU_TILE, GPU_TILE, MIN_OOM_TILE, TilePolicy
from pocketsr.engine.tiles import plan_axis
from pocketsr.engine.upscaler import TilePolicy as ReExported

INFO = ModelInfo(name="t", scale=4, receptive_field=16)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("auto", TilePolicy.auto()),
        ("whole", TilePolicy.whole()),
        (None, TilePolicy.whole()),
        (0, TilePolicy.whole()),
        (96, TilePolicy.fixed(96)),
        (np.int64(96), TilePolicy.fixed(96)),
        (TilePolicy.fixed(40), TilePolicy.fixed(40)),
    ],
)
def test_from_option(option: object, expected: TilePolicy) -> None:
    assert TilePolicy.from_option(option) == expected  # type: ignore[arg-type]
    assert ReExported is TilePolicy


@pytest.mark.parametrize("option", [-5, "big", True, 64.0, "Auto"])
def test_a_bad_option_is_the_old_sentence(option: object) -> None:
    message = f"tile must be 'auto', None or a positive number of pixels, not {option!r}."
    with pytest.raises(InvalidOptionError) as caught:
        TilePolicy.from_option(option)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_policy_is_immutable_and_checked() -> None:
    policy = TilePolicy.fixed(64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.side = 32  # type: ignore[misc]
    for kind, side in (("fixed", None), ("auto", 64), ("whole", 64), ("fixed", 0), ("big", None)):
        with pytest.raises(ValueError):
            TilePolicy(kind, side)
    assert str(policy) == "fixed 64 px" and str(TilePolicy.auto()) == "auto"


def test_windows() -> None:
    options = {"memory_budget_mb": 1024, "on_cpu": True}
    assert TilePolicy.whole().window(INFO, 8, **options) is None
    assert TilePolicy.fixed(100).window(INFO, 8, **options) == 100
    # The CPU cap counts new pixels: the context, ramps and alignment come on top.
    assert TilePolicy.auto().window(INFO, 8, **options) == CPU_TILE + 2 * 8 + 2
    assert TilePolicy.auto().window(INFO, 8, blend=3, **options) == CPU_TILE + 2 * 8 + 2 + 3
    # On a GPU the 1024 MB budget, not the cap, sets the side: sqrt(2**30 / 1632 bytes).
    assert TilePolicy.auto().window(INFO, 8, memory_budget_mb=1024, on_cpu=False) == 811
    assert TilePolicy.auto().window(INFO, 8, memory_budget_mb=4096, on_cpu=False) == GPU_TILE + 18
    # A tiny budget: the window the budget allows, but never less than the context needs.
    assert TilePolicy.auto().window(INFO, 8, memory_budget_mb=1, on_cpu=True) == 32
    assert TilePolicy.auto().window(INFO, 40, memory_budget_mb=1, on_cpu=True) == 96
    # A model that is not tile-safe gets the biggest window the budget allows.
    unsafe = ModelInfo(name="u", scale=4, receptive_field=16, size_multiple=8, tile_safe=False)
    assert TilePolicy.auto().window(unsafe, 8, **options) == 808


@pytest.mark.parametrize(("context", "multiple"), [(0, 1), (13, 2), (40, 8)])
def test_the_cap_is_new_pixels_whatever_the_context(context: int, multiple: int) -> None:
    """A side of N caps takes N windows whatever the model's reach (with the cap on the whole
    window, 13 px of context made 1024 px take 3); a ramp and a multiple more takes N + 1."""
    info = ModelInfo(name="m", scale=4, receptive_field=2 * context, size_multiple=multiple)
    blend = max(2, context // 2)
    side = TilePolicy.auto().window(info, context, memory_budget_mb=4096, on_cpu=True, blend=blend)
    for count in (1, 2, 3):
        length = count * CPU_TILE
        spans = plan_axis(
            0,
            length,
            4 * length,
            tile=side,
            context=context,
            blend=4 * blend,
            multiple=multiple,
            model_scale=4,
            bound=length,
            edge=min(context, 4),
        )
        assert len(spans) == count
        assert (
            len(
                plan_axis(
                    0,
                    length + blend + count * multiple,
                    4 * (length + blend + count * multiple),
                    tile=side,
                    context=context,
                    blend=4 * blend,
                    multiple=multiple,
                    model_scale=4,
                )
            )
            == count + 1
        )


@pytest.mark.parametrize("policy", [TilePolicy.auto(), TilePolicy.fixed(300), TilePolicy.whole()])
def test_out_of_memory_halves_aligned_then_gives_up(policy: TilePolicy) -> None:
    assert policy.after_out_of_memory(300, 8) == TilePolicy.fixed(144)
    assert policy.after_out_of_memory(2 * MIN_OOM_TILE, 1) == TilePolicy.fixed(MIN_OOM_TILE)
    assert policy.after_out_of_memory(2 * MIN_OOM_TILE - 2, 1) is None
    assert policy.after_out_of_memory(200, 128) is None  # the size multiple is the floor


def test_upscale_takes_whole_and_a_policy(sr_model_x2: object) -> None:
    up = Upscaler(sr_model_x2, device="cpu", threads=1)
    image = np.random.default_rng(1).random((40, 36, 3), np.float32)
    whole = up.upscale(image, tile=None)
    np.testing.assert_array_equal(up.upscale(image, tile="whole"), whole)
    np.testing.assert_array_equal(up.upscale(image, tile=TilePolicy.whole()), whole)
    np.testing.assert_array_equal(
        up.upscale(image, tile=TilePolicy.fixed(32)), up.upscale(image, tile=32)
    )

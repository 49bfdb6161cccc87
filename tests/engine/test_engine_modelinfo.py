"""ModelInfo from metadata, discovery by trial runs, and clear ModelErrors for bad models."""

from __future__ import annotations

import pytest
from onnx_models import (
    make_corrupt_model,
    make_fractional_scale_model,
    make_non4d_model,
    make_sr_model,
    make_two_input_model,
)

from pocketsr.engine import ModelError, load_model_info


def test_metadata_is_read(sr_model_x4):
    info = load_model_info(sr_model_x4)
    assert (info.name, info.scale, info.size_multiple, info.receptive_field) == ("test-sr", 4, 1, 9)
    assert (info.version, info.license, info.tile_safe) == ("1.0", "MIT", True)
    assert info.overlap == 5 and info.path == str(sr_model_x4)


def test_unknown_metadata_goes_to_extra(tmp_path):
    path = make_sr_model(tmp_path / "m.onnx", scale=2, extra_metadata={"author": "me"})
    assert ("author", "me") in load_model_info(path).extra


@pytest.mark.parametrize(("scale", "multiple"), [(2, 1), (4, 1), (2, 8), (4, 8)])
def test_without_metadata_scale_and_multiple_are_found_by_trial(tmp_path, scale, multiple):
    # The file name claims x3 on purpose: nothing may be read from it.
    path = make_sr_model(tmp_path / "x3_m16.onnx", scale, multiple, metadata=False)
    info = load_model_info(path)
    assert (info.scale, info.size_multiple) == (scale, multiple)
    assert (info.in_channels, info.out_channels, info.receptive_field) == (3, 3, 32)


def test_metadata_that_disagrees_with_the_trial_is_refused(tmp_path):
    path = make_sr_model(tmp_path / "m.onnx", scale=2, extra_metadata={"pocketsr.scale": "4"})
    with pytest.raises(ModelError, match="x4 but a trial run gave x2"):
        load_model_info(path)


def test_malformed_metadata_is_refused(tmp_path):
    path = make_sr_model(tmp_path / "m.onnx", extra_metadata={"pocketsr.size_multiple": "eight"})
    with pytest.raises(ModelError, match="size_multiple"):
        load_model_info(path)


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (make_two_input_model, "2 inputs"),
        (make_non4d_model, "3-D input"),
        (make_fractional_scale_model, "not a whole-number upscale"),
        (make_corrupt_model, "not a valid ONNX model"),
    ],
)
def test_bad_models_raise_model_error(tmp_path, maker, message):
    with pytest.raises(ModelError, match=message):
        load_model_info(maker(tmp_path / "bad.onnx"))


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model_info(tmp_path / "nope.onnx")


def test_model_that_fails_every_trial(tmp_path):
    # Metadata promises multiple 1, but the net needs 8: every trial run fails.
    path = make_sr_model(
        tmp_path / "m.onnx", size_multiple=8, extra_metadata={"pocketsr.size_multiple": "1"}
    )
    with pytest.raises(ModelError, match="failed a trial run"):
        load_model_info(path)

"""The `pocketsr` command end to end with small ONNX test models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageCms

from pocketsr.engine import cli, upscaler
from pocketsr.engine.imageio import ImageMeta, read_image, write_image

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _image(path: Path, shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, pixels, ImageMeta(icc=SRGB))
    return path


def _run(*args: str | Path) -> int:
    return cli.main([str(a) for a in args])


def _part_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.suffix in (".part", ".raw")]


def test_help_documents_exit_codes_and_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _run("--help")
    assert done.value.code == 0
    text = capsys.readouterr().out
    for word in ("upscale", "models", "demo", "worker", "130", "exit codes"):
        assert word in text


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run() == cli.EXIT_USAGE


def test_cli_import_stays_light() -> None:
    code = (
        "import sys, pocketsr.engine.cli as c; c.build_parser();"
        "bad = [m for m in ('torch', 'PySide6', 'installers') if m in sys.modules];"
        "print(bad)"
    )
    # pocketsr.engine's __init__ imports the engine; the CLI module itself adds nothing heavy.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torch" not in out.stdout and "PySide6" not in out.stdout


def test_upscale_one_file_keeps_depth_and_profile(tmp_path: Path, sr_model_x2: Path) -> None:
    src = _image(tmp_path / "in.png", (20, 30, 3), np.uint16)
    assert _run("upscale", src, "-o", tmp_path / "out.png", "--model", sr_model_x2, "-q") == 0
    out = read_image(tmp_path / "out.png")
    assert out.pixels.shape == (40, 60, 3) and out.pixels.dtype == np.uint16
    assert out.meta.icc == SRGB


def test_default_output_name_and_formats(tmp_path: Path, sr_model_x2: Path) -> None:
    _image(tmp_path / "a.tif", (10, 12, 4), np.uint16)
    assert _run("upscale", tmp_path / "a.tif", "--model", sr_model_x2, "-q") == 0
    assert read_image(tmp_path / "a_x2.tif").pixels.shape == (20, 24, 4)
    assert _run("upscale", tmp_path / "a.tif", "--model", sr_model_x2, "--format", "png") == 0
    assert read_image(tmp_path / "a_x2.png").pixels.dtype == np.uint16


def test_width_height_scale_and_roi(tmp_path: Path, sr_model_x2: Path) -> None:
    src = _image(tmp_path / "in.png", (20, 30, 3))
    model = ("--model", sr_model_x2, "-q")
    assert _run("upscale", src, "-o", tmp_path / "w.png", "--width", 45, *model) == 0
    assert read_image(tmp_path / "w.png").pixels.shape == (30, 45, 3)
    assert _run("upscale", src, "-o", tmp_path / "h.png", "--height", 30, *model) == 0
    assert read_image(tmp_path / "h.png").pixels.shape == (30, 45, 3)
    assert _run("upscale", src, "-o", tmp_path / "s.png", "--scale", "1.5", *model) == 0
    assert read_image(tmp_path / "s.png").pixels.shape == (30, 45, 3)
    assert _run("upscale", src, "-o", tmp_path / "r.png", "--roi", "2,3,10,8", *model) == 0
    assert read_image(tmp_path / "r.png").pixels.shape == (16, 20, 3)


def test_bad_roi_and_scale_are_reported(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _image(tmp_path / "in.png", (20, 30, 3))
    assert _run("upscale", src, "--roi", "25,0,10,10", "--model", sr_model_x2) == cli.EXIT_FAILED
    assert "ROI" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_scale:  # a bad command line: exit 2, before any read
        _run("upscale", src, "--scale", "9", "--model", sr_model_x2)
    assert bad_scale.value.code == cli.EXIT_USAGE and "scale" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        _run("upscale", src, "--roi", "1,2,3")
    assert done.value.code == cli.EXIT_USAGE


def test_folders_recurse_and_mirror_into_out_dir(tmp_path: Path, sr_model_x2: Path) -> None:
    root = tmp_path / "photos"
    _image(root / "a.png", (8, 9, 3))
    _image(root / "trip" / "b.jpg", (8, 9, 3))
    _image(root / "trip" / "deeper" / "c.tif", (8, 9), np.uint16)
    _image(root / ".hidden" / "d.png", (8, 9, 3))
    (root / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert _run("upscale", root, "--out-dir", out, "--model", sr_model_x2, "-q") == 0
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == ["a_x2.png", "trip/b_x2.jpg", "trip/deeper/c_x2.tif"]
    assert read_image(out / "trip/deeper/c_x2.tif").pixels.dtype == np.uint16


def test_rerun_beside_inputs_skips_earlier_outputs(tmp_path: Path, sr_model_x2: Path) -> None:
    _image(tmp_path / "a.png", (8, 9, 3))
    assert _run("upscale", tmp_path, "--model", sr_model_x2, "-q") == 0
    assert (tmp_path / "a_x2.png").exists()
    # The second run sees a_x2.png as an output, not an input; a_x2.png itself already exists.
    assert _run("upscale", tmp_path, "--model", sr_model_x2, "-q") == cli.EXIT_FAILED
    assert _run("upscale", tmp_path, "--model", sr_model_x2, "-q", "--overwrite") == 0
    assert not (tmp_path / "a_x2_x2.png").exists()


def test_one_bad_file_is_reported_and_the_rest_go_on(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _image(tmp_path / "in" / "good1.png", (8, 9, 3))
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not the rest")
    _image(tmp_path / "in" / "good2.png", (8, 9, 3))
    code = _run("upscale", tmp_path / "in", "--out-dir", tmp_path / "out", "--model", sr_model_x2)
    assert code == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "broken.png" in err and "Traceback" not in err
    assert "2 upscaled, 1 failed" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good1_x2.png", "good2_x2.png"]


def test_missing_input_is_a_failure_not_a_crash(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("upscale", tmp_path / "ghost.png", "--model", sr_model_x2) == cli.EXIT_FAILED
    assert "no such file" in capsys.readouterr().err


def test_never_overwrites_without_asking(tmp_path: Path, sr_model_x2: Path) -> None:
    src = _image(tmp_path / "in.png", (8, 9, 3))
    before = src.read_bytes()
    assert _run("upscale", src, "-o", src, "--model", sr_model_x2, "-q") == cli.EXIT_FAILED
    assert src.read_bytes() == before
    target = _image(tmp_path / "taken.png", (3, 3, 3))
    kept = target.read_bytes()
    assert _run("upscale", src, "-o", target, "--model", sr_model_x2, "-q") == cli.EXIT_FAILED
    assert target.read_bytes() == kept
    assert _run("upscale", src, "-o", target, "--model", sr_model_x2, "-q", "--overwrite") == 0
    assert read_image(target).pixels.shape == (16, 18, 3)


def test_output_option_needs_one_input(tmp_path: Path, sr_model_x2: Path) -> None:
    a, b = _image(tmp_path / "a.png", (4, 4, 3)), _image(tmp_path / "b.png", (4, 4, 3))
    with pytest.raises(SystemExit) as done:
        _run("upscale", a, b, "-o", tmp_path / "o.png", "--model", sr_model_x2)
    assert done.value.code == cli.EXIT_USAGE


def test_missing_model_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _image(tmp_path / "in.png", (4, 4, 3))
    assert _run("upscale", src, "--model", tmp_path / "none.onnx") == cli.EXIT_SETUP
    assert "none.onnx" in capsys.readouterr().err


def test_streamed_output_matches_in_memory(tmp_path: Path, sr_model_x2: Path) -> None:
    src = _image(tmp_path / "in.png", (33, 47, 4), np.uint16)
    model = ("--model", sr_model_x2, "-q", "--tile", "16")
    assert _run("upscale", src, "-o", tmp_path / "mem.png", *model) == 0
    for name in ("disk.png", "disk.tif"):
        assert _run("upscale", src, "-o", tmp_path / name, "--in-memory-limit", "0", *model) == 0
        streamed = read_image(tmp_path / name)
        np.testing.assert_array_equal(streamed.pixels, read_image(tmp_path / "mem.png").pixels)
        assert streamed.meta.icc == SRGB
    assert _part_files(tmp_path) == []


def test_models_lists_given_files(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("models", sr_model_x2) == 0
    out = capsys.readouterr().out
    assert "test-sr" in out and "x2" in out and "test x2 model" in out
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    assert _run("models", tmp_path / "junk.onnx") == cli.EXIT_FAILED
    assert "junk.onnx" in capsys.readouterr().err


def test_models_says_which_pair_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("models") == 0
    out = capsys.readouterr().out
    assert "strength: mixes with pocketsr-nano-fidelity from 0 (fidelity) to 1 (detail)" in out
    assert "strength: mixes with pocketsr-nano from 0" in out


def test_demo_writes_before_and_after(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("skimage")
    out = tmp_path / "demo-output"
    assert _run("demo", "--model", sr_model_x2, "--out-dir", out, "-q") == 0
    text = capsys.readouterr().out
    after = read_image(out / "chelsea_x2.png").pixels
    assert after.shape == (600, 902, 3)
    assert str(out / "chelsea_x2.png") in text and str(out / "chelsea.png") in text
    assert _run("demo", "--model", sr_model_x2, "--out-dir", out, "-q") == 0  # idempotent


def test_demo_without_default_model_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("skimage")
    monkeypatch.setattr(upscaler, "WEIGHTS_DIR", tmp_path)
    assert _run("demo", "--out-dir", tmp_path / "d") == cli.EXIT_SETUP
    assert "embedded" in capsys.readouterr().err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_external_commands_are_lazy_and_missing_ones_say_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(
        cli.EXTERNAL_COMMANDS, "frobnicate", cli.ExternalCommand("pocketsr.nope", "main", "x")
    )
    assert _run("frobnicate") == cli.EXIT_SETUP
    assert "not part of this installation" in capsys.readouterr().err
    calls: list[list[str]] = []
    monkeypatch.setitem(
        cli.EXTERNAL_COMMANDS, "echo", cli.ExternalCommand("tests_cli_echo", "main", "echo")
    )
    module = type(sys)("tests_cli_echo")
    module.main = lambda argv: calls.append(argv) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_cli_echo", module)
    assert _run("echo", "a", "--b") == 7
    assert calls == [["a", "--b"]]


# ---------------------------------------------------------------- Ctrl-C in a real process


def _start(args: list[str | Path], cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pocketsr.engine.cli", *map(str, args)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)


def _wait_for_progress(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if "tiles" in line:
            return seen
        if not line and proc.poll() is not None:
            break
    pytest.fail(f"no progress line before the deadline; stderr so far:\n{seen}")


@pytest.mark.parametrize("budget", ["4096", "0"], ids=["in-memory", "streamed"])
def test_ctrl_c_cancels_cleanly(tmp_path: Path, onnx_models: object, budget: str) -> None:
    model = onnx_models.make_sr_model(tmp_path / "slow.onnx", scale=4, features=32)  # type: ignore[attr-defined]
    src = _image(tmp_path / "big.tif", (700, 700, 3))
    out = tmp_path / "out"
    out.mkdir()
    args = ["upscale", src, "--out-dir", out, "--model", model, "--tile", "32", "--threads", "1"]
    proc = _start([*args, "--in-memory-limit", budget], tmp_path)
    _wait_for_progress(proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    latency = time.monotonic() - sent
    assert proc.returncode == cli.EXIT_CANCELLED, err
    assert "cancelled" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # no output, no temporary file
    assert latency < 10


def test_threads_beyond_the_cores_are_capped_with_a_note(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _image(tmp_path / "in.png", (12, 12, 3), np.uint8)
    args = ("upscale", src, "-o", tmp_path / "out.png", "--model", sr_model_x2, "-q")
    assert _run(*args, "--threads", "1000") == 0
    assert "--threads 1000 is more than this machine's" in capsys.readouterr().err


def test_hdr_float_tiff_keeps_its_highlights(tmp_path: Path) -> None:
    # The embedded model clamps its output to 0..1, as every real SR model does.
    rng = np.random.default_rng(5)
    hdr = (rng.random((16, 16, 3)) * 4.0).astype(np.float32)  # scene-linear, peaks near 4
    src = tmp_path / "hdr.tif"
    write_image(src, hdr, ImageMeta())
    assert _run("upscale", src, "-o", tmp_path / "out.tif", "--scale", "2", "-q") == 0
    out = read_image(tmp_path / "out.tif").pixels
    assert out.dtype == np.float32 and out.shape == (32, 32, 3)
    assert out.max() > 3.0  # before: clipped at 1.0
